"""Benchmark cases for convolutional training (registered into cases.CASES): one full training
step of the MNIST livestream CNN (Adam) and of a small residual network (SGD momentum), and the
peak memory of a CNN training epoch. The model code is written once against the PyTorch API and
run with either library; both get the same weights from one numpy generator."""
import numpy as np

from cases import case


def _livestream_cnn(nn):
    """The MNIST CNN of the livestream (benchmarks/cnn_mnist.py::livestream_cnn)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding="same"), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(16, 36, 5, padding="same"), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(1764, 128), nn.ReLU(), nn.Linear(128, 10))


def _resnet(nn):
    """Stem conv3x3 3->32 + BN + ReLU; two stages of two basic blocks (32, then 64 channels,
    the first block of stage 2 strided with a 1x1 conv + BN projection); global average pool;
    fc 10."""
    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.project = None
            if stride != 1 or cin != cout:
                self.project = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                             nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            skip = x if self.project is None else self.project(x)
            return self.relu(out + skip)

    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        BasicBlock(32, 32, 1), BasicBlock(32, 32, 1),
        BasicBlock(32, 64, 2), BasicBlock(64, 64, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def _same_weights(params, assign, seed=0):
    """Fills every parameter (in registration order) from one generator: N(0, 1/fan_in) for
    weights, 0.05 for biases (1 for batch-norm scales)."""
    rng = np.random.default_rng(seed)
    for p in params:
        shape = tuple(p.shape)
        if len(shape) > 1:
            fan_in = int(np.prod(shape[1:]))
            value = rng.standard_normal(shape) / np.sqrt(fan_in)
        else:
            value = np.full(shape, 0.05)
        assign(p, value.astype(np.float32))


def _batch(shape, classes=10, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape, dtype=np.float32), rng.integers(0, classes, shape[0])


def _autodiff_model(build):
    import autodiff as ad
    import nn

    def assign(p, v):
        p.data[...] = v
    model = build(nn)
    _same_weights(model.parameters(), assign)
    return ad, nn, model


def _torch_model(build):
    import torch

    def assign(p, v):
        with torch.no_grad():
            p.copy_(torch.from_numpy(v))
    model = build(torch.nn)
    _same_weights(model.parameters(), assign)
    return torch, torch.nn, model


def _train_step(lib, lossf, model, opt, x, y):
    x, y = lib.from_numpy(x), lib.from_numpy(y)

    def step():
        loss = lossf(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


class _StepCase:
    build, shape = None, None

    @classmethod
    def _optimizer(cls, optim, params):
        raise NotImplementedError

    @classmethod
    def setup_autodiff(cls):
        ad, nn, model = _autodiff_model(cls.build)
        import nn.functional as F
        x, y = _batch(cls.shape)
        opt = cls._optimizer(nn.optim, model.parameters())
        return _train_step(ad, F.cross_entropy, model, opt, x, y), 1

    @classmethod
    def setup_torch(cls):
        torch, nn, model = _torch_model(cls.build)
        x, y = _batch(cls.shape)
        opt = cls._optimizer(torch.optim, model.parameters())
        return _train_step(torch, nn.functional.cross_entropy, model, opt, x, y), 1


@case("cnn_step", "MNIST livestream CNN (conv5x5x16 same, pool 2, ReLU, conv5x5x36 same, pool 2, "
      "ReLU, fc 128, fc 10), one Adam step on 64x1x28x28 float32")
class CNNStep(_StepCase):
    build, shape = staticmethod(_livestream_cnn), (64, 1, 28, 28)

    @classmethod
    def _optimizer(cls, optim, params):
        return optim.Adam(params, lr=1e-4)


@case("resnet_step", "residual stack (stem 3->32, 2x2 basic blocks at 32 and 64 channels, BN, "
      "global pool, fc 10), one SGD momentum step on 64x3x32x32 float32")
class ResNetStep(_StepCase):
    build, shape = staticmethod(_resnet), (64, 3, 32, 32)

    @classmethod
    def _optimizer(cls, optim, params):
        return optim.SGD(params, lr=0.01, momentum=0.9)


# --- peak memory of a CNN training epoch ---------------------------------------------------------

def _rss_kib(field):
    """VmRSS or VmHWM (the peak since the last reset) of this process, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss():
    """Sets this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


@case("cnn_memory", "livestream CNN, an epoch of 100 Adam steps on synthetic 64x1x28x28 "
      "batches: peak resident memory above the RSS after setup", unit="KiB")
class CNNMemory:
    """Peak RSS growth (VmHWM after the epoch minus VmRSS before it, the peak reset by
    /proc/self/clear_refs after setup): counts every allocator (numpy's, PyTorch's, BLAS
    buffers) the same way. Setup (imports, model, optimizer, the data) is excluded; the first
    step's lazy state (optimizer moments, caches) is inside the epoch for both libraries."""
    runs = 1
    batches, batch = 100, 64

    @classmethod
    def _data(cls):
        rng = np.random.default_rng(2)
        x = rng.standard_normal((cls.batches * cls.batch, 1, 28, 28), dtype=np.float32)
        return x, rng.integers(0, 10, len(x))

    @classmethod
    def _epoch(cls, lib, model, opt, lossf):
        import gc
        x, y = cls._data()
        info = {}

        def step():
            gc.collect()
            before = _rss_kib("VmRSS")
            _reset_peak_rss()
            for i in range(cls.batches):
                sl = slice(i * cls.batch, (i + 1) * cls.batch)
                loss = lossf(model(lib.from_numpy(x[sl])), lib.from_numpy(y[sl]))
                opt.zero_grad()
                loss.backward()
                opt.step()
            peak = _rss_kib("VmHWM")
            info.update(rss_before_mib=round(before / 1024, 1), peak_mib=round(peak / 1024, 1))
            return float(peak - before)
        cls._info = info
        return step, 1

    @classmethod
    def setup_autodiff(cls):
        ad, nn, model = _autodiff_model(_livestream_cnn)
        import nn.functional as F
        return cls._epoch(ad, model, nn.optim.Adam(model.parameters(), lr=1e-4),
                          F.cross_entropy)

    @classmethod
    def setup_torch(cls):
        torch, nn, model = _torch_model(_livestream_cnn)
        return cls._epoch(torch, model, torch.optim.Adam(model.parameters(), lr=1e-4),
                          torch.nn.functional.cross_entropy)

    @classmethod
    def extra_autodiff(cls):
        return dict(cls._info)

    @classmethod
    def extra_torch(cls):
        return dict(cls._info)
