"""Text for labels: escaping user strings for DOT, and short renderings of arrays."""
import re

import numpy as np

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def html(text):
    """text safe inside a DOT HTML-like label (&<>" as entities; {}| too, for record shapes)."""
    s = _CONTROL.sub(" ", str(text))
    s = (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
         .replace('"', "&quot;").replace("{", "&#123;").replace("}", "&#125;")
         .replace("|", "&#124;"))
    return s


def quoted(text):
    """text as a DOT double-quoted string (backslashes and quotes escaped)."""
    s = _CONTROL.sub(" ", str(text))
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def num(v, digits=3):
    """One number, short: `digits` decimals between 0.1 and 10 (1.37, -0.53), else `digits`
    significant digits (22.1, 1.2e-07); nan, inf."""
    v = float(v)
    if v == 0:
        return "0"
    if not np.isfinite(v):
        return str(v)
    if 0.1 <= abs(v) < 10:
        s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
        return "0" if s in ("-0", "") else s
    return f"{v:.{digits}g}"


def shape_str(shape):
    """(4, 256), (3,), or 'scalar'."""
    if len(shape) == 0:
        return "scalar"
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def dtype_str(dtype):
    return str(np.dtype(dtype))


def values(a, digits=3, tiny=6):
    """The values of a tiny array, or a min/mean/max summary (with a NaN/Inf count)."""
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if a.dtype.kind == "b":
        return f"{int(a.sum())}/{a.size} true" if a.size > tiny else str(a.tolist())
    if a.size == 1:
        return num(a.reshape(()), digits)
    if a.size <= tiny:
        return "[" + ", ".join(num(v, digits) for v in a.ravel()) + "]"
    af = a.astype(np.float64)
    finite = np.isfinite(af)
    bad = a.size - int(finite.sum())
    if bad == a.size:
        return f"all {a.size} non-finite"
    f = af[finite]
    s = f"min {num(f.min(), digits)} mean {num(f.mean(), digits)} max {num(f.max(), digits)}"
    return s + (f" ({bad} NaN/Inf)" if bad else "")


def grad_text(g, digits=3):
    """A gradient: its value for scalars and tiny arrays, its L2 norm otherwise."""
    g = np.asarray(g)
    if g.size <= 1 or (g.size <= 4 and g.ndim <= 1):
        return values(g, digits)
    return "‖g‖ " + num(np.linalg.norm(g.astype(np.float64).ravel()), digits)


def clip(text, width):
    """text cut to width characters (with an ellipsis)."""
    return text if len(text) <= width else text[:width - 1] + "…"
