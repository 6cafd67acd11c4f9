"""Character-level text helpers: a vocabulary, a next-character dataset, word splits, a bigram
baseline."""
import math
import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import autodiff as ad
from nn.data.dataset import TensorDataset

__all__ = ["CharVocab", "NextCharDataset", "words_to_text", "split_words", "bigram_nll"]


def _int_array(ids, name, where):
    """A 1-D int64 ndarray copy of a list, ndarray or int Tensor of ids; raise naming `where`."""
    if isinstance(ids, ad.Tensor):
        ids = ids.numpy()
    if isinstance(ids, str):
        raise TypeError(f"{where}: {name} must be integer ids, got a str; encode it first "
                        f"(CharVocab.encode)")
    array = np.asarray(ids)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{where}: {name} must hold integer ids, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{where}: {name} must be 1-D, got shape {array.shape}; pass one "
                         f"sequence (flatten or concatenate them first)")
    return np.array(array, dtype=np.int64)


class CharVocab:
    """Bijection character <-> id: chars[i] has id i (stoi[c] = i, itos[i] = c)."""

    def __init__(self, chars):
        if isinstance(chars, CharVocab):
            chars = chars.chars
        chars = list(chars)
        for i, c in enumerate(chars):
            if not isinstance(c, str) or len(c) != 1:
                raise TypeError(f"CharVocab: item {i} is {c!r}; every item must be a single "
                                f"character (a str of length 1)")
        if not chars:
            raise ValueError("CharVocab: needs at least one character, got none")
        stoi = {}
        for i, c in enumerate(chars):
            if c in stoi:
                raise ValueError(f"CharVocab: character {c!r} appears twice (at {stoi[c]} and "
                                 f"{i}); characters must be distinct - use "
                                 f"CharVocab.from_text(text) to collect them from a text")
            stoi[c] = i
        self.chars = "".join(chars)
        self.stoi = stoi
        self.itos = chars
        # Code point -> id (-1 if absent), so encode maps a whole text with one gather.
        codes = np.array([ord(c) for c in chars], dtype=np.int64)
        self._lookup = np.full(int(codes.max()) + 2, -1, dtype=np.int32)
        self._lookup[codes] = np.arange(len(chars), dtype=np.int32)
        self._codes = codes.astype(np.uint32)  # decode gathers code points, then one utf-32 decode

    @classmethod
    def from_text(cls, text, extra=""):
        """Sorted distinct characters of a str (or of a list of str), plus those of `extra`."""
        if isinstance(text, str):
            seen = set(text)
        else:
            parts = list(text)
            for i, t in enumerate(parts):
                if not isinstance(t, str):
                    raise TypeError(f"CharVocab.from_text: expects a str or a list of str, got "
                                    f"item {i} of type {type(t).__name__}")
            seen = set("".join(parts))
        if not isinstance(extra, str):
            raise TypeError(f"CharVocab.from_text: extra must be a str of characters, got "
                            f"{type(extra).__name__}")
        seen.update(extra)
        if not seen:
            raise ValueError("CharVocab.from_text: the text is empty and extra adds no "
                             "characters, so there is no vocabulary")
        return cls(sorted(seen))

    def state_dict(self):
        """{"chars": chars}: a plain str, fit for a checkpoint's config."""
        return {"chars": self.chars}

    @classmethod
    def from_state_dict(cls, state):
        """The vocabulary saved by state_dict()."""
        return cls(state["chars"])

    def __len__(self):
        return len(self.itos)

    def __contains__(self, c):
        return c in self.stoi

    def __eq__(self, other):
        if not isinstance(other, CharVocab):
            return NotImplemented
        return self.chars == other.chars

    def __hash__(self):
        return hash(self.chars)

    def __repr__(self):
        shown = [repr(c) for c in self.itos]
        if len(shown) > 10:
            shown = shown[:6] + ["..."] + shown[-2:]
        return f"CharVocab({len(self)} chars: {', '.join(shown)})"

    def _describe(self):
        """The vocabulary for error messages, whole if short."""
        return self.chars if len(self) <= 120 else self.chars[:117] + "..."

    def encode(self, text):
        """int64 ids of the characters of text: ids[i] = stoi[text[i]]."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: expects a str, got {type(text).__name__}; "
                            f"join a list of strings first (e.g. words_to_text(words))")
        raw = text.encode("utf-32-le", "surrogatepass")
        codes = np.frombuffer(raw, dtype=np.uint32)
        # Code points past the table land on its last slot, which is always -1.
        ids = self._lookup[np.minimum(codes, len(self._lookup) - 1)]
        known = ids >= 0
        if not known.all():
            i = int(np.argmin(known))
            raise ValueError(f"CharVocab.encode: character {text[i]!r} at position {i} is not in "
                             f"the vocabulary {self._describe()!r} ({len(self)} chars); build "
                             f"the vocabulary from all the text (CharVocab.from_text) or add it "
                             f"with extra=")
        return ids.astype(np.int64)

    def decode(self, ids):
        """The str of the characters with these ids (a list, 1-D ndarray, int Tensor or int)."""
        if isinstance(ids, ad.Tensor):
            ids = ids.numpy()
        array = np.asarray(ids)
        if array.size == 0:
            return ""
        if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"CharVocab.decode: ids must be integers, got dtype {array.dtype}")
        if array.ndim > 1:
            raise ValueError(f"CharVocab.decode: ids must be 0-D or 1-D, got shape "
                             f"{array.shape}; decode each row separately")
        array = array.reshape(-1)
        bad = (array < 0) | (array >= len(self))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"CharVocab.decode: id {int(array[i])} at position {i} is out of "
                             f"range for a vocabulary of {len(self)} chars (valid ids 0.."
                             f"{len(self) - 1})")
        return self._codes[array].tobytes().decode("utf-32-le", "surrogatepass")


class NextCharDataset(TensorDataset):
    """Item i = (x, y): x = ids[s:s+context], y = ids[s+1:s+context+1], s = i * stride."""

    def __init__(self, ids, context, *, stride=1):
        for name, v in (("context", context), ("stride", stride)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"NextCharDataset: {name} must be an int, got {v!r}")
            if v < 1:
                raise ValueError(f"NextCharDataset: {name} must be >= 1, got {v}")
        ids = _int_array(ids, "ids", "NextCharDataset")
        if len(ids) < context + 1:
            raise ValueError(f"NextCharDataset: a sequence of {len(ids)} ids is too short for "
                             f"context {context}; a window needs context + 1 = {context + 1} ids "
                             f"(input plus the next character) - use a smaller context or more "
                             f"text")
        self.ids = ids
        self.context = int(context)
        self.stride = int(stride)
        # Read-only strided views of ids: no copy, and DataLoader fancy-indexes whole batches.
        windows = sliding_window_view(ids, context + 1)[::stride]
        super().__init__(ad.from_numpy(windows[:, :-1]), ad.from_numpy(windows[:, 1:]))

    def __repr__(self):
        return (f"NextCharDataset({len(self)} windows, context={self.context}, "
                f"stride={self.stride}, {len(self.ids)} ids)")


def words_to_text(words, sep="\n"):
    """One str: each word followed by sep, so a model learns where words end."""
    if isinstance(words, str):
        raise TypeError("words_to_text: expects a list of words, got a single str; "
                        "write words_to_text([word])")
    words = list(words)
    for i, w in enumerate(words):
        if not isinstance(w, str):
            raise TypeError(f"words_to_text: word {i} is a {type(w).__name__}, not a str")
        if sep and sep in w:
            raise ValueError(f"words_to_text: word {i} {w!r} contains the separator {sep!r}, "
                             f"which would split it; clean the words or choose another sep")
    return "".join(w + sep for w in words)


def split_words(words, val_fraction, seed):
    """(train, val): the words shuffled with `seed`, the last round(n * val_fraction) held out."""
    if isinstance(words, str):
        raise TypeError("split_words: expects a list of words, got a single str")
    words = list(words)
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real) \
            or not 0 <= val_fraction < 1:
        raise ValueError(f"split_words: val_fraction must be a number in [0, 1), got "
                         f"{val_fraction!r}; e.g. 0.1 holds out a tenth of the words")
    order = np.random.default_rng(seed).permutation(len(words))
    n_val = int(round(len(words) * val_fraction))
    cut = len(words) - n_val
    return [words[i] for i in order[:cut]], [words[i] for i in order[cut:]]


def bigram_nll(train_ids, eval_ids, vocab_size, smoothing=1.0):
    """-mean log P(e[t] | e[t-1]) over t >= 1, P(b|a) = (N(a,b) + k) / (N(a) + k V) from train."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral) \
            or vocab_size < 1:
        raise ValueError(f"bigram_nll: vocab_size must be a positive int, got {vocab_size!r}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real) \
            or not smoothing > 0 or not math.isfinite(smoothing):
        raise ValueError(f"bigram_nll: smoothing must be a finite number > 0 (add-k counts keep "
                         f"unseen pairs finite), got {smoothing!r}")
    V = int(vocab_size)
    train = _int_array(train_ids, "train_ids", "bigram_nll")
    test = _int_array(eval_ids, "eval_ids", "bigram_nll")
    for name, a in (("train_ids", train), ("eval_ids", test)):
        if a.size and (a.min() < 0 or a.max() >= V):
            bad = int(a[(a < 0) | (a >= V)][0])
            raise ValueError(f"bigram_nll: {name} holds id {bad}, outside 0..{V - 1} for "
                             f"vocab_size={V}")
    if len(test) < 2:
        raise ValueError(f"bigram_nll: eval_ids has {len(test)} ids; it needs at least 2 (each "
                         f"id after the first is predicted from its predecessor)")
    counts = np.bincount(train[:-1] * V + train[1:], minlength=V * V).reshape(V, V)
    logp = np.log(counts + float(smoothing)) \
        - np.log(counts.sum(axis=1, keepdims=True) + float(smoothing) * V)
    return float(-logp[test[:-1], test[1:]].mean())
