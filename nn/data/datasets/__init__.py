"""Datasets as (X, y) Tensors: 2-D toy sets, digits, MNIST and Fashion-MNIST; text for
character models: "hello", a word list, the fortunes corpus (see DATA.md)."""
from nn.data.datasets.cache import ChecksumError, cache_dir
from nn.data.datasets.digits import load_digits
from nn.data.datasets.idx import IDXFormatError, read_idx, write_idx
from nn.data.datasets.mnist import DatasetUnavailableError, load_fashion_mnist, load_mnist
from nn.data.datasets.synthetic import make_circles, make_moons, make_spirals
from nn.data.datasets.text import HELLO, load_fortunes, load_hello, load_words

__all__ = ["make_moons", "make_circles", "make_spirals", "load_digits", "load_mnist",
           "load_fashion_mnist", "read_idx", "write_idx", "cache_dir", "IDXFormatError",
           "ChecksumError", "DatasetUnavailableError", "HELLO", "load_hello", "load_words",
           "load_fortunes"]
