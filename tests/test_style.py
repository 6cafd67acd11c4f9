"""The code base passes `ruff check` (configured in pyproject.toml: line length, pyflakes)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _optional import skip_reason

ROOT = Path(__file__).resolve().parent.parent


def _ruff():
    beside = Path(sys.executable).parent / ("ruff.exe" if sys.platform == "win32" else "ruff")
    if beside.is_file():
        return str(beside)
    return shutil.which("ruff")


def test_ruff_check_passes():
    ruff = _ruff()
    if ruff is None:
        pytest.skip(skip_reason("ruff") + " (the dev extra)")
    done = subprocess.run([ruff, "check", "--no-cache", "autodiff", "nn", "benchmarks", "tests"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"ruff check failed:\n{done.stdout}{done.stderr}"
