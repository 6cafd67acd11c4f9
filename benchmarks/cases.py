"""Benchmark cases: the same computation written for autodiff, by hand in numpy, and in
PyTorch. Each `setup_<lib>` returns (step, ops): step() runs one iteration and the reported
time is per iteration divided by ops (so a chain reports time per op)."""
import numpy as np

CASES = {}


def case(name, description, unit="ms"):
    def register(cls):
        cls.name, cls.description, cls.unit = name, description, unit
        CASES[name] = cls
        return cls
    return register


def _mlp_data(batch, sizes, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
          for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b, np.float32) for b in sizes[1:]]
    return x, y, ws, bs


# --- a chain of tiny ops -------------------------------------------------------------------------

@case("chain1000", "1000-op chain on 4-element tensors, forward+backward", unit="us/op")
class Chain:
    n = 1000

    @staticmethod
    def setup_autodiff():
        import autodiff as ad
        x = ad.tensor(np.linspace(-1, 1, 4, dtype=np.float32), requires_grad=True)
        a, b = ad.tensor(np.full(4, 0.999, np.float32)), ad.tensor(np.full(4, 0.001, np.float32))

        def step():
            y = x
            for _ in range(Chain.n // 4):
                y = ((y * a) + b).tanh() * a
            y.sum().backward()
            x.grad = None
        return step, Chain.n

    @staticmethod
    def setup_torch():
        import torch
        x = torch.linspace(-1, 1, 4, requires_grad=True)
        a, b = torch.full((4,), 0.999), torch.full((4,), 0.001)

        def step():
            y = x
            for _ in range(Chain.n // 4):
                y = ((y * a) + b).tanh() * a
            y.sum().backward()
            x.grad = None
        return step, Chain.n

    @staticmethod
    def setup_numpy():
        x = np.linspace(-1, 1, 4, dtype=np.float32)
        a, b = np.full(4, 0.999, np.float32), np.full(4, 0.001, np.float32)

        def step():  # a hand-written tape: the floor for any numpy engine
            tape = []
            y = x
            for _ in range(Chain.n // 4):
                y = y * a
                y = y + b
                t = np.tanh(y)
                tape.append(t)
                y = t * a
            g = np.ones_like(y)
            for t in reversed(tape):
                g = g * a
                g = g * (1 - t * t)
                g = g * a
            return g
        return step, Chain.n


# --- MLP training steps --------------------------------------------------------------------------

class _MLPStep:
    batch, sizes, lr = 64, (784, 128, 10), 0.01

    @classmethod
    def setup_autodiff(cls):
        import autodiff as ad
        x, y, ws, bs = _mlp_data(cls.batch, cls.sizes)
        x, y = ad.tensor(x), ad.tensor(y)
        params = [ad.tensor(p, requires_grad=True) for p in ws + bs]
        n = len(ws)
        rows = ad.arange(cls.batch)

        def step():
            h = x
            for i in range(n):
                h = h @ params[i] + params[n + i]
                if i < n - 1:
                    h = h.relu()
            loss = -ad.log_softmax(h, 1)[rows, y].mean()
            loss.backward()
            with ad.no_grad():
                for p in params:
                    p.data -= cls.lr * p.grad.data
                    p.grad = None
        return step, 1

    @classmethod
    def setup_torch(cls):
        import torch
        x, y, ws, bs = _mlp_data(cls.batch, cls.sizes)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        params = [torch.tensor(p, requires_grad=True) for p in ws + bs]
        n = len(ws)

        def step():
            h = x
            for i in range(n):
                h = h @ params[i] + params[n + i]
                if i < n - 1:
                    h = h.relu()
            loss = torch.nn.functional.cross_entropy(h, y)
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= cls.lr * p.grad
                    p.grad = None
        return step, 1

    @classmethod
    def setup_numpy(cls):
        x, y, ws, bs = _mlp_data(cls.batch, cls.sizes)
        n = len(ws)
        rows = np.arange(cls.batch)

        def step():
            acts, h = [x], x
            for i in range(n):
                h = h @ ws[i] + bs[i]
                if i < n - 1:
                    h = np.maximum(h, 0)
                acts.append(h)
            m = h.max(1, keepdims=True)
            e = np.exp(h - m)
            p = e / e.sum(1, keepdims=True)
            g = p
            g[rows, y] -= 1
            g /= cls.batch
            for i in reversed(range(n)):
                gw, gb = acts[i].T @ g, g.sum(0)
                if i > 0:
                    g = (g @ ws[i].T) * (acts[i] > 0)
                ws[i] -= cls.lr * gw
                bs[i] -= cls.lr * gb
        return step, 1


@case("mlp_small", "MLP training step, batch 64, 784-128-10 (float32)")
class MLPSmall(_MLPStep):
    batch, sizes = 64, (784, 128, 10)


@case("mlp_large", "MLP training step, batch 512, 784-1024-1024-10 (float32)")
class MLPLarge(_MLPStep):
    batch, sizes = 512, (784, 1024, 1024, 10)


# --- higher order --------------------------------------------------------------------------------

@case("tanh2", "second derivative of tanh on 1e6 elements (grad of grad)")
class Tanh2:
    n = 1_000_000

    @staticmethod
    def setup_autodiff():
        import autodiff as ad
        x = ad.tensor(np.linspace(-3, 3, Tanh2.n, dtype=np.float32), requires_grad=True)

        def step():
            (g,) = ad.grad(ad.tanh(x).sum(), x, create_graph=True)
            (h,) = ad.grad(g.sum(), x)
            return h
        return step, 1

    @staticmethod
    def setup_torch():
        import torch
        x = torch.linspace(-3, 3, Tanh2.n, requires_grad=True)

        def step():
            (g,) = torch.autograd.grad(torch.tanh(x).sum(), x, create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), x)
            return h
        return step, 1

    @staticmethod
    def setup_numpy():
        x = np.linspace(-3, 3, Tanh2.n, dtype=np.float32)

        def step():  # d2/dx2 tanh = -2 tanh (1 - tanh^2)
            t = np.tanh(x)
            return -2 * t * (1 - t * t)
        return step, 1


# --- long graphs ---------------------------------------------------------------------------------

@case("chain100k", "backward of a 100,000-op chain of scalars (timed part: backward only)",
      unit="us/op")
class Chain100k:
    n = 100_000

    @staticmethod
    def setup_autodiff():
        import autodiff as ad
        import time
        x = ad.tensor(1.0, requires_grad=True)
        c = ad.tensor(1.0)

        def step():
            y = x
            for _ in range(Chain100k.n):
                y = y * c
            t0 = time.perf_counter()
            y.backward()
            x.grad = None
            return time.perf_counter() - t0
        return step, Chain100k.n

    @staticmethod
    def setup_torch():
        import torch
        import time
        x = torch.tensor(1.0, requires_grad=True)
        c = torch.tensor(1.0)

        def step():
            y = x
            for _ in range(Chain100k.n):
                y = y * c
            t0 = time.perf_counter()
            y.backward()
            x.grad = None
            return time.perf_counter() - t0
        return step, Chain100k.n

    @staticmethod
    def setup_numpy():
        import time
        x, c = np.float32(1.0), np.float32(1.0)

        def step():
            tape, y = [], x
            for _ in range(Chain100k.n):
                tape.append(c)
                y = y * c
            t0 = time.perf_counter()
            g = np.float32(1.0)
            for cc in reversed(tape):
                g = g * cc
            return time.perf_counter() - t0
        return step, Chain100k.n

    @staticmethod
    def extra_autodiff():
        """Bytes of graph per node (tensor + node + arrays), by tracemalloc."""
        import tracemalloc
        import autodiff as ad
        x, c = ad.tensor(1.0, requires_grad=True), ad.tensor(1.0)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        y = x
        for _ in range(Chain100k.n):
            y = y * c
        used = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        y.backward()
        return {"bytes_per_node": round(used / Chain100k.n, 1)}
