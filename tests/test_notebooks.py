"""Executes every notebook in notebooks/ (they must run clean); each skips, naming the package to
install, without the notebooks extra (nbformat, nbclient, ipykernel) or what it imports."""
import json
import pathlib
import re
import shutil

import pytest

from _optional import INSTALL, missing, require, skip_reason

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_notebooks_are_found():
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


def needs(path):
    """The optional packages a notebook's code imports (setup.cfg's extras), and graphviz where
    it draws graphs and `dot` is on PATH (without dot the notebooks print the DOT source)."""
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    imported = set(re.findall(r"^\s*(?:from|import)\s+(\w+)", code, re.M))
    out = sorted(imported & set(INSTALL))
    if "draw_graph(" in code and shutil.which("dot"):
        out.append("graphviz")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_clean(path):
    nbformat = require("nbformat")
    nbclient = require("nbclient")
    require("ipykernel")
    absent = missing(*needs(path))
    if absent:
        pytest.skip("; ".join(map(skip_reason, absent)))
    nb = nbformat.read(str(path), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code"
              for o in cell.get("outputs", ()) if o.get("output_type") == "error"]
    assert not errors, errors
