"""Catalog entries for the predicates family (tests/catalog.py appends ENTRIES and merges
the sets)."""
from catalog import Op  # noqa: F401  (and the shape/param helpers: unary, broadcastable, ...)

# Comparisons, predicates and random factories: nothing to differentiate (normal, bernoulli and
# poisson record a zero gradient, as PyTorch; tests/test_torch_predicates.py checks it).
ENTRIES = []
NON_DIFFERENTIABLE = {
    "isclose", "equal", "isin", "isneginf", "isposinf", "isreal", "is_nonzero",
    "is_floating_point", "is_complex", "numel", "greater", "less", "greater_equal", "less_equal",
    "not_equal", "logspace", "randint_like", "normal", "bernoulli", "multinomial", "poisson",
    "is_signed", "binomial",
}
# new_empty, and comparisons written in place (self = self > other, in self's dtype)
METHOD_NON_DIFFERENTIABLE = {
    "new_empty", "eq_", "ne_", "lt_", "le_", "gt_", "ge_", "greater_", "greater_equal_", "less_",
    "less_equal_", "not_equal_", "logical_and_", "logical_or_", "logical_xor_", "logical_not_",
}
# random values written in place: nothing to differentiate
METHOD_IN_PLACE = {"bernoulli_", "exponential_", "geometric_", "cauchy_", "log_normal_",
                   "random_"}
