"""Where the time of one tiny op goes: a breakdown for docs/performance.md.

    python benchmarks/overhead.py

Measures CPU time (best of 5) per operation on 4-element float32 tensors: the numpy ufunc
alone, an autodiff op outside the graph (no_grad), the same op recorded in the graph, and the
backward pass per node of a 1000-op chain (rule + engine), plus the rule alone;
then the chain1000 benchmark's ops three ways: autodiff, the leanest engine one can write (a
value, its parents and a backward closure per op: no dtype or shape handling, hooks, scopes or
checks), and a hand-written numpy tape (no engine at all).
"""
import time

import numpy as np

import autodiff as ad
from cases import Chain  # (benchmarks/ is on sys.path when this file runs)

N = 100_000


def best_of(fn, reps=5, n=N):
    best = float("inf")
    for _ in range(reps):
        t = time.process_time()
        fn(n)
        best = min(best, time.process_time() - t)
    return best / n * 1e6


def main():
    a = np.ones(4, np.float32)
    x = ad.tensor(a, requires_grad=True)
    y = ad.tensor(a, requires_grad=True)
    rows = []

    def raw(n):
        for _ in range(n):
            np.multiply(a, a)
    rows.append(("numpy ufunc (a * b)", best_of(raw)))

    def wrapped(n):
        for _ in range(n):
            ad.Tensor._const(np.multiply(a, a))
    rows.append(("+ wrapping the result in a Tensor", best_of(wrapped)))

    def nograd(n):
        with ad.no_grad():
            for _ in range(n):
                x * y
    rows.append(("autodiff x * y under no_grad", best_of(nograd)))

    def recorded(n):
        for _ in range(n):
            x * y
    rows.append(("autodiff x * y recorded (node + tensor)", best_of(recorded)))

    c = ad.tensor(a)  # a constant: the chain has one path, as in the chain1000 case

    def chain():
        z = x
        for _ in range(1000):
            z = z * c
        return z.sum()

    def backward_only():  # the graph is built outside the timed part
        best = float("inf")
        for _ in range(50):
            root = chain()
            t = time.process_time()
            root.backward()
            best = min(best, time.process_time() - t)
            x.grad = None
        return best / 1000 * 1e6
    rows.append(("backward per node of a mul chain (rule + engine)", backward_only()))
    node, g = (x * c).grad_fn, np.ones(4, np.float32)
    xa, ca = x.data, c.data

    def rule(n):
        for _ in range(n):
            node.backward(g, None, xa, ca)
    rows.append(("  of which: the rule, g * y on arrays", best_of(rule)))
    rows.append(("chain1000 ops (mul, add, tanh, mul), forward + backward:", None))
    rows.append(("  autodiff", _per_op(Chain.setup_autodiff()[0])))
    rows.append(("  a lean tape engine (no checks, dtypes, hooks or scopes)", _chain_lean()))
    rows.append(("  a hand-written numpy tape", _per_op(Chain.setup_numpy()[0])))
    width = max(len(r[0]) for r in rows)
    for name, us in rows:
        print(name if us is None else f"{name:<{width}}  {us:6.2f} us")


# --- the chain1000 case three ways: the engine and no engine (benchmarks/cases.py), and the
# leanest engine, defined here ---------------------------------------------------------------

A = np.full(4, 0.999, np.float32)
B = np.full(4, 0.001, np.float32)
X0 = np.linspace(-1, 1, 4, dtype=np.float32)


def _per_op(step):
    return best_of(lambda n: [step() for _ in range(n // 1000)], n=20_000)


class _Lean:
    """The least an engine can record: the value, its parents and a backward closure."""
    __slots__ = ("data", "parents", "rule")

    def __init__(self, data, parents=(), rule=None):
        self.data, self.parents, self.rule = data, parents, rule


def _lean_mul(x, y):
    return _Lean(x.data * y.data, (x, y), lambda g: (g * y.data, g * x.data))


def _lean_add(x, y):
    return _Lean(x.data + y.data, (x, y), lambda g: (g, g))


def _lean_tanh(x):
    t = np.tanh(x.data)
    return _Lean(t, (x,), lambda g: (g * (1 - t * t),))


def _lean_backward(root):
    """Reverse order of a chain, summing gradients per value (what any engine must do)."""
    order, seen, stack = [], set(), [root]
    while stack:
        v = stack.pop()
        order.append(v)
        for p in v.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    grads = {id(root): np.ones_like(root.data)}
    for v in order:
        g = grads.pop(id(v), None)
        if g is None or v.rule is None:
            continue
        for p, gp in zip(v.parents, v.rule(g)):
            prev = grads.get(id(p))
            grads[id(p)] = gp if prev is None else prev + gp
    return grads


def _chain_lean():
    x, a, b = _Lean(X0), _Lean(A), _Lean(B)

    def step():
        y = x
        for _ in range(250):
            y = _lean_mul(_lean_tanh(_lean_add(_lean_mul(y, a), b)), a)
        _lean_backward(y)
    return _per_op(step)


if __name__ == "__main__":
    main()
