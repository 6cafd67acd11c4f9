"""Executes every notebook in notebooks/ and checks it against its committed outputs: each must run
clean, and every code cell's text outputs must equal the stored ones after sanitising (the
regexes in notebooks/nbval_sanitize.cfg, which nbval also reads); images are compared by presence
and kind. Each test skips, naming the package to install, without the notebooks extra (nbformat,
nbclient, ipykernel) or what the notebook imports.

Refresh the stored outputs after an intended change (executes and rewrites the notebooks):

    .venv/bin/python tests/test_notebooks.py [notebooks/NAME.ipynb ...]
"""
import difflib
import functools
import json
import os
import pathlib
import re
import shutil
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _optional import INSTALL, missing, require, skip_reason  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANITIZE = ROOT / "notebooks" / "nbval_sanitize.cfg"
REFRESH = ".venv/bin/python tests/test_notebooks.py"
IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
# what a notebook may import beyond _optional's list (the dev and tensorboard extras)
INSTALL_ALSO = {"hypothesis": "hypothesis", "tensorboardX": "'autodiff[tensorboard]'"}


def test_notebooks_are_found():
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


def sanitize_patterns(path=SANITIZE):
    """(compiled regex, replacement) pairs, read the way nbval reads its sanitize file."""
    text = path.read_text(encoding="utf-8")
    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.M)
    return [(re.compile(rx), rep) for rx, rep in pairs]


def sanitize(text, patterns):
    for rx, rep in patterns:
        text = rx.sub(rep, text)
    return text


def uses_dot(cell):
    return any("image/svg+xml" in o.get("data", {}) for o in cell.get("outputs", ()))


def cell_summary(cell, patterns):
    """A cell's outputs as comparable text: streams joined by name, each rich output as its
    text/plain (sanitised) plus the kinds of images it carries (their bytes vary with library
    versions), errors by name."""
    streams, rich = {}, []
    for out in cell.get("outputs", ()):
        kind = out.get("output_type")
        if kind == "stream" and out["name"] == "stdout":
            # stderr is not compared: download progress and library warnings go there
            streams[out["name"]] = streams.get(out["name"], "") + "".join(out["text"])
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            images = [m for m in IMAGES if m in data]
            text = "".join(data.get("text/plain", "")) if not images or "image/png" in images \
                else ""             # graphviz's text/plain is an object repr, not a result
            rich.append(f"[{kind} {' '.join(images) or 'text'}] {text}")
        elif kind == "error":
            rich.append(f"[error] {out['ename']}: {out['evalue']}")
    parts = [f"[{name}]\n{text}" for name, text in sorted(streams.items())] + rich
    return sanitize("\n".join(parts), patterns).splitlines()


def compare(stored, fresh, patterns, skip_dot=False):
    """Mismatch descriptions between a stored notebook and a fresh run of it (empty if equal)."""
    problems = []
    pairs = [(i, a, b) for i, (a, b) in enumerate(zip(stored.cells, fresh.cells))
             if a.cell_type == "code"]
    if not any(a.get("outputs") for _, a, _ in pairs):
        return ["the notebook is committed without outputs: refresh it with " + REFRESH]
    for i, old, new in pairs:
        if skip_dot and uses_dot(old):
            continue
        want, got = cell_summary(old, patterns), cell_summary(new, patterns)
        if want != got:
            diff = "\n".join(difflib.unified_diff(want, got, "stored", "fresh run", lineterm="",
                                                  n=1))
            problems.append(f"cell {i}:\n{diff}")
    return problems


def needs(path):
    """The optional packages a notebook's code imports (setup.cfg's extras), and graphviz where
    it draws graphs and `dot` is on PATH (without dot the notebooks print the DOT source)."""
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    imported = set(re.findall(r"^\s*(?:from|import)\s+(\w+)", code, re.M))
    out = sorted(imported & (set(INSTALL) | set(INSTALL_ALSO)))
    if "draw_graph(" in code and shutil.which("dot"):
        out.append("graphviz")
    return out


@functools.lru_cache(maxsize=None)
def mnist_unavailable():
    """None if MNIST is cached or can be downloaded now (the notebooks load it), else why not."""
    from nn.data.datasets import DatasetUnavailableError, load_mnist
    try:
        load_mnist(train=False)
        load_mnist(train=True)
    except DatasetUnavailableError as err:
        return f"MNIST is not available (offline, nothing cached): {str(err).splitlines()[0]}"
    return None


def execute(path):
    """A fresh run of the notebook at `path` (the kernel runs in notebooks/, one BLAS thread)."""
    import nbclient
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # inherited by the kernel
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_matches_stored_outputs(path):
    nbformat = require("nbformat")
    require("nbclient")
    require("ipykernel")
    absent = missing(*needs(path))
    if absent:
        pytest.skip("; ".join(f"{m} is not installed: pip install {INSTALL_ALSO[m]}"
                              if m in INSTALL_ALSO else skip_reason(m) for m in absent))
    if "load_mnist(" in path.read_text() and mnist_unavailable():
        pytest.skip(mnist_unavailable())
    stored = nbformat.read(str(path), as_version=4)
    fresh = execute(path)
    errors = [o for cell in fresh.cells if cell.cell_type == "code"
              for o in cell.get("outputs", ()) if o.get("output_type") == "error"]
    assert not errors, errors
    # graphs drawn by Graphviz are stored as SVG; without `dot` they print their DOT source
    problems = compare(stored, fresh, sanitize_patterns(), skip_dot=not shutil.which("dot"))
    assert not problems, (f"{path.name}: the stored outputs differ from a fresh run; if the "
                          f"change is intended, refresh them with {REFRESH} notebooks/"
                          f"{path.name}\n" + "\n".join(problems))


def _write_stamp_free(nb, path):
    """Writes `nb` without the run's timestamps, so a refresh changes only what changed."""
    import nbformat
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, str(path))


def test_compare_catches_a_changed_output():
    nbformat = require("nbformat")
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                           text="loss 0.25 after 1.3 s at 0x7f00aa12\n")]
    stored = nbformat.v4.new_notebook(cells=[cell])
    same = nbformat.from_dict(json.loads(json.dumps(stored)))
    same.cells[0].outputs[0].text = "loss 0.25 after 17 ms at 0x55ffbb34\n"
    assert compare(stored, same, sanitize_patterns()) == []
    changed = nbformat.from_dict(json.loads(json.dumps(stored)))
    changed.cells[0].outputs[0].text = "loss 0.26 after 1.3 s at 0x7f00aa12\n"
    (problem,) = compare(stored, changed, sanitize_patterns())
    assert "cell 0" in problem and "-loss 0.25" in problem and "+loss 0.26" in problem
    noisy = nbformat.from_dict(json.loads(json.dumps(stored)))
    noisy.cells[0].outputs.append(nbformat.v4.new_output("stream", name="stderr",
                                                         text="downloading 50%|##   |\n"))
    assert compare(stored, noisy, sanitize_patterns()) == []
    bare = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    assert "without outputs" in compare(bare, bare, sanitize_patterns())[0]


def test_compare_checks_images_by_kind():
    nbformat = require("nbformat")

    def nb(data):
        cell = nbformat.v4.new_code_cell("plt.show()")
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
        return nbformat.v4.new_notebook(cells=[cell])

    plot = {"image/png": "AAAA", "text/plain": "<Figure size 600x300 with 1 Axes>"}
    other_bytes = {"image/png": "BBBB", "text/plain": "<Figure size 600x300 with 1 Axes>"}
    assert compare(nb(plot), nb(other_bytes), sanitize_patterns()) == []
    assert compare(nb(plot), nb({"text/plain": "no figure"}), sanitize_patterns())
    svg = {"image/svg+xml": "<svg/>", "text/plain": "<graphviz.Digraph at 0x1>"}
    assert compare(nb(svg), nb({"text/plain": "digraph {"}), sanitize_patterns())
    assert compare(nb(svg), nb({"text/plain": "digraph {"}), sanitize_patterns(),
                   skip_dot=True) == []


if __name__ == "__main__":
    # refresh: execute each notebook named (default: all) and store its outputs
    for arg in sys.argv[1:] or [str(p) for p in NOTEBOOKS]:
        target = pathlib.Path(arg).resolve()
        print(f"executing {target.relative_to(ROOT)} ...", flush=True)
        _write_stamp_free(execute(target), target)
