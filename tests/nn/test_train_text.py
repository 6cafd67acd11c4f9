"""python -m nn.train on text (hello, words) and python -m nn.sample, in-process, on tiny settings:
the char models learn, checkpoints resume exactly, sampling is seeded, errors name the fix."""
import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import charlm, sample, train, train_text
from nn.data import CharVocab, datasets
from nn.data.datasets import text as text_data
from nn.serialization import load

MODELS = list(train_text.TEXT_MODELS)


@pytest.fixture(autouse=True)
def _no_curves(request, monkeypatch):
    """Rendering curves.png takes ~0.2 s a run: only the tests named for it draw the file."""
    if "curves" not in request.node.name:
        monkeypatch.setattr(train, "write_curves", lambda history, path, text=False: path)


def _have_words():
    try:
        datasets.load_words()
    except datasets.DatasetUnavailableError:
        return False
    return True


requires_words = pytest.mark.skipif(not _have_words(), reason="the word list is not installed: "
                                    "apt-get install wamerican")
# a tiny word-list run: small model, 6k validation characters, seconds per model
TINY_WORDS = ["--dataset", "words", "--hidden", "32", "--embed", "16", "--context", "16",
              "--batch-size", "16", "--steps-per-epoch", "40", "--epochs", "2",
              "--val-fraction", "0.01", "--samples", "3", "--quiet"]


def _hello(tmp_path, model, *extra, name="run"):
    return train.main(["--dataset", "hello", "--model", model, "--out", str(tmp_path / name),
                       "--quiet", *extra])


@pytest.fixture(scope="module")
def words_run(tmp_path_factory):
    """One trained tiny char-GRU on the word list, shared by the sampling tests."""
    if not _have_words():
        pytest.skip("the word list is not installed: apt-get install wamerican")
    out = tmp_path_factory.mktemp("words")
    return train.main(TINY_WORDS + ["--model", "char-gru", "--out", str(out)])


@pytest.mark.parametrize("model", MODELS)
def test_hello_continues_hell_with_o(tmp_path, model):
    result = _hello(tmp_path, model, "--epochs", "1")
    assert result["config"]["context"] == 4 and result["vocab"].chars == "ehlo"
    assert result["completion"] == "hello"  # greedy from "h": "hell" is followed by "o"
    m, vocab = result["model"], result["vocab"]
    logits, _ = m(ad.tensor(vocab.encode("hell")[None]))
    assert vocab.decode([int(logits[0, -1].argmax())]) == "o"
    assert result["val_loss"] < 0.1 < result["baselines"]["bigram"] < math.log(4)
    assert result["samples"].count("hello") >= 3  # sampled at temperature 1


def test_char_rnn_learns_hello_within_30_steps(tmp_path):
    result = _hello(tmp_path, "char-rnn", "--epochs", "1", "--steps-per-epoch", "30")
    assert result["completion"] == "hello", result["history"]


@requires_words
@pytest.mark.parametrize("model", MODELS)
def test_words_tiny_run_beats_uniform(tmp_path, model):
    extra = ["--layers", "1", "--heads", "2"] if model == "char-transformer" else []
    result = train.main(TINY_WORDS + ["--model", model, "--out", str(tmp_path), *extra])
    (first, last), V = result["history"], len(result["vocab"])
    assert V == 27 and result["baselines"]["uniform"] == pytest.approx(math.log(27))
    assert last["val_loss"] < first["val_loss"] < math.log(V)
    assert last["val_loss"] == result["val_loss"]
    assert 2.0 < result["baselines"]["bigram"] < math.log(V)
    assert len(result["samples"]) == 3 and all("\n" not in s for s in result["samples"])
    ckpt = load(result["checkpoint"])
    assert ckpt["config"]["vocab"] == "\nabcdefghijklmnopqrstuvwxyz" and ckpt["epoch"] == 2
    assert set(ckpt) >= {"model", "optimizer", "rng", "history"}


def test_fortunes_tiny_run_and_its_samples(tmp_path, capsys):
    try:
        datasets.load_fortunes()
    except datasets.DatasetUnavailableError:
        pytest.skip("the fortunes corpus is not installed: apt-get install fortunes")
    result = train.main(["--dataset", "fortunes", "--model", "char-rnn", "--hidden", "32",
                         "--context", "16", "--steps-per-epoch", "30", "--epochs", "1",
                         "--val-fraction", "0.001", "--samples", "2", "--quiet", "--out",
                         str(tmp_path)])
    V = len(result["vocab"])
    assert V > 90 and result["val_loss"] < math.log(V)
    assert "%" not in "".join(result["samples"])  # "%" ends an entry
    capsys.readouterr()  # (the training summary)
    samples = sample.main([result["checkpoint"], "--n", "2", "--max-chars", "30"])
    assert capsys.readouterr().out == "".join(s + "\n%\n" for s in samples)
    assert all(len(s) <= 30 for s in samples)


def test_resume_continues_exactly(tmp_path):
    # dropout draws (two layers), the window draws and Adam's state must survive the checkpoint
    opts = ["--layers", "2", "--dropout", "0.2", "--steps-per-epoch", "5", "--hidden", "8"]
    straight = _hello(tmp_path, "char-lstm", "--epochs", "3", *opts, name="straight")
    first = _hello(tmp_path, "char-lstm", "--epochs", "1", *opts, name="resumed")
    resumed = train.main(["--resume", first["checkpoint"], "--epochs", "3", "--quiet"])
    assert resumed["start_epoch"] == 1 and resumed["history"] == straight["history"]
    a, b = straight["model"].state_dict(), resumed["model"].state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].data, b[k].data, err_msg=k)
    assert load(resumed["checkpoint"])["epoch"] == 3
    with pytest.raises(SystemExit, match=r"--hidden \[16\] differs from the checkpoint's \[8\]"):
        train.main(["--resume", first["checkpoint"], "--hidden", "16", "--quiet"])


def test_progress_summary_and_graph(tmp_path, capsys):
    result = train.main(["--dataset", "hello", "--model", "char-gru", "--samples", "2",
                         "--graph", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert "epoch 1/2 loss" in err and "val loss" in err and "nats/char" in err
    assert "uniform ln 4 = 1.3863, bigram" in out and "greedy continuation of 'h': 'hello'" in out
    assert "samples (temperature 1, seed 0):\n  hello\n  hello\n" in out
    if importlib.util.find_spec("autodiff.viz") is None:
        assert result["graph"] is None  # skipped with a one-line note
    else:  # the loss of one 4-character sequence
        assert result["graph"].endswith(("graph.svg", "graph.dot"))
        assert os.path.getsize(result["graph"]) > 0


def test_eval_windows_score_every_target_once():
    for n, context in [(4, 4), (100, 16), (101, 16), (37, 5), (17, 16)]:
        starts, firsts = train_text.eval_windows(n, context)
        scored = np.concatenate([np.arange(s + f, s + min(context, n)) for s, f in
                                 zip(starts, firsts)])
        np.testing.assert_array_equal(scored, np.arange(n))
        history = np.concatenate([np.arange(f, min(context, n)) for f in firsts[1:]] or [[0]])
        assert history.min() >= min(context // 2, n) or len(starts) == 1


def test_evaluate_is_the_mean_nll_per_character():
    # a model whose logits ignore the input: the loss is the cross-entropy of a fixed distribution
    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(ad.tensor([0.0, 1.0, 2.0]))

        def forward(self, ids, state=None):
            return self.bias.expand(*ids.shape, 3), None

    ids = np.array([0, 1, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0, 1])
    logp = np.array([0.0, 1.0, 2.0]) - np.log(np.exp([0.0, 1.0, 2.0]).sum())
    expected = -logp[ids[1:]].mean()
    for context in (3, 4, 12, 20):
        assert train_text.evaluate(Fixed(), ids, context) == pytest.approx(expected, rel=1e-6)


def test_sampling_is_seeded(words_run):
    m, vocab = words_run["model"], words_run["vocab"]
    a = train_text.sample_texts(m, vocab, "words", 8, seed=3)
    assert a == train_text.sample_texts(m, vocab, "words", 8, seed=3)
    assert a != train_text.sample_texts(m, vocab, "words", 8, seed=4)
    assert all(s and set(s) <= set("abcdefghijklmnopqrstuvwxyz") for s in a)
    g1, g2 = ad.Generator(5), ad.Generator(5)
    assert (charlm.generate(m, vocab, 20, start="\n", generator=g1)
            == charlm.generate(m, vocab, 20, start="\n", generator=g2))


def test_temperature_sharpens_and_flattens(words_run):
    m, vocab = words_run["model"], words_run["vocab"]
    greedy = charlm.generate(m, vocab, 12, prompt="s", greedy=True)
    cold = {charlm.generate(m, vocab, 12, prompt="s", temperature=1e-4,
                            generator=ad.Generator(i)) for i in range(4)}
    assert cold == {greedy}
    hot = "".join(charlm.generate(m, vocab, 30, prompt="s", temperature=100.0,
                                  generator=ad.Generator(i)) for i in range(4))
    assert len(set(hot)) > 15  # close to uniform over 27 characters
    # the stop character ends a sample and is not part of it; prompt is kept
    words = train_text.sample_texts(m, vocab, "words", 5, prompt="qu", temperature=0.5)
    assert all(w.startswith("qu") and "\n" not in w and len(w) <= 42 for w in words)


def test_generate_errors(words_run):
    m, vocab = words_run["model"], words_run["vocab"]
    for t in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
            charlm.generate(m, vocab, 5, prompt="a", temperature=t)
    with pytest.raises(ValueError, match="at least one character"):
        charlm.generate(m, vocab, 5)
    with pytest.raises(ValueError, match="stop character '%' is not in the vocabulary"):
        charlm.generate(m, vocab, 5, prompt="a", stop="%")
    with pytest.raises(ValueError, match="n_chars"):
        charlm.generate(m, vocab, -1, prompt="a")
    with pytest.raises(ValueError):  # the vocabulary names the unknown character
        charlm.generate(m, vocab, 5, prompt="A")


def test_transformer_context_and_shapes():
    ad.manual_seed(0)
    model = charlm.CharTransformer(5, context=6, d_model=8, nhead=2, num_layers=1,
                                   dim_feedforward=16)
    logits, state = model(ad.randint(0, 5, (2, 6)))
    assert logits.shape == (2, 6, 5) and state is None
    with pytest.raises(ValueError, match="7 characters exceed the maximum context 6"):
        model(ad.randint(0, 5, (2, 7)))
    with pytest.raises(ValueError, match=r"shape \(batch, time\)"):
        model(ad.randint(0, 5, (6,)))
    # causal: a change at position 3 leaves the logits of positions 0-2 unchanged
    ids = ad.randint(0, 5, (1, 6))
    other = ids.clone()
    other[0, 3] = (int(ids[0, 3]) + 1) % 5
    a, b = model(ids)[0].data, model(other)[0].data
    np.testing.assert_allclose(a[0, :3], b[0, :3], atol=1e-6)
    assert not np.allclose(a[0, 3:], b[0, 3:])
    # generate re-reads only the last `context` characters, so it can run past the context
    text = charlm.generate(model, CharVocab("abcde"), 10, prompt="abcdeab",
                           generator=ad.Generator(0))
    assert len(text) == 17 and text.startswith("abcdeab")


def test_recurrent_state_carries_across_calls():
    ad.manual_seed(0)
    for cls in (charlm.CharRNN, charlm.CharLSTM, charlm.CharGRU):
        model = cls(5, 4, 6)
        ids = ad.randint(0, 5, (2, 7))
        whole, _ = model(ids)
        first, state = model(ids[:, :3])
        rest, _ = model(ids[:, 3:], state)
        np.testing.assert_allclose(whole.data[:, 3:], rest.data, atol=1e-6)
        assert repr(model).startswith(cls.__name__ + "(\n  (embedding): Embedding(5, 4)")


def test_sample_cli(words_run, capsys):
    path = words_run["checkpoint"]
    samples = sample.main([path, "--n", "4", "--temperature", "0.8", "--seed", "0"])
    out = capsys.readouterr().out
    assert out == "".join(s + "\n" for s in samples) and len(samples) == 4
    assert samples == sample.main([path, "--n", "4", "--temperature", "0.8", "--seed", "0"])
    assert samples == train_text.sample_texts(words_run["model"], words_run["vocab"], "words",
                                              4, temperature=0.8, seed=0)
    capsys.readouterr()
    short = sample.main([path, "--n", "3", "--prompt", "z", "--max-chars", "2"])
    assert all(s.startswith("z") and len(s) <= 3 for s in short)


def test_sample_cli_hello(tmp_path, capsys):
    result = _hello(tmp_path, "char-lstm", "--epochs", "1")
    capsys.readouterr()  # (the training summary)
    assert sample.main([result["checkpoint"], "--n", "2", "--greedy"]) == ["hello", "hello"]
    assert capsys.readouterr().out == "hello\nhello\n"
    proc = subprocess.run([sys.executable, "-m", "nn.sample", result["checkpoint"], "--n", "1",
                           "--prompt", "he"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout == "hello\n", proc.stderr


def test_sample_cli_errors(tmp_path, capsys):
    with pytest.raises(SystemExit, match=r"cannot read the checkpoint: .*nope\.npz"):
        sample.main([str(tmp_path / "nope.npz")])
    image = train.main(["--dataset", "moons", "--hidden", "4", "--epochs", "1", "--quiet",
                        "--out", str(tmp_path / "moons")])
    with pytest.raises(SystemExit, match="holds a mlp trained on moons, not a character model"):
        sample.main([image["checkpoint"]])
    nn.save({"w": np.ones(2)}, tmp_path / "x.safetensors")
    with pytest.raises(SystemExit, match="not a training checkpoint"):
        sample.main([str(tmp_path / "x.safetensors")])
    hello = _hello(tmp_path, "char-rnn", "--epochs", "1", "--steps-per-epoch", "2")
    capsys.readouterr()
    for t in ("0", "-1", "nan"):
        with pytest.raises(SystemExit) as exc:
            sample.main([hello["checkpoint"], "--temperature", t])
        assert exc.value.code == 2
        assert f"argument --temperature: expected a number > 0, got '{t}'" in \
            capsys.readouterr().err
    with pytest.raises(SystemExit, match="characters the model never saw: 'x'"):
        sample.main([hello["checkpoint"], "--prompt", "hex"])
    with pytest.raises(SystemExit):
        sample.main([])
    assert "CHECKPOINT" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "words", "--model", "mlp"], "the text datasets .* take the character models"),
    (["--dataset", "digits", "--model", "char-lstm"], "does not train on --dataset digits"),
    (["--dataset", "moons", "--context", "8"], "--context applies to text"),
    (["--model", "cnn", "--samples", "2"], "--samples applies to text"),
    (["--dataset", "hello", "--batchnorm"], "--batchnorm applies to image/tabular"),
    (["--model", "char-rnn", "--dataset", "hello", "--hidden", "8,8"], "one --hidden width"),
    (["--dataset", "hello", "--context", "5"], "--context 5 needs at least 6 training"),
    (["--model", "char-transformer", "--embed", "6", "--heads", "4"], "choose --heads dividing"),
])
def test_bad_text_options(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message):
        train.main(argv + ["--quiet", "--out", str(tmp_path)])


def test_interrupt_points_at_the_checkpoint(tmp_path, monkeypatch, capsys):
    real, calls = train_text.train_epoch, []

    def interrupted_second_epoch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(train_text, "train_epoch", interrupted_second_epoch)
    with pytest.raises(SystemExit) as exc:
        _hello(tmp_path, "char-rnn", "--epochs", "3", "--steps-per-epoch", "2")
    path = tmp_path / "run" / "checkpoint.safetensors"
    assert exc.value.code == 130
    assert capsys.readouterr().err == (f"nn.train: interrupted while training epoch 2; {path} "
                                       f"holds epoch 1: continue with python -m nn.train "
                                       f"--resume {path}\n")
    assert load(path)["epoch"] == 1
    resumed = train.main(["--resume", str(path), "--quiet"])
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]


def test_text_defaults_follow_the_dataset_or_model(tmp_path):
    config, _, is_text = train._config(train.build_parser().parse_args(["--dataset", "words"]))
    assert is_text and config["model"] == "char-lstm" and config["lr"] == 1e-2
    config, _, is_text = train._config(train.build_parser().parse_args(
        ["--model", "char-transformer", "--optimizer", "sgd"]))
    assert is_text and config["dataset"] == "words" and config["lr"] == 0.1
    assert (config["embed"], config["layers"], config["hidden"]) == (64, 2, [256])
    config, _, is_text = train._config(train.build_parser().parse_args([]))
    assert not is_text and config["dataset"] == "digits"


def test_missing_word_list_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(text_data, "WORDS_PATHS", (tmp_path / "american-english",))
    with pytest.raises(SystemExit, match=r"(?s)dataset 'words' is not available: .*wamerican"):
        train.main(["--dataset", "words", "--quiet", "--out", str(tmp_path)])


def test_help_lists_the_text_models():
    out = train.build_parser().format_help()
    for name in MODELS + ["hello", "words", "fortunes", "--steps-per-epoch", "--context"]:
        assert name in out


def test_text_run_directory_curves_and_quiet_summary(tmp_path, capsys):
    result = _hello(tmp_path, "char-rnn", "--epochs", "2", "--steps-per-epoch", "3",
                    "--samples", "1")
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("done: hello/char-rnn, epochs 1-2 in ")
    assert f"checkpoint: {tmp_path / 'run' / 'checkpoint.safetensors'}" in out
    assert out.endswith("samples (temperature 1, seed 0):\n  " + result["samples"][0] + "\n")
    header, *rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert header == "epoch,train_loss,val_loss,lr,seconds" and len(rows) == 2
    assert [float(v) for v in rows[1].split(",")[1:4]] == [
        result["history"][1]["loss"], result["val_loss"], 0.03]
    if importlib.util.find_spec("matplotlib") is not None:
        assert result["curves"] == str(tmp_path / "run" / "curves.png")
    done = train.main(["--resume", result["checkpoint"], "--quiet"])
    assert capsys.readouterr().out == (f"nothing to do: {result['checkpoint']} is already at "
                                       f"epoch 2 of 2\n")
    assert done["history"] == result["history"]
