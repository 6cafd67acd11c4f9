"""Optional packages the suite runs without: each test that needs one skips cleanly, naming what
to install, when it is absent. (PyTorch has its own helpers in tests/_torch.py.)

    from _optional import missing, needs_dot, require, requires_digits, skip_reason
    graphviz = require("graphviz")          # inside a test: import it, or skip
    @requires_digits / @needs_dot           # markers for load_digits' data and Graphviz `dot`
"""
import importlib.util
import os
import shutil

import pytest

# import name -> what to install (setup.cfg's extras name the same packages)
INSTALL = {
    "torch": "torch==2.13.0",        # the CPU build; scripts/test.sh installs it when it can
    "sklearn": "scikit-learn",       # nn.data.datasets.load_digits reads its bundled CSV
    "scipy": "scipy",                # autodiff.special's scipy-backed forwards, extra [special]
    "graphviz": "graphviz",          # autodiff.viz.draw_graph, extra [viz]
    "matplotlib": "matplotlib",      # notebooks, extra [notebooks]
    "nbformat": "nbformat",
    "nbclient": "nbclient",
    "ipykernel": "ipykernel",
}


def skip_reason(module):
    return f"{module} is not installed: pip install {INSTALL.get(module, module)}"


def require(module):
    """Imports `module`, or skips the calling test (or test module) with a reason naming the
    package to install."""
    return pytest.importorskip(module, reason=skip_reason(module))


def have(module):
    """True if the top-level `module` can be imported (found without importing it)."""
    return importlib.util.find_spec(module) is not None


def missing(*modules):
    """The modules among `modules` that are not installed."""
    return [m for m in modules if not have(m)]


def have_digits():
    """True if scikit-learn's bundled digits.csv.gz, which load_digits reads, is present."""
    spec = importlib.util.find_spec("sklearn")
    return bool(spec is not None and spec.submodule_search_locations and os.path.isfile(
        os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data",
                     "digits.csv.gz")))


DIGITS_REASON = ("load_digits reads scikit-learn's bundled digits.csv.gz, which is not "
                 "present: pip install scikit-learn")

# for tests that load the 8x8 digits (nn.data.datasets.load_digits, the train CLI's default)
requires_digits = pytest.mark.skipif(not have_digits(), reason=DIGITS_REASON)

# for tests that run the Graphviz `dot` program
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="the Graphviz `dot` program is not on PATH: "
                                      "apt install graphviz (or see graphviz.org/download)")
