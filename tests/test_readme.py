"""Every ```python block in README.md and in the guides (docs/guides/*.md) runs as written (blocks
that need an optional package skip cleanly without it, naming what to install)."""
import glob
import os
import re

import pytest

from _optional import DIGITS_REASON, have_digits

ROOT = os.path.join(os.path.dirname(__file__), "..")
README = os.path.join(ROOT, "README.md")
GUIDES = sorted(glob.glob(os.path.join(ROOT, "docs", "guides", "*.md")))
SOURCES = [(os.path.relpath(p, ROOT), block) for p in [README] + GUIDES
           for block in re.findall(r"```python\n(.*?)```", open(p).read(), re.S)]
BLOCKS = [block for _, block in SOURCES]
IDS = [f"{path}:block{i}" for i, (path, _) in enumerate(SOURCES)]


def test_readme_has_python_blocks():
    assert any(path == "README.md" for path, _ in SOURCES), "no ```python block in README.md"


@pytest.mark.parametrize("code", BLOCKS, ids=IDS)
def test_readme_example_runs(code, tmp_path, monkeypatch):
    if "load_digits" in code and not have_digits():
        pytest.skip(DIGITS_REASON)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
