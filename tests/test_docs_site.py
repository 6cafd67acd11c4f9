"""The documentation site builds with `mkdocs build --strict` (mkdocs.yml): a broken link, a page
left out of the nav or an API reference that fails to render fails this test. The pages that
matter are checked in the output: the home page, a guide, and the API reference of Tensor with a
method's docstring. Skips, naming the extra, without mkdocs-material and mkdocstrings.

Build it yourself: bash scripts/docs.sh (into site/), bash scripts/docs.sh serve.
"""
import html
import importlib.util
import inspect
import logging
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 300  # seconds; the full build takes about 10 s on a 2-core machine
EXTENSION = f"{ROOT / 'docs' / 'api' / 'griffe_runtime.py'}:RuntimeFunctions"
NEEDED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")


def _missing():
    out = []
    for name in NEEDED:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            out.append(name)
    return out


pytestmark = pytest.mark.skipif(
    bool(_missing()), reason=f"{', '.join(_missing())} not installed: "
                             "pip install 'autodiff[docs]' (mkdocs-material, mkdocstrings[python])")


def _mkdocs_build(config, site_dir):
    """Runs `mkdocs build --strict` in a subprocess (cwd: the repository); returns it."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
           "--site-dir", str(site_dir)]
    try:
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:  # run() has killed the child already
        pytest.fail(f"mkdocs build took more than {TIMEOUT} s:\n{e.stderr}")


def _text(path):
    """The visible text of an HTML page: tags removed, entities decoded, spaces collapsed."""
    raw = re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))
    return " ".join(html.unescape(raw).split())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("site")
    run = _mkdocs_build(ROOT / "mkdocs.yml", site_dir)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return site_dir


def test_home_page_and_guides(site):
    assert "reverse-mode automatic differentiation" in _text(site / "index.html")
    guide = site / "guides" / "autograd" / "index.html"
    assert guide.is_file()
    assert "A tour of the API" in _text(guide)
    for page in ("gradcheck", "training", "models", "viz", "semantics"):
        assert (site / "guides" / page / "index.html").is_file(), page


def test_existing_docs_pages_are_in_the_site(site):
    # every Markdown page under docs/ is published (strict mode also refuses one left out of nav)
    for md in (ROOT / "docs").rglob("*.md"):
        rel = md.relative_to(ROOT / "docs").with_suffix("")
        out = site / rel / "index.html" if rel.name not in ("index", "README") \
            else site / rel.parent / "index.html"
        assert out.is_file(), f"{md} has no page in the built site ({out})"


def test_tensor_api_page_has_method_docstrings(site):
    import autodiff as ad

    page = site / "api" / "tensor" / "index.html"
    source = page.read_text(encoding="utf-8")
    text = _text(page)
    for method in ("backward", "detach", "register_hook"):
        assert f'id="autodiff.tensor.Tensor.{method}"' in source, method
        doc = " ".join(inspect.getdoc(getattr(ad.Tensor, method)).replace("`", "").split())
        assert doc in text, f"Tensor.{method}'s docstring is not on the Tensor page"
    # ops attached at import time (from the stub) are listed with their formula
    assert 'id="autodiff.tensor.Tensor.exp"' in source
    assert inspect.getdoc(ad.Tensor.exp) in text


def test_api_reference_renders_factory_made_ops_and_nn(site):
    import autodiff as ad

    ops = site / "api" / "ops" / "index.html"
    source = ops.read_text(encoding="utf-8")
    # tan = _unary(Tan, "tan") and arcsin = asin are only functions at runtime (griffe_runtime.py)
    for name in ("unary.tan", "unary.arcsin", "elementwise.exp", "reduce.logsumexp"):
        assert f'id="autodiff.ops.{name}"' in source, name
    assert inspect.getdoc(ad.tan).split(";")[0] in _text(ops)
    nn_page = (site / "api" / "nn" / "index.html").read_text(encoding="utf-8")
    for name in ("nn.layers.Linear", "nn.rnn.LSTM", "nn.lazy.LazyConv2d", "nn.module.Module"):
        assert f'id="{name}"' in nn_page, name
    for page, anchor in [("functional", "autodiff.functional.jacobian"),
                         ("testing", "autodiff.testing.gradcheck.gradcheck"),
                         ("viz", "autodiff.viz.to_dot"),
                         ("distributed", "autodiff.distributed.all_reduce"),
                         ("nn_functional", "nn.functional.loss.cross_entropy"),
                         ("nn_optim", "nn.optim.lr_scheduler.StepLR"),
                         ("nn_data", "nn.data.DataLoader"),
                         ("nn_utils", "nn.utils.clip_grad_norm_"),
                         ("nn_parallel", "nn.parallel.DistributedDataParallel")]:
        source = (site / "api" / page / "index.html").read_text(encoding="utf-8")
        assert f'id="{anchor}"' in source, f"{anchor} missing from api/{page}"


def _small_site(tmp_path, page_text):
    """A one-page site with the project's configuration (theme, plugins, hooks)."""
    docs = tmp_path / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text(page_text, encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"INHERIT: {ROOT / 'mkdocs.yml'}\n"
        f"docs_dir: {docs}\n"
        f"hooks: [{ROOT / 'docs' / 'api' / 'hooks.py'}]\n"
        "nav: [index.md]\n"
        # the griffe extension's path is relative to the config file: give it absolutely
        "plugins:\n  mkdocstrings:\n    handlers:\n      python:\n        options:\n"
        f"          extensions: ['{EXTENSION}']\n",
        encoding="utf-8")
    return _mkdocs_build(config, tmp_path / "site")


def test_strict_build_fails_on_a_broken_link_but_not_on_docstring_brackets(tmp_path):
    # jacobian's docstring says result[i][j], which Markdown reads as a reference link
    page = "# Page\n\n::: autodiff.functional.jacobian\n"
    ok = _small_site(tmp_path / "ok", page)
    assert ok.returncode == 0, ok.stderr
    broken = _small_site(tmp_path / "broken", page + "\nSee [the guide](no_such_page.md).\n")
    assert broken.returncode != 0
    output = broken.stdout + broken.stderr
    assert "no_such_page.md" in output
    assert "Aborted with 1 warnings in strict mode" in output


def _load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "api" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("message, level", [
    ("api/functional.md: from /repo/autodiff/functional.py:103: (autodiff.functional.jacobian) "
     "Could not find cross-reference target 'j'", logging.INFO),
    ("guides/training.md: Could not find cross-reference target 'nn.Linaer'", logging.WARNING),
])
def test_hook_downgrades_only_references_from_docstrings(message, level):
    record = logging.LogRecord("mkdocs.plugins.mkdocs_autorefs._internal.plugin",
                               logging.WARNING, __file__, 1, message, None, None)
    assert _load_hooks()._DocstringRefsAsInfo().filter(record)
    assert record.levelno == level
