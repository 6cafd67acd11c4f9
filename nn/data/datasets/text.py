"""Text for character-level models: "hello", a word list and the fortunes corpus (see DATA.md).

The word list and the fortunes come from Debian packages (wamerican, fortunes), read in place
from /usr/share and SHA-256 checked against the pinned release when the default files are used.
"""
import re
from pathlib import Path

from nn.data.datasets.cache import ChecksumError, sha256_hex
from nn.data.datasets.mnist import DatasetUnavailableError

__all__ = ["HELLO", "load_hello", "load_words", "load_fortunes"]

HELLO = "hello"

# Looked up at call time, so tests can point them at tampered or missing copies.
WORDS_PATHS = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/words"))
WORDS_PACKAGE = "wamerican"
WORDS_SHA256 = "9f513f1ceadb6a01c5485b7dbdfd5118dc66cd70b59cae2851292112d4066a32"
FORTUNES_DIR = Path("/usr/share/games/fortunes")
FORTUNES_PACKAGE = "fortunes"
# Over the raw bytes of the FORTUNES_FILES below, concatenated in (sorted) name order.
FORTUNES_SHA256 = "fbc2d796dde8ea64a51345ce4c18ff486a778a2d2259603987073bedb3fc3cd7"
FORTUNES_SKIP_SUFFIXES = (".dat", ".u8")  # strfile indexes; .u8 are symlinks to the text files
# The text files of Debian fortunes 1:1.99.1-7.3 (+ "fortunes" from its dependency fortunes-min);
# other packages may add files to the same directory, which files= can still select.
FORTUNES_FILES = (
    "art", "ascii-art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs",
    "education", "ethnic", "food", "fortunes", "goedel", "humorists", "kids", "knghtbrd", "law",
    "linux", "linuxcookie", "literature", "love", "magic", "medicine", "men-women",
    "miscellaneous", "news", "paradoxum", "people", "perl", "pets", "platitudes", "politics",
    "pratchett", "riddles", "science", "songs-poems", "sports", "startrek", "tao",
    "translate-me", "wisdom", "work", "zippy")

_CLEAN_WORD = re.compile(r"[a-z]+")


def _check_pinned(data, expected, path, package, option):
    """Raise ChecksumError naming the file, both digests and the fix unless sha256 matches."""
    got = sha256_hex(data)
    if got != expected:
        raise ChecksumError(
            f"{path}: SHA-256 mismatch: expected {expected}, got {got}; it is not the pinned "
            f"Debian {package} release. Reinstall it (as root: apt-get install --reinstall "
            f"{package}), or pass {option} to read your own copy without the check")


def load_hello():
    """The lecture's char-RNN example "hello" (vocabulary h, e, l, o); no file involved."""
    return HELLO


def load_words(path=None, *, clean=True):
    """Words of /usr/share/dict/american-english (Debian wamerican), one per line, or of `path`.

    The default file is SHA-256 checked; clean=True keeps only words of lowercase a-z (63,875 of
    the 104,334 lines), dropping proper nouns, possessives ("'s") and accented words.
    """
    if path is None:
        found = next((p for p in WORDS_PATHS if p.is_file()), None)
        if found is None:
            looked = " and ".join(str(p) for p in WORDS_PATHS)
            raise DatasetUnavailableError(
                f"load_words: no word list at {looked}. Install the Debian package "
                f"{WORDS_PACKAGE} (as root: apt-get install -y {WORDS_PACKAGE}), or pass "
                f"path= to a file with one word per line")
        data = found.read_bytes()
        _check_pinned(data, WORDS_SHA256, found, WORDS_PACKAGE, "load_words(path=...)")
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"load_words: {path} is not a file; pass path= to a text "
                                    f"file with one word per line, or path=None for the "
                                    f"system word list")
        data = path.read_bytes()
    lines = data.decode("utf-8", errors="replace").split("\n")
    words = [w for w in (line.rstrip("\r") for line in lines) if w]
    if clean:
        words = [w for w in words if _CLEAN_WORD.fullmatch(w)]
    return words


def _fortune_files(directory):
    """{name: path} of the fortune text files in directory (indexes and links skipped)."""
    return {p.name: p for p in directory.iterdir()
            if p.is_file() and not p.name.startswith(".")
            and not p.name.endswith(FORTUNES_SKIP_SUFFIXES)}


def load_fortunes(path=None, *, files=None):
    """Text of the Debian fortunes files (a directory's text files in sorted name order), as str.

    path: a directory of fortune files (default /usr/share/games/fortunes) or one text file.
    files: names to read (e.g. ["literature", "wisdom"]); None reads them all. The full default
    set (2,576,674 bytes, 43 files) is SHA-256 checked. Entries are separated by "%" lines.
    """
    default = path is None
    directory = FORTUNES_DIR if default else Path(path)
    if default:
        available = _fortune_files(directory) if directory.is_dir() else {}
        absent = [n for n in FORTUNES_FILES if n not in available]
        if not available or (absent and files is None):
            what = ("no fortune files" if not available
                    else f"the fortune files {absent} are missing")
            raise DatasetUnavailableError(
                f"load_fortunes: {what} in {directory}. Install the Debian package "
                f"{FORTUNES_PACKAGE} (as root: apt-get install -y {FORTUNES_PACKAGE}), or pass "
                f"path= to a directory of text files or to one text file")
    elif directory.is_file():
        if files is not None:
            raise ValueError(f"load_fortunes: path={str(directory)!r} is a single file, so "
                             f"files={files!r} cannot select from it; pass a directory as "
                             f"path, or files=None")
        return directory.read_bytes().decode("utf-8", errors="replace")
    elif directory.is_dir():
        available = _fortune_files(directory)
    else:
        raise FileNotFoundError(f"load_fortunes: {directory} is neither a directory nor a "
                                f"file; pass path= to a directory of text files or to one "
                                f"text file, or path=None for the system fortunes")
    if files is None:
        names = list(FORTUNES_FILES) if default else sorted(available)
        if not names:
            raise ValueError(f"load_fortunes: {directory} holds no text files (*.dat and *.u8 "
                             f"are skipped); pass path= to a directory with text files")
    else:
        if isinstance(files, (str, bytes)):
            raise TypeError(f"load_fortunes: files must be a list of file names, got the string "
                            f"{files!r}; write files=[{files!r}]")
        names = sorted(set(files))
        unknown = [n for n in names if n not in available]
        if unknown or not names:
            raise ValueError(f"load_fortunes: unknown fortune file(s) {unknown or files!r} in "
                             f"{directory}; available: {', '.join(sorted(available))}")
    data = b"".join(available[n].read_bytes() for n in names)
    if default and names == sorted(FORTUNES_FILES):
        _check_pinned(data, FORTUNES_SHA256, directory, FORTUNES_PACKAGE,
                      "load_fortunes(path=...)")
    # The files are UTF-8 (a few hold mojibake); replace keeps user files with stray bytes loadable.
    return data.decode("utf-8", errors="replace")
