"""draw_graph: the DOT source as a graphviz.Digraph (inline in Jupyter, .render() to files)."""
import shutil
import subprocess

from .dot import dot_lines

_INSTALL = ("Install Graphviz - `apt install graphviz` (Debian/Ubuntu), `brew install graphviz` "
            "(macOS), `conda install -c conda-forge graphviz`, or https://graphviz.org/download/ "
            "- and make sure `dot` is on PATH.")


class GraphvizNotFound(RuntimeError):
    """The Graphviz `dot` program is missing (a missing Python package raises ImportError)."""


def have_dot():
    """True when the Graphviz `dot` program is on PATH."""
    return shutil.which("dot") is not None


def _require_dot(who):
    if not have_dot():
        raise GraphvizNotFound(
            f"{who} needs the Graphviz `dot` program, which is not on PATH. {_INSTALL} "
            f"autodiff.viz.to_dot(...) works without it and returns the DOT source as a string.")


def draw_graph(*roots, show_data=False, show_grad=False, names=None, rankdir="LR",
               max_nodes=300, **options):
    """to_dot's picture as a graphviz.Digraph (same options): inline in Jupyter,
    .render("graph", format="svg") writes a file."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "draw_graph needs the `graphviz` Python package: pip install graphviz (or "
            "pip install autodiff[viz]); it also needs the Graphviz `dot` program. "
            "autodiff.viz.to_dot(...) works without either and returns the DOT source.") from None
    _require_dot("draw_graph")
    lines = dot_lines(roots, show_data=show_data, show_grad=show_grad, names=names,
                      rankdir=rankdir, max_nodes=max_nodes, **options)
    dot = graphviz.Digraph("autodiff")
    dot.body.extend(line + "\n" for line in lines[1:-1])
    return dot


def dot_to_svg(source, timeout=60):
    """Runs `dot -Tsvg` on DOT source and returns the SVG text."""
    _require_dot("rendering")
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"dot -Tsvg failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode()
