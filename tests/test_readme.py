"""Every ```python block in README.md runs as written (blocks that need an optional package skip
cleanly without it, naming what to install)."""
import os
import re

import pytest

from _optional import DIGITS_REASON, have_digits

README = os.path.join(os.path.dirname(__file__), "..", "README.md")
BLOCKS = re.findall(r"```python\n(.*?)```", open(README).read(), re.S)


def test_readme_has_python_blocks():
    assert BLOCKS, "no ```python block found in README.md"


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, tmp_path, monkeypatch):
    if "load_digits" in code and not have_digits():
        pytest.skip(DIGITS_REASON)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
