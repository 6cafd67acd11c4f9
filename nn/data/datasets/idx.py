"""IDX files (MNIST's format): 0x00 0x00, a type byte, ndim, ndim big-endian uint32 dims, data."""
import gzip
import os
import zlib

import numpy as np

# type byte -> big-endian numpy dtype
IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class IDXFormatError(ValueError):
    """The bytes are not a complete, well-formed IDX file."""


def parse_idx(raw, name="<bytes>"):
    """IDX bytes -> numpy array in native byte order; errors name the file and the defect."""
    if len(raw) < 4:
        raise IDXFormatError(f"{name}: {len(raw)} bytes is too short for an IDX header (4 bytes); "
                             f"the file is truncated - delete it and fetch it again")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXFormatError(f"{name}: bad magic bytes {raw[:4].hex()} (an IDX file starts with "
                             f"00 00); if it is gzip-compressed (starts 1f8b), name it *.gz")
    if raw[2] not in IDX_DTYPES:
        raise IDXFormatError(f"{name}: unknown IDX type byte 0x{raw[2]:02x}; expected one of "
                             f"{', '.join(f'0x{t:02x}' for t in IDX_DTYPES)}")
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(f"{name}: header declares {ndim} dimensions ({header} header bytes) "
                             f"but the file has {len(raw)} bytes; it is truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise IDXFormatError(f"{name}: header says shape {shape} of {dtype.name} = {expected} "
                             f"bytes in all, but the file has {len(raw)} bytes ({what}); "
                             f"delete it and fetch it again")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def read_idx_bytes(path):
    """Raw (decompressed if the name ends in .gz) bytes of an IDX file."""
    path = os.fspath(path)
    if not path.endswith(".gz"):
        with open(path, "rb") as f:
            return f.read()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, OSError, zlib.error) as e:
        raise IDXFormatError(f"{path}: corrupt or truncated gzip stream ({e}); delete it and "
                             f"fetch it again") from e


def read_idx(path):
    """Read an IDX file (plain or .gz) into a numpy array."""
    return parse_idx(read_idx_bytes(path), name=os.fspath(path))


def idx_bytes(array):
    """numpy array -> IDX bytes (uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    for type_byte, dtype in IDX_DTYPES.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            break
    else:
        raise TypeError(f"idx_bytes: IDX cannot store dtype {array.dtype}; use uint8, int8, "
                        f"int16, int32, float32 or float64")
    if array.ndim > 255:
        raise ValueError(f"idx_bytes: IDX stores at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, type_byte, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=dtype).tobytes()


def write_idx(path, array):
    """Write an array as an IDX file (gzip-compressed if the name ends in .gz)."""
    data = idx_bytes(array)
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)
