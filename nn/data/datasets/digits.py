"""UCI 8x8 handwritten digits, read from scikit-learn's bundled CSV with numpy alone."""
import importlib.util
from pathlib import Path

import numpy as np

import autodiff as ad


def digits_csv_path():
    """Path of sklearn/datasets/data/digits.csv.gz, found without importing sklearn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("load_digits reads the digits CSV that scikit-learn ships, and "
                                  "scikit-learn is not installed: pip install scikit-learn")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"scikit-learn is installed but {path} is missing; reinstall it: "
                                f"pip install --force-reinstall scikit-learn")
    return path


def load_digits():
    """(X float32 (1797, 64) = pixel/16 in [0, 1], y int64 (1797,)) - 8x8 images, 10 classes."""
    table = np.loadtxt(digits_csv_path(), delimiter=",", dtype=np.float64)
    X = (table[:, :-1] / 16.0).astype(np.float32)
    y = table[:, -1].astype(np.int64)
    return ad.from_numpy(X), ad.from_numpy(y)
