"""Dataset cache: where files live, SHA-256 pinning, atomic installs."""
import hashlib
import os
import tempfile
from pathlib import Path

ENV_VAR = "AUTODIFF_DATA"


class ChecksumError(ValueError):
    """A file's SHA-256 differs from the pinned one."""


def cache_dir(name, root=None):
    """<root, else $AUTODIFF_DATA, else ~/.cache/autodiff>/<name>."""
    base = root if root is not None else os.environ.get(ENV_VAR) or "~/.cache/autodiff"
    return Path(base).expanduser() / name


def sha256_hex(data):
    """Hex SHA-256 of a bytes object."""
    return hashlib.sha256(data).hexdigest()


def verify_sha256(data, expected, path):
    """Raise ChecksumError naming the file and both hashes unless sha256(data) == expected."""
    got = sha256_hex(data)
    if got != expected:
        raise ChecksumError(f"{path}: SHA-256 mismatch: expected {expected}, got {got}; the file "
                            f"is damaged or not the pinned release - delete it and load again "
                            f"to fetch a fresh copy")


def atomic_write(path, data):
    """Write bytes to path all-or-nothing: temp file in the same dir, fsync, os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache file is ordinary data
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable; not every platform can open a directory
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def install(path, data, expected_sha256):
    """Verify data against the pinned SHA-256, then write it atomically to path."""
    verify_sha256(data, expected_sha256, path)
    atomic_write(path, data)
