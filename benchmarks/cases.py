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
    def _setup(tensor):
        x = tensor(np.linspace(-1, 1, 4, dtype=np.float32), requires_grad=True)
        a, b = tensor(np.full(4, 0.999, np.float32)), tensor(np.full(4, 0.001, np.float32))

        def step():
            y = x
            for _ in range(Chain.n // 4):
                y = ((y * a) + b).tanh() * a
            y.sum().backward()
            x.grad = None
        return step, Chain.n

    @staticmethod
    def setup_autodiff():
        import autodiff as ad
        return Chain._setup(ad.tensor)

    @staticmethod
    def setup_torch():
        import torch
        return Chain._setup(torch.tensor)

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
        import nn.functional as F
        x, y, ws, bs = _mlp_data(cls.batch, cls.sizes)
        x, y = ad.tensor(x), ad.tensor(y)
        params = [ad.tensor(p.T.copy(), requires_grad=True) for p in ws] + \
            [ad.tensor(p, requires_grad=True) for p in bs]
        n = len(ws)

        def step():
            h = x
            for i in range(n):
                h = F.linear(h, params[i], params[n + i])
                if i < n - 1:
                    h = h.relu()
            loss = F.cross_entropy(h, y)
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
        params = [torch.tensor(p.T.copy(), requires_grad=True) for p in ws] + \
            [torch.tensor(p, requires_grad=True) for p in bs]
        n = len(ws)
        F = torch.nn.functional

        def step():
            h = x
            for i in range(n):
                h = F.linear(h, params[i], params[n + i])
                if i < n - 1:
                    h = h.relu()
            loss = F.cross_entropy(h, y)
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
    def _setup(tensor):
        import time
        x = tensor(1.0, requires_grad=True)
        c = tensor(1.0)

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
    def setup_autodiff():
        import autodiff as ad
        return Chain100k._setup(ad.tensor)

    @staticmethod
    def setup_torch():
        import torch
        return Chain100k._setup(torch.tensor)

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


# --- the micrograd demo --------------------------------------------------------------------------

def _moons(n=100, seed=0):
    from nn.data.datasets import make_moons
    X, y = make_moons(n_samples=n, noise=0.1, seed=seed)
    return X.numpy(), (2 * y.numpy() - 1).astype(np.float32)  # labels -1 / +1 as in micrograd


@case("moons", "micrograd demo: 2-16-16-1 MLP, 100 moons points, one full-batch epoch "
      "(hinge + L2 loss, backward, SGD)")
class Moons:
    @staticmethod
    def _setup(tensor, seed, nn, optim):
        """The same code for both libraries: a PyTorch program ported by changing imports."""
        X, y = _moons()
        X, y = tensor(X), tensor(y)
        seed(0)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                              nn.Linear(16, 1))
        params = list(model.parameters())
        opt = optim.SGD(params, lr=0.05)

        def step():
            scores = model(X).reshape(-1)
            loss = (1 - y * scores).relu().mean() + 1e-4 * sum((p * p).sum() for p in params)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return step, 1

    @staticmethod
    def setup_autodiff():
        import autodiff as ad
        import nn
        return Moons._setup(ad.tensor, ad.manual_seed, nn, nn.optim)

    @staticmethod
    def setup_torch():
        import torch
        return Moons._setup(torch.from_numpy, torch.manual_seed, torch.nn, torch.optim)

    @staticmethod
    def setup_numpy():
        X, y = _moons()
        rng = np.random.default_rng(0)
        sizes = (2, 16, 16, 1)
        ws = [rng.uniform(-1, 1, (a, b)).astype(np.float32) / np.sqrt(a)
              for a, b in zip(sizes[:-1], sizes[1:])]
        bs = [np.zeros(b, np.float32) for b in sizes[1:]]

        def step():
            acts, h = [X], X
            for i in range(3):
                h = h @ ws[i] + bs[i]
                if i < 2:
                    h = np.maximum(h, 0)
                acts.append(h)
            margin = 1 - y * h[:, 0]
            g = (-(margin > 0).astype(np.float32) * y / len(y))[:, None]
            for i in reversed(range(3)):
                gw, gb = acts[i].T @ g + 2e-4 * ws[i], g.sum(0) + 2e-4 * bs[i]
                if i > 0:
                    g = (g @ ws[i].T) * (acts[i] > 0)
                ws[i] -= 0.05 * gw
                bs[i] -= 0.05 * gb
        return step, 1


# --- convolution ---------------------------------------------------------------------------------

@case("conv2d", "conv2d forward+backward, 32x3x32x32 input, 16 3x3 filters, padding 1")
class Conv2d:
    shape, filters = (32, 3, 32, 32), (16, 3, 3, 3)

    @classmethod
    def _arrays(cls):
        rng = np.random.default_rng(0)
        x = rng.standard_normal(cls.shape, dtype=np.float32)
        w = rng.standard_normal(cls.filters, dtype=np.float32)
        g = rng.standard_normal((32, 16, 32, 32), dtype=np.float32)
        return x, w, g

    @classmethod
    def setup_autodiff(cls):
        import autodiff as ad
        x, w, g = cls._arrays()
        x, w = ad.tensor(x, requires_grad=True), ad.tensor(w, requires_grad=True)
        b, g = ad.zeros(16, requires_grad=True), ad.tensor(g)

        def step():
            ad.conv2d(x, w, b, padding=1).backward(g)
            x.grad = w.grad = b.grad = None
        return step, 1

    @classmethod
    def setup_torch(cls):
        import torch
        x, w, g = cls._arrays()
        x = torch.tensor(x, requires_grad=True)
        w = torch.tensor(w, requires_grad=True)
        b, g = torch.zeros(16, requires_grad=True), torch.from_numpy(g)

        def step():
            torch.nn.functional.conv2d(x, w, b, padding=1).backward(g)
            x.grad = w.grad = b.grad = None
        return step, 1


# --- whole training runs -------------------------------------------------------------------------

def _train_to_target(framework, loader_name, hidden, target, max_epochs, lr=1e-3, batch=64):
    """Seconds for an MLP (Adam) to reach `target` held-out accuracy; (seconds, acc, epochs)."""
    import time
    from nn.data import datasets
    if loader_name == "digits":
        X, y = datasets.load_digits()
        X, y = X.numpy(), y.numpy()
        perm = np.random.default_rng(0).permutation(len(y))
        cut = int(0.8 * len(y))
        (Xtr, ytr), (Xte, yte) = (X[perm[:cut]], y[perm[:cut]]), (X[perm[cut:]], y[perm[cut:]])
    else:
        Xtr, ytr = (t.numpy() for t in datasets.load_mnist(train=True))
        Xte, yte = (t.numpy() for t in datasets.load_mnist(train=False))
        Xtr, Xte = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    sizes = (Xtr.shape[1],) + hidden + (int(ytr.max()) + 1,)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    if framework == "autodiff":
        import autodiff as ad
        import nn
        import nn.functional as F
        ad.manual_seed(0)
        model = nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1])
        opt = nn.optim.Adam(model.parameters(), lr=lr)
        as_t, no_grad = ad.tensor, ad.no_grad

        def train_step(xb, yb):
            loss = F.cross_entropy(model(as_t(xb)), as_t(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()

        def predict(xb):
            with no_grad():
                return model(as_t(xb)).numpy().argmax(1)
    else:
        import torch
        torch.manual_seed(0)
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        opt = torch.optim.Adam(model.parameters(), lr=lr)

        def train_step(xb, yb):
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(xb)),
                                                     torch.from_numpy(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()

        def predict(xb):
            with torch.no_grad():
                return model(torch.from_numpy(xb)).numpy().argmax(1)
    acc = 0.0
    for epoch in range(1, max_epochs + 1):
        perm = rng.permutation(len(ytr))
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            train_step(Xtr[idx], ytr[idx])
        acc = float(np.mean(predict(Xte) == yte))
        if acc >= target:
            break
    return time.perf_counter() - start, acc, epoch


class _TrainRun:
    dataset, hidden, target, max_epochs = "digits", (128,), 0.97, 60

    @classmethod
    def _setup(cls, framework):
        # not timed: imports and first-call costs (lazy initialisation) of either framework
        _train_to_target(framework, "digits", (16,), target=2.0, max_epochs=1)
        info = {}

        def step():
            seconds, acc, epochs = _train_to_target(framework, cls.dataset, cls.hidden,
                                                    cls.target, cls.max_epochs)
            info.update(accuracy=round(acc, 4), epochs=epochs)
            return seconds
        cls._info = info
        return step, 1

    @classmethod
    def setup_autodiff(cls):
        return cls._setup("autodiff")

    @classmethod
    def setup_torch(cls):
        return cls._setup("torch")

    @classmethod
    def extra_autodiff(cls):
        return dict(cls._info)

    @classmethod
    def extra_torch(cls):
        return dict(cls._info)


@case("train_digits", "time for an MLP (64-128-10, Adam 1e-3, batch 64) to reach 97% on "
      "held-out digits", unit="s")
class TrainDigits(_TrainRun):
    dataset, hidden, target, max_epochs = "digits", (128,), 0.97, 60
    runs = 1


@case("train_mnist", "time for an MLP (784-256-128-10, Adam 1e-3, batch 64) to reach 98% on "
      "the MNIST test set", unit="s")
class TrainMNIST(_TrainRun):
    dataset, hidden, target, max_epochs = "mnist", (256, 128), 0.98, 20
    runs = 1


# --- memory --------------------------------------------------------------------------------------

@case("memory", "10,000 training steps (MLP 64-128-10, digits batches): traced memory growth "
      "between step 1,000 and step 10,000", unit="KiB")
class Memory:
    runs = 1

    @staticmethod
    def setup_autodiff():
        import gc
        import tracemalloc
        import nn
        import nn.functional as F
        from nn.data import datasets
        X, y = datasets.load_digits()
        model = nn.MLP(64, [128], 10)
        opt = nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        info = {}

        def step():
            gc.collect()
            gc.disable()  # graphs must be freed by reference counting alone
            tracemalloc.start()
            marks = {}
            for i in range(1, 10_001):
                idx = (np.arange(64) + 64 * i) % len(y)
                loss = F.cross_entropy(model(X[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                if i in (1_000, 10_000):
                    # a manual collection empties Python's free lists (which fill up to a fixed
                    # size) and reports any unreachable cycles: there should be none
                    cycles = gc.collect()
                    marks[i] = (tracemalloc.get_traced_memory()[0], cycles)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            gc.enable()
            info.update(kib_at_1000=round(marks[1000][0] / 1024, 1),
                        kib_at_10000=round(marks[10_000][0] / 1024, 1),
                        peak_kib=round(peak / 1024, 1), cycle_collector="disabled",
                        unreachable_cycles_found=marks[1000][1] + marks[10_000][1])
            return float(marks[10_000][0] - marks[1_000][0]) / 1024
        Memory._info = info
        return step, 1

    @staticmethod
    def extra_autodiff():
        return dict(Memory._info)


# --- sequence models (issue 15): recurrent layers and a character Transformer --------------------
import cases_sequence  # noqa: E402,F401  (registers lstm, gru, bilstm2)
import cases_transformer  # noqa: E402,F401  (registers char_transformer)
import cases_cnn  # noqa: E402,F401  (registers cnn_step, resnet_step, cnn_memory)
import cases_compiled  # noqa: E402,F401  (registers the autodiff.compile cases)
