"""Catalog entries for nn.functional's linear maps beyond ad.linear (ENTRIES: a list of
tests/catalog.py's Op): F.bilinear, y[..., o] = x1[..., i] A[o, i, j] x2[..., j] + b[o]."""
import numpy as np
from hypothesis import strategies as st

import nn.functional as F
from catalog import Op


def np_bilinear(x1, x2, w, b=None):
    out = np.zeros(x1.shape[:-1] + (w.shape[0],))
    for o in range(w.shape[0]):  # one output feature at a time, straight from the formula
        out[..., o] = ((x1[..., :, None] * w[o]) * x2[..., None, :]).sum(axis=(-2, -1))
    return out if b is None else out + b


def _bilinear_shapes(batched, bias):
    def draw_shapes(draw):
        lead = draw(st.lists(st.integers(1, 3), min_size=0 if not batched else 1,
                             max_size=0 if not batched else 2).map(tuple))
        i, j, o = (draw(st.integers(1, 3)) for _ in range(3))
        shapes = [lead + (i,), lead + (j,), (o, i, j)]
        return shapes + [(o,)] if bias else shapes
    return draw_shapes


ENTRIES = [
    Op("F.bilinear", F.bilinear, np_bilinear, _bilinear_shapes(True, True), label="batched"),
    Op("F.bilinear", F.bilinear, np_bilinear, _bilinear_shapes(True, False), label="no_bias"),
    Op("F.bilinear", F.bilinear, np_bilinear, _bilinear_shapes(False, True), label="unbatched"),
]
