"""Where the time of one tiny op goes: a breakdown for docs/performance.md.

    python benchmarks/overhead.py

Measures CPU time (best of 5) per operation on 4-element float32 tensors: the numpy ufunc
alone, an autodiff op outside the graph (no_grad), the same op recorded in the graph, and the
backward pass per node of a 1000-op chain (rule + engine), plus the engine's traversal alone.
"""
import time

import numpy as np

import autodiff as ad

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

    def backward(n):
        for _ in range(n // 1000):
            chain().backward()
            x.grad = y.grad = None
    fwd = best_of(lambda n: [chain() for _ in range(n // 1000)], n=20_000)
    both = best_of(backward, n=20_000)
    rows.append(("backward per node of a mul chain (rule + engine)", both - fwd))
    roots = [chain() for _ in range(20)]

    def topo(n):
        for r in roots[: n // 1000]:
            ad.toposort([r])
    rows.append(("  of which: topological sort per node", best_of(topo, n=20_000)))
    width = max(len(r[0]) for r in rows)
    for name, us in rows:
        print(f"{name:<{width}}  {us:6.2f} us")


if __name__ == "__main__":
    main()
