"""A small VGG-style CNN on Fashion-MNIST (target: >= 90% test accuracy):
[conv3x3 32 -> BN -> ReLU -> max-pool 2] -> [conv3x3 64 -> BN -> ReLU -> max-pool 2] ->
[conv3x3 64 -> BN -> ReLU] -> flatten (3136) -> FC 128 -> ReLU -> dropout 0.3 -> FC 10;
Adam 1e-3, batch 128, a few epochs. Results: benchmarks/results/cnn_fashion.json.

    python benchmarks/cnn_fashion.py [--epochs 3] [--until 11:40]
"""
import sys

from _cnn_common import deadline_from_argv, train  # first: it pins BLAS to one thread

import numpy as np  # noqa: E402
import autodiff as ad
import nn
from nn import BatchNorm2d, Conv2d, MaxPool2d
from nn.data.datasets import load_fashion_mnist


def small_vgg():
    def block(cin, cout, pool):
        layers = [Conv2d(cin, cout, 3, padding=1, bias=False), BatchNorm2d(cout), nn.ReLU()]
        return layers + [MaxPool2d(2)] if pool else layers
    return nn.Sequential(*block(1, 32, True), *block(32, 64, True), *block(64, 64, False),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3),
                         nn.Linear(128, 10))


def main():
    epochs = float(sys.argv[sys.argv.index("--epochs") + 1]) if "--epochs" in sys.argv else 3
    ad.manual_seed(0)
    Xtr, ytr = load_fashion_mnist(train=True)
    Xte, yte = load_fashion_mnist(train=False)
    data = tuple(np.asarray(t.data) for t in (Xtr, ytr, Xte, yte))
    model = small_vgg()
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)
    per_epoch = len(data[1]) // 128
    steps = int(epochs * per_epoch)
    train("cnn_fashion", model, opt, data, steps, 128,
          eval_at={per_epoch // 2} | {k * per_epoch for k in range(1, int(epochs) + 1)},
          deadline=deadline_from_argv())


if __name__ == "__main__":
    main()
