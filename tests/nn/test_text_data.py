"""Text data for character models: hello, the word list, the fortunes, CharVocab,
NextCharDataset, word splits and the bigram baseline."""
import hashlib
import math

import numpy as np
import pytest

import autodiff as ad
from nn.data import (CharVocab, DataLoader, Dataset, NextCharDataset, bigram_nll, split_words,
                     words_to_text)
from nn.data.datasets import (HELLO, ChecksumError, DatasetUnavailableError, load_fortunes,
                              load_hello, load_words)
from nn.data.datasets import text as text_data

REAL_WORDS = text_data.WORDS_PATHS[0]
REAL_FORTUNES = text_data.FORTUNES_DIR
needs_wamerican = pytest.mark.skipif(
    not REAL_WORDS.is_file(),
    reason=f"{REAL_WORDS} is absent: apt-get install -y wamerican (Debian package)")
needs_fortunes = pytest.mark.skipif(
    not (REAL_FORTUNES / "literature").is_file(),
    reason=f"{REAL_FORTUNES} is absent: apt-get install -y fortunes (Debian package)")


def sha(data):
    return hashlib.sha256(data).hexdigest()


# ---- hello ----------------------------------------------------------------------------------

def test_hello_has_the_lecture_vocabulary():
    assert load_hello() == HELLO == "hello"
    vocab = CharVocab.from_text(load_hello())
    assert vocab.chars == "ehlo" and len(vocab) == 4


# ---- words ----------------------------------------------------------------------------------

@needs_wamerican
def test_real_word_list_counts_and_cleaning():
    raw = load_words(clean=False)
    assert len(raw) == 104334  # DATA.md: 104,334 lines
    words = load_words()
    assert len(words) == 63875
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)
    assert "aardvark" in words and "zygotes" in words
    dropped = set(raw) - set(words)
    assert {"Aaron", "aardvark's", "abbé"} <= dropped  # proper noun, possessive, accented


@needs_wamerican
def test_real_words_bigram_beats_uniform():
    train, val = split_words(load_words(), 0.1, seed=0)
    vocab = CharVocab.from_text(train + val, extra="\n")
    assert len(vocab) == 27
    nll = bigram_nll(vocab.encode(words_to_text(train)), vocab.encode(words_to_text(val)),
                     len(vocab))
    assert 2.3 < nll < 2.6 < math.log(27)


def write_words(path, text):
    path.write_bytes(text.encode("utf-8"))
    return path


def test_default_word_file_is_checksummed(monkeypatch, tmp_path):
    fake = write_words(tmp_path / "american-english", "apple\nBob\ncat's\ncafé\ndog\n")
    monkeypatch.setattr(text_data, "WORDS_PATHS", (fake,))
    with pytest.raises(ChecksumError) as info:
        load_words()
    msg = str(info.value)
    assert str(fake) in msg and text_data.WORDS_SHA256 in msg and sha(fake.read_bytes()) in msg
    assert "apt-get install --reinstall wamerican" in msg and "path=" in msg
    # the same bytes with a matching pin load, through the fallback name
    monkeypatch.setattr(text_data, "WORDS_SHA256", sha(fake.read_bytes()))
    monkeypatch.setattr(text_data, "WORDS_PATHS", (tmp_path / "absent", fake))
    assert load_words() == ["apple", "dog"]
    assert load_words(clean=False) == ["apple", "Bob", "cat's", "café", "dog"]


def test_missing_word_list_names_the_package_the_paths_and_path_option(monkeypatch, tmp_path):
    paths = (tmp_path / "american-english", tmp_path / "words")
    monkeypatch.setattr(text_data, "WORDS_PATHS", paths)
    with pytest.raises(DatasetUnavailableError) as info:
        load_words()
    msg = str(info.value)
    assert "apt-get install -y wamerican" in msg and "path=" in msg
    assert all(str(p) in msg for p in paths)
    assert isinstance(info.value, RuntimeError)


def test_user_word_file_is_not_checksummed(tmp_path):
    user = write_words(tmp_path / "names.txt", "emma\r\nOlivia\n\nava\nzoë\n")
    assert load_words(user) == ["emma", "ava"]
    assert load_words(str(user), clean=False) == ["emma", "Olivia", "ava", "zoë"]
    with pytest.raises(FileNotFoundError, match="not a file.*path="):
        load_words(tmp_path / "nope.txt")


# ---- fortunes -------------------------------------------------------------------------------

@needs_fortunes
def test_real_fortunes_size_checksum_and_pinned_file_list():
    text = load_fortunes()
    raw = text.encode("utf-8")  # the files are valid UTF-8, so this gives the bytes back
    assert len(raw) == 2576674 and sha(raw) == text_data.FORTUNES_SHA256
    assert len(text) == 2576627
    present = {p.name for p in REAL_FORTUNES.iterdir() if not p.name.endswith((".dat", ".u8"))}
    assert set(text_data.FORTUNES_FILES) <= present and len(text_data.FORTUNES_FILES) == 43


@needs_fortunes
def test_real_fortunes_subset_in_sorted_order_and_unknown_names():
    lit, wis = (load_fortunes(files=[n]) for n in ("literature", "wisdom"))
    assert lit == (REAL_FORTUNES / "literature").read_text("utf-8") and "\n%\n" in lit
    assert load_fortunes(files=["wisdom", "literature"]) == lit + wis
    with pytest.raises(ValueError) as info:
        load_fortunes(files=["wisdom", "limericks", "art.dat"])
    msg = str(info.value)
    assert "limericks" in msg and "art.dat" in msg and "available: " in msg
    assert "literature" in msg.split("available: ")[1]
    assert "art.dat" not in msg.split("available: ")[1]


@pytest.fixture
def fake_fortunes(monkeypatch, tmp_path):
    """A default fortunes directory of tiny files, its pin set to their concatenation."""
    directory = tmp_path / "fortunes"
    directory.mkdir()
    for name in text_data.FORTUNES_FILES:
        (directory / name).write_bytes(f"{name} says\n%\n".encode())
        (directory / f"{name}.dat").write_bytes(b"\x00\x02 index")
        (directory / f"{name}.u8").symlink_to(directory / name)
    (directory / "bofh-excuses").write_bytes("extra \u00e9\n%\n".encode())  # another package's
    whole = "".join(f"{n} says\n%\n" for n in sorted(text_data.FORTUNES_FILES))
    monkeypatch.setattr(text_data, "FORTUNES_DIR", directory)
    monkeypatch.setattr(text_data, "FORTUNES_SHA256", sha(whole.encode()))
    return directory, whole


def test_default_fortunes_read_pinned_files_only_and_are_checksummed(fake_fortunes):
    directory, whole = fake_fortunes
    assert load_fortunes() == whole
    assert load_fortunes(files=list(text_data.FORTUNES_FILES)) == whole
    assert load_fortunes(files=["bofh-excuses", "art"]) == "art says\n%\nextra \u00e9\n%\n"
    (directory / "zippy").write_bytes(b"tampered\n")
    with pytest.raises(ChecksumError) as info:
        load_fortunes()
    msg = str(info.value)
    assert str(directory) in msg and text_data.FORTUNES_SHA256 in msg
    assert "apt-get install --reinstall fortunes" in msg and "path=" in msg
    assert load_fortunes(files=["zippy"]) == "tampered\n"  # a subset is not pinned


def test_missing_fortunes_name_the_package(fake_fortunes, monkeypatch, tmp_path):
    directory, _ = fake_fortunes
    (directory / "wisdom").unlink()
    with pytest.raises(DatasetUnavailableError, match=r"\['wisdom'\] are missing.*apt-get "
                                                      r"install -y fortunes.*path="):
        load_fortunes()
    assert load_fortunes(files=["tao"]) == "tao says\n%\n"
    monkeypatch.setattr(text_data, "FORTUNES_DIR", tmp_path / "absent")
    for files in (None, ["wisdom"]):
        with pytest.raises(DatasetUnavailableError,
                           match=f"no fortune files in {tmp_path / 'absent'}.*apt-get install "
                                 f"-y fortunes"):
            load_fortunes(files=files)


def test_fortunes_from_a_user_directory_or_file(tmp_path):
    (tmp_path / "b").write_bytes(b"bee\n")
    (tmp_path / "a").write_bytes(b"ay \xff\n")  # a stray byte is replaced, not fatal
    (tmp_path / "a.dat").write_bytes(b"\x00")
    assert load_fortunes(tmp_path) == "ay \ufffd\nbee\n"
    assert load_fortunes(tmp_path, files=["b"]) == "bee\n"
    assert load_fortunes(tmp_path / "b") == "bee\n"
    with pytest.raises(ValueError, match="single file"):
        load_fortunes(tmp_path / "b", files=["b"])
    with pytest.raises(TypeError, match=r"files=\['b'\]"):
        load_fortunes(tmp_path, files="b")
    with pytest.raises(ValueError, match="unknown fortune file.*available: a, b"):
        load_fortunes(tmp_path, files=["c"])
    with pytest.raises(FileNotFoundError, match="neither a directory nor a file"):
        load_fortunes(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no text files"):
        load_fortunes(empty)


# ---- CharVocab ------------------------------------------------------------------------------

def test_vocab_attributes_order_and_membership():
    v = CharVocab("cab")
    assert v.chars == "cab" and v.itos == ["c", "a", "b"] and v.stoi == {"c": 0, "a": 1, "b": 2}
    assert len(v) == 3 and "a" in v and "d" not in v
    assert v == CharVocab(["c", "a", "b"]) and v != CharVocab("abc") and hash(v) == hash(
        CharVocab("cab"))
    assert v != "cab"
    assert CharVocab.from_state_dict(v.state_dict()) == v and v.state_dict() == {"chars": "cab"}
    assert CharVocab(v.chars) == v and CharVocab(v) == v


def test_vocab_from_text_sorts_and_adds_extra():
    assert CharVocab.from_text("hello world").chars == " dehlorw"
    assert CharVocab.from_text(["ab", "ba", "c"], extra="\n").chars == "\nabc"
    assert CharVocab.from_text("", extra="x").chars == "x"
    assert CharVocab.from_text(("b", "a")).chars == "ab"


def test_vocab_repr_is_compact():
    assert repr(CharVocab("\nab")) == "CharVocab(3 chars: '\\n', 'a', 'b')"
    v = CharVocab.from_text("abcdefghijklmnopqrstuvwxyz", extra="\n")
    assert repr(v) == ("CharVocab(27 chars: '\\n', 'a', 'b', 'c', 'd', 'e', ..., 'y', 'z')")


def test_vocab_construction_errors():
    with pytest.raises(ValueError, match="'a' appears twice.*distinct"):
        CharVocab("aba")
    with pytest.raises(TypeError, match="item 1 is 'bc'.*single character"):
        CharVocab(["a", "bc"])
    with pytest.raises(ValueError, match="at least one character"):
        CharVocab("")
    with pytest.raises(ValueError, match="empty"):
        CharVocab.from_text("")
    with pytest.raises(TypeError, match="item 1 of type int"):
        CharVocab.from_text(["a", 3])
    with pytest.raises(TypeError, match="extra must be a str"):
        CharVocab.from_text("a", extra=["b"])


def test_encode_decode_round_trip_and_input_kinds():
    text = "h\x00\u00e9llo \U0001f600\n"
    v = CharVocab.from_text(text)
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids.tolist() == [v.stoi[c] for c in text]
    assert v.decode(ids) == text
    assert v.decode(ids.tolist()) == text
    assert v.decode(ad.tensor(ids)) == text
    assert v.decode(ids.astype(np.uint8)) == text
    assert v.decode(int(ids[0])) == "h" and v.decode(np.int64(ids[0])) == "h"
    assert v.decode([]) == "" and v.encode("").shape == (0,) and v.encode("").dtype == np.int64


def test_encode_unknown_character_names_it_its_position_and_the_vocabulary():
    v = CharVocab("abc")
    with pytest.raises(ValueError, match=r"character 'z' at position 2 is not in the "
                                         r"vocabulary 'abc' \(3 chars\)"):
        v.encode("abzc")
    with pytest.raises(ValueError, match="'\U0001f600' at position 0"):
        v.encode("\U0001f600")  # past the lookup table
    with pytest.raises(TypeError, match="expects a str"):
        v.encode(["a"])


def test_decode_errors():
    v = CharVocab("abc")
    for bad, pos in (([0, 3], 1), ([-1], 0)):
        with pytest.raises(ValueError, match=f"id {bad[pos]} at position {pos} is out of range "
                                             f"for a vocabulary of 3 chars"):
            v.decode(bad)
    with pytest.raises(TypeError, match="integers, got dtype float"):
        v.decode([0.0, 1.0])
    with pytest.raises(TypeError, match="integers, got dtype bool"):
        v.decode(np.array([True]))
    with pytest.raises(ValueError, match=r"shape \(1, 2\); decode each row"):
        v.decode(np.array([[0, 1]]))


# ---- NextCharDataset ------------------------------------------------------------------------

@pytest.mark.parametrize("n, context, stride", [(10, 3, 1), (11, 4, 3), (5, 4, 1), (9, 2, 7)])
def test_windows_match_direct_slices(n, context, stride):
    ids = np.arange(100, 100 + n)
    ds = NextCharDataset(ids, context, stride=stride)
    starts = list(range(0, n - context, stride))
    assert len(ds) == len(starts) == (n - context - 1) // stride + 1
    assert isinstance(ds, Dataset)
    for i, s in enumerate(starts):
        x, y = ds[i]
        assert x.dtype == ad.int64 and y.dtype == ad.int64 and x.shape == y.shape == (context,)
        np.testing.assert_array_equal(x.numpy(), ids[s:s + context])
        np.testing.assert_array_equal(y.numpy(), ids[s + 1:s + context + 1])
    np.testing.assert_array_equal(ds[-1][1].numpy(), ids[starts[-1] + 1:starts[-1] + context + 1])
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_dataset_accepts_lists_and_tensors_and_copies_its_input():
    ids = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    from_list = NextCharDataset(ids.tolist(), 3, stride=2)
    from_tensor = NextCharDataset(ad.tensor(ids), 3, stride=2)
    ds = NextCharDataset(ids, 3, stride=2)
    ids[:] = 0  # the dataset holds its own copy
    for other in (from_list, from_tensor):
        for i in range(len(ds)):
            np.testing.assert_array_equal(ds[i][0].numpy(), other[i][0].numpy())
    np.testing.assert_array_equal(ds[0][0].numpy(), [3, 1, 4])
    assert repr(ds) == "NextCharDataset(3 windows, context=3, stride=2, 8 ids)"


def test_dataset_errors():
    with pytest.raises(ValueError, match="context must be >= 1, got 0"):
        NextCharDataset([1, 2, 3], 0)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        NextCharDataset([1, 2, 3], 1, stride=0)
    with pytest.raises(TypeError, match="context must be an int"):
        NextCharDataset([1, 2, 3], 1.5)
    with pytest.raises(ValueError, match=r"3 ids is too short for context 3.*context \+ 1 = 4"):
        NextCharDataset([1, 2, 3], 3)
    with pytest.raises(ValueError, match=r"1-D, got shape \(2, 2\)"):
        NextCharDataset([[1, 2], [3, 4]], 1)
    with pytest.raises(TypeError, match="integer ids, got dtype float"):
        NextCharDataset([1.0, 2.0, 3.0], 1)
    with pytest.raises(TypeError, match="got a str; encode it first"):
        NextCharDataset("hello", 2)


def test_dataloader_batches_cover_every_window():
    ids = np.random.default_rng(0).integers(0, 5, size=50)
    ds = NextCharDataset(ids, 6, stride=2)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=ad.Generator().manual_seed(0))
    xs, ys = [], []
    for x, y in loader:
        assert x.dtype == ad.int64 and x.shape[1:] == (6,) and x.shape == y.shape
        assert x.shape[0] <= 4
        xs.append(x.numpy())
        ys.append(y.numpy())
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    expected = [tuple(ids[s:s + 7]) for s in range(0, 50 - 6, 2)]
    got = [tuple(a) + (b[-1],) for a, b in zip(xs, ys)]
    assert sorted(got) == sorted(expected) and got != expected  # all windows, shuffled
    np.testing.assert_array_equal(xs[:, 1:], ys[:, :-1])
    assert [x.shape for x, _ in DataLoader(ds, batch_size=8, drop_last=True)] == [(8, 6)] * 2
    batch = next(iter(DataLoader(ds, batch_size=3)))[0]
    batch.data[0, 0] = -1  # a batch is a fresh array, not the dataset's storage
    assert ds[0][0].numpy()[0] == ids[0]


# ---- words_to_text and split_words ----------------------------------------------------------

def test_words_to_text():
    assert words_to_text(["ab", "c"]) == "ab\nc\n"
    assert words_to_text(("ab", "c"), sep=".") == "ab.c."
    assert words_to_text([]) == ""
    with pytest.raises(TypeError, match="single str"):
        words_to_text("abc")
    with pytest.raises(ValueError, match=r"word 1 'c\\nd' contains the separator"):
        words_to_text(["ab", "c\nd"])
    with pytest.raises(TypeError, match="word 0 is a int"):
        words_to_text([3])


def test_split_words_is_a_seeded_shuffle_partition():
    words = [f"w{i}" for i in range(50)]
    train, val = split_words(words, 0.2, seed=0)
    assert len(train) == 40 and len(val) == 10
    assert sorted(train + val) == sorted(words)
    assert (train, val) == split_words(words, 0.2, 0)
    assert split_words(words, 0.2, 1) != (train, val)
    assert train + val != words  # shuffled
    assert split_words(words, 0.0, 0)[1] == [] and len(split_words(words, 0.005, 0)[1]) == 0
    assert len(split_words(words, 0.05, 0)[1]) == 2  # round(2.5) = 2
    for bad in (1.0, -0.1, True, "0.1"):
        with pytest.raises(ValueError, match=r"val_fraction must be a number in \[0, 1\)"):
            split_words(words, bad, 0)


# ---- bigram_nll -----------------------------------------------------------------------------

def test_bigram_nll_hand_computed():
    # pairs 0->1 twice, 1->0, 1->2: row 0 = [0, 2, 0], row 1 = [1, 0, 1], row 2 empty
    train, held = [0, 1, 0, 1, 2], [0, 1, 2, 2]
    want = -(math.log(3 / 5) + math.log(2 / 5) + math.log(1 / 3)) / 3
    got = bigram_nll(train, held, 3)
    assert type(got) is float and got == pytest.approx(want, rel=1e-12)
    want_half = -(math.log(2.5 / 3.5) + math.log(1.5 / 3.5) + math.log(1 / 3)) / 3
    assert bigram_nll(np.array(train), ad.tensor(held), 3, smoothing=0.5) == pytest.approx(
        want_half, rel=1e-12)


@pytest.mark.parametrize("V, train", [(2, [0, 0, 1, 1, 0]),
                                      (3, [0, 0, 1, 0, 2, 1, 1, 2, 2, 0]),  # de Bruijn B(3, 2)
                                      (5, []), (4, [2])])
def test_bigram_nll_of_uniform_counts_is_log_vocab_size(V, train):
    held = np.random.default_rng(V).integers(0, V, size=40)
    assert bigram_nll(train, held, V) == pytest.approx(math.log(V), rel=1e-12)


def test_bigram_nll_errors():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="vocab_size must be a positive int"):
            bigram_nll([0, 1], [0, 1], bad)
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="smoothing must be a finite number > 0"):
            bigram_nll([0, 1], [0, 1], 2, smoothing=bad)
    with pytest.raises(ValueError, match="eval_ids holds id 2, outside 0..1"):
        bigram_nll([0, 1], [0, 2], 2)
    with pytest.raises(ValueError, match="train_ids holds id -1"):
        bigram_nll([-1, 1], [0, 1], 2)
    with pytest.raises(ValueError, match="eval_ids has 1 ids; it needs at least 2"):
        bigram_nll([0, 1], [1], 2)
