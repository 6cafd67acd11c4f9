"""Tensor repr in PyTorch's printed form: `tensor([0.1000, 2.0000])`, `tensor([1., 2.])`, sci
mode for wide ranges, `...` summaries past 1000 elements, and the dtype / grad suffixes."""
import math

import numpy as np

from . import dtypes

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = 4, 1000, 3, 80
SCI_MODE = None  # None: chosen per tensor; True / False: always / never scientific
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """PyTorch's torch.set_printoptions: digits after the point, the element count past which
    a tensor prints summarised, the items shown at each end, the line width, a profile
    ('default', 'short', 'full') and sci_mode (None: automatic)."""
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, "
                             f"got {profile!r}")
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None and (not isinstance(value, (int, float)) or value < 0):
            raise TypeError(f"set_printoptions: {name} must be a non-negative number, "
                            f"got {value!r}")
    PRECISION = PRECISION if precision is None else int(precision)
    THRESHOLD = THRESHOLD if threshold is None else threshold
    EDGEITEMS = EDGEITEMS if edgeitems is None else int(edgeitems)
    LINEWIDTH = LINEWIDTH if linewidth is None else int(linewidth)
    SCI_MODE = sci_mode


class _Formatter:
    """One number format for every element (PyTorch's _tensor_str._Formatter): integral
    floats print as `1.`, others with 4 decimals, in sci mode when the magnitudes span more
    than 1000x, exceed 1e8 or go below 1e-4."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.ravel()
        if not self.floating:
            self.width = max((len(str(v)) for v in flat.tolist()), default=1)
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if not finite.size:
            return
        a = np.abs(finite)
        lo, hi = float(a.min()), float(a.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        wide = hi / lo > 1000.0 or hi > 1.0e8
        self.sci_mode = wide if self.int_mode else wide or lo < 1.0e-4
        if SCI_MODE is not None:
            self.sci_mode = bool(SCI_MODE)
        if self.sci_mode:
            spec = f".{PRECISION}e"
        else:
            spec = ".0f" if self.int_mode else f".{PRECISION}f"
        extra = 1 if self.int_mode and not self.sci_mode else 0
        self.width = max(len(format(v, spec)) + extra for v in finite.tolist())

    def format(self, v):
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:{self.width}.{PRECISION}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{PRECISION}f}"
        return " " * (self.width - len(s)) + s


def _summarized(a):
    """The elements a summary shows (the first and last EDGEITEMS along every dim)."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    if a.ndim == 1:
        return a
    return np.stack([_summarized(row) for row in a])


def _vector(a, indent, summarize, fmt):
    per_line = max(1, int(math.floor((LINEWIDTH - indent) / (fmt.width + 2))))
    values = a.tolist()
    if summarize and len(values) > 2 * EDGEITEMS:
        items = [fmt.format(v) for v in values[:EDGEITEMS]] + [" ..."] + \
            [fmt.format(v) for v in values[-EDGEITEMS:]]
    else:
        items = [fmt.format(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    n = a.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)] + ["..."] + \
            [_nested(a[i], indent + 1, summarize, fmt) for i in range(n - EDGEITEMS, n)]
    else:
        rows = [_nested(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def dtype_name(dt):
    """'autodiff.float32' for np.float32, as PyTorch prints 'torch.float32'."""
    return "autodiff." + np.dtype(dt).name


def tensor_repr(t, prefix="tensor("):
    a = t.data
    indent = len(prefix)
    suffixes = []
    default = a.dtype in (dtypes.get_default_dtype(), np.int64, np.bool_)
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != dtypes.get_default_dtype():  # (no element shows an int's dtype)
            suffixes.append("dtype=" + dtype_name(a.dtype))
        body = "[]"
    else:
        if not default:
            suffixes.append("dtype=" + dtype_name(a.dtype))
        summarize = a.size > THRESHOLD
        shown = a.astype(np.float32) if a.dtype == np.float16 else a
        fmt = _Formatter(_summarized(shown) if summarize else shown)
        body = _nested(shown, indent, summarize, fmt)
    if t.grad_fn is not None:
        # PyTorch numbers its built-in node classes (MulBackward0), not a custom Function's
        custom = type(t.grad_fn).__name__ == "BackwardFunction"
        suffixes.append(f"grad_fn=<{t.grad_fn.name}{'' if custom else '0'}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    parts = [prefix + body]
    last = len(parts[0]) - parts[0].rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    return "".join(parts) + ")"
