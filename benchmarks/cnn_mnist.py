"""The livestream's MNIST CNN: 5x5 conv 16 -> 2x2 max-pool -> ReLU -> 5x5 conv 36 -> pool ->
ReLU -> flatten (7*7*36 = 1764) -> FC 128 ReLU -> FC 10; Adam 1e-4, batch 64; weights
N(0, 0.05) truncated at 2 std, biases 0.05. Reference: ~90% after 1,000 steps, ~98.5% after
10,000. Results: benchmarks/results/cnn_mnist.json.

    python benchmarks/cnn_mnist.py [--steps 10000] [--until 11:40]
"""
import sys

from _cnn_common import deadline_from_argv, train  # first: it pins BLAS to one thread

import numpy as np  # noqa: E402
import autodiff as ad
import nn
from nn import Conv2d, MaxPool2d
from nn.data.datasets import load_mnist


def livestream_cnn():
    model = nn.Sequential(
        Conv2d(1, 16, 5, padding="same"), MaxPool2d(2), nn.ReLU(),
        Conv2d(16, 36, 5, padding="same"), MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(1764, 128), nn.ReLU(), nn.Linear(128, 10))
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            nn.init.trunc_normal_(p, 0.0, 0.05, -0.1, 0.1)
        else:
            nn.init.constant_(p, 0.05)
    return model


def main():
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 10000
    ad.manual_seed(0)
    Xtr, ytr = load_mnist(train=True)
    Xte, yte = load_mnist(train=False)
    data = tuple(np.asarray(t.data) for t in (Xtr, ytr, Xte, yte))
    model = livestream_cnn()
    opt = nn.optim.Adam(model.parameters(), lr=1e-4)
    train("cnn_mnist", model, opt, data, steps, 64, eval_at={100, 1000, 2000, 5000},
          deadline=deadline_from_argv())


if __name__ == "__main__":
    main()
