"""python -m nn.train, in-process: runs, checkpoints, resumes exactly, reaches 97% on digits."""
import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import nn
from nn import train
from nn.serialization import load

from _optional import requires_digits

TINY = ["--dataset", "moons", "--hidden", "16,16", "--batch-size", "64", "--quiet"]


@pytest.fixture(autouse=True)
def _no_curves(request, monkeypatch):
    """Rendering curves.png takes ~0.2 s a run: only the tests named for it draw the file."""
    if "curves" not in request.node.name:
        monkeypatch.setattr(train, "write_curves", lambda history, path, text=False: path)


def _run(tmp_path, *extra, name="run"):
    return train.main(TINY + ["--out", str(tmp_path / name)] + list(extra))


def test_runs_and_writes_a_checkpoint(tmp_path):
    result = _run(tmp_path, "--epochs", "2")
    ckpt_path = result["checkpoint"]
    assert ckpt_path == str(tmp_path / "run" / "checkpoint.safetensors")
    assert os.path.isfile(ckpt_path)
    assert [h["epoch"] for h in result["history"]] == [1, 2]
    assert 0.5 < result["final_val_acc"] <= 1.0
    assert result["best_val_acc"] >= result["final_val_acc"]
    ckpt = load(ckpt_path)
    assert ckpt["epoch"] == 2 and ckpt["config"]["hidden"] == [16, 16]
    assert set(ckpt) >= {"model", "optimizer", "rng", "history", "best_val_acc", "normalization"}
    assert list(ckpt["model"]) == list(result["model"].state_dict())
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == 1e-3
    assert not [f for f in os.listdir(tmp_path / "run") if f.endswith(".tmp")]


def test_resume_continues_exactly(tmp_path):
    # dropout draws, batch-norm buffers and momentum state must all survive the checkpoint
    opts = ["--dropout", "0.2", "--batchnorm", "--optimizer", "nesterov"]
    straight = _run(tmp_path, "--epochs", "3", *opts, name="straight")
    first = _run(tmp_path, "--epochs", "1", *opts, name="resumed")
    resumed = train.main(["--resume", first["checkpoint"], "--epochs", "3", "--quiet"])
    assert resumed["start_epoch"] == 1 and resumed["out"] == str(tmp_path / "resumed")
    assert resumed["history"] == straight["history"]
    a, b = straight["model"].state_dict(), resumed["model"].state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].data, b[k].data, err_msg=k)
    assert load(resumed["checkpoint"])["epoch"] == 3


def test_resume_keeps_the_configuration(tmp_path):
    first = _run(tmp_path, "--epochs", "1")
    with pytest.raises(SystemExit, match="--hidden"):
        train.main(["--resume", first["checkpoint"], "--hidden", "8", "--quiet"])
    done = train.main(["--resume", first["checkpoint"], "--epochs", "1", "--quiet"])
    assert done["history"] == first["history"] and done["checkpoint"] == first["checkpoint"]


def test_resume_from_a_foreign_file(tmp_path):
    nn.save({"w": np.ones(2)}, tmp_path / "x.safetensors")
    with pytest.raises(SystemExit, match="not a training checkpoint"):
        train.main(["--resume", str(tmp_path / "x.safetensors"), "--quiet"])


@pytest.mark.parametrize("name", sorted(train.OPTIMIZERS))
def test_every_optimizer_choice_trains(tmp_path, name):
    result = _run(tmp_path, "--epochs", "3", "--optimizer", name)
    assert result["history"][-1]["loss"] < result["history"][0]["loss"] * 1.05
    assert np.isfinite(result["history"][-1]["loss"])


def test_progress_and_summary_output(tmp_path, capsys):
    train.main(["--dataset", "circles", "--epochs", "2", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert "epoch 1/2 loss" in err and "val loss" in err and "\r" not in err  # not a TTY
    assert "best val acc" in out and "checkpoint:" in out and "circles: 800 train / 200 val" in out


def test_graph_option(tmp_path):
    result = _run(tmp_path, "--epochs", "1", "--graph")
    if importlib.util.find_spec("autodiff.viz") is None:
        assert result["graph"] is None  # skipped with a one-line note
    else:
        assert result["graph"].endswith(("graph.svg", "graph.dot"))
        assert os.path.getsize(result["graph"]) > 0


def test_register_model(tmp_path):
    def linear(in_shape, n_classes, config):
        return nn.Linear(int(np.prod(in_shape)), n_classes)

    train.register_model("softmax", linear)
    try:
        result = _run(tmp_path, "--epochs", "1", "--model", "softmax")
        assert len(list(result["model"].parameters())) == 2
    finally:
        del train.MODELS["softmax"]


def test_threads_option_sets_blas_threads_and_gives_the_same_run(tmp_path):
    pytest.importorskip("threadpoolctl")
    import autodiff as ad
    before = ad.get_num_threads()
    try:
        one = _run(tmp_path, "--epochs", "1", "--threads", "1", name="one")
        assert ad.get_num_threads() == 1
        ad.set_num_threads(2)
        two = _run(tmp_path, "--epochs", "1", "--threads", "2", name="two")
        assert ad.get_num_threads() == 2
    finally:
        ad.set_num_threads(before)
    assert one["history"][0]["loss"] == pytest.approx(two["history"][0]["loss"], rel=1e-5)


@pytest.mark.parametrize("argv", [["--val-fraction", "1.5"], ["--dataset", "cifar"],
                                  ["--hidden", "a,b"], ["--epochs", "0"], ["--threads", "0"],
                                  ["--threads", "two"]])
def test_bad_options(argv, capsys):
    with pytest.raises(SystemExit):
        train.main(argv)
    assert "error" in capsys.readouterr().err


@requires_digits  # the default dataset
def test_default_run_reaches_97_percent(tmp_path):
    """The no-argument run (digits, MLP 128, Adam, 30 epochs); ~2 s. Deselect with
    -k 'not default_run'."""
    result = train.main(["--out", str(tmp_path), "--quiet"])
    assert result["config"]["dataset"] == "digits" and result["epochs"] == 30
    assert result["final_val_acc"] >= 0.97, result["history"][-1]
    assert result["time"] < 60


def test_module_entry_point(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nn.train", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "--resume CHECKPOINT" in proc.stdout


def test_interrupt_points_at_the_checkpoint(tmp_path, monkeypatch, capsys):
    real = train.train_epoch
    calls = []

    def interrupted_second_epoch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(train, "train_epoch", interrupted_second_epoch)
    with pytest.raises(SystemExit) as exc:
        _run(tmp_path, "--epochs", "3")
    assert exc.value.code == 130
    path = tmp_path / "run" / "checkpoint.safetensors"
    assert capsys.readouterr().err == (f"nn.train: interrupted while training epoch 2; {path} "
                                       f"holds epoch 1: continue with python -m nn.train "
                                       f"--resume {path}\n")
    assert load(path)["epoch"] == 1


def test_unreadable_resume_file(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(SystemExit, match=r"cannot resume: .*bad\.npz"):
        train.main(["--resume", str(tmp_path / "bad.npz"), "--quiet"])


# --- run directory: metrics.csv, curves.png; --quiet; progress with and without tqdm ----------

def test_metrics_csv_has_one_row_per_epoch_and_survives_a_resume(tmp_path):
    first = _run(tmp_path, "--epochs", "2")
    before = (tmp_path / "run" / "metrics.csv").read_text()
    resumed = train.main(["--resume", first["checkpoint"], "--epochs", "3", "--quiet"])
    text = (tmp_path / "run" / "metrics.csv").read_text()
    assert text.startswith(before)  # the resumed run continues the same file
    header, *rows = [line.split(",") for line in text.splitlines()]
    assert header == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]
    assert len(rows) == 3
    for row, h in zip(rows, resumed["history"]):
        assert int(row[0]) == h["epoch"]
        assert [float(v) for v in row[1:6]] == [h["loss"], h["acc"], h["val_loss"],
                                                h["val_acc"], 1e-3]  # full precision
        assert 0 < float(row[6]) < 60


def test_metrics_csv_of_a_text_run_and_an_old_checkpoint_without_times():
    history = [{"epoch": 1, "loss": 1.5, "val_loss": 1.25, "lr": 0.01},
               {"epoch": 2, "loss": 1.0, "val_loss": 0.5, "lr": 0.01}]
    assert train.metrics_csv(history, [2.0], train.TEXT_COLUMNS) == (
        "epoch,train_loss,val_loss,lr,seconds\n1,1.5,1.25,0.01,\n2,1.0,0.5,0.01,2.0\n")


def test_curves_png_and_the_note_without_matplotlib(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    result = train.main(TINY + ["--epochs", "2", "--out", str(tmp_path / "a")])
    assert result["curves"] == str(tmp_path / "a" / "curves.png")
    assert (tmp_path / "a" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"metrics: {tmp_path / 'a' / 'metrics.csv'}; curves: {tmp_path / 'a' / 'curves.png'}")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = train.main(TINY + ["--epochs", "1", "--out", str(tmp_path / "b")])
    assert result["curves"] is None and not (tmp_path / "b" / "curves.png").exists()
    assert capsys.readouterr().out.splitlines()[-1] == (
        "note: curves.png skipped: matplotlib is not installed (pip install 'autodiff[plots]')")


def test_quiet_prints_the_summary_only(tmp_path, capsys):
    train.main(TINY + ["--epochs", "2", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 4 and lines[0].startswith("done: moons/mlp, epochs 1-2 in ")
    assert lines[1].startswith("best val acc ") and lines[2] == (
        f"checkpoint: {tmp_path / 'checkpoint.safetensors'}")


def test_nothing_to_do_evaluates_nothing(tmp_path, capsys, monkeypatch):
    first = _run(tmp_path, "--epochs", "2")
    capsys.readouterr()
    monkeypatch.setattr(train, "evaluate", lambda *a, **k: pytest.fail("evaluated"))
    monkeypatch.setattr(train, "train_epoch", lambda *a, **k: pytest.fail("trained"))
    done = train.main(["--resume", first["checkpoint"]])
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"nothing to do: {first['checkpoint']} is already at epoch 2 of 2")
    assert done["history"] == first["history"] and "test_acc" not in done


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bars_with_tqdm_on_a_terminal(tmp_path, monkeypatch):
    pytest.importorskip("tqdm")
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    train.main(["--dataset", "moons", "--hidden", "8", "--epochs", "2", "--batch-size", "100",
                "--out", str(tmp_path)])
    text = term.getvalue()
    assert "\repoch 1/2:   0%|          | 0/8 [00:00<?, ?batch/s]" in text  # tqdm's bar
    assert "\repoch 2/2 loss" in text and "val loss" in text  # the summary lines stay
    assert "[####" not in text
    from nn import _progress
    p = _progress.Progress(stream=_Terminal())
    assert p.uses_tqdm
    p.update("epoch 1/1", 2, 3, "loss 0.5 acc 90%")
    assert p._bar.n == 2 and p._bar.postfix == "loss 0.5 acc 90%"
    p.line("epoch 1/1 done")
    assert p._bar is None and p.stream.getvalue().endswith("epoch 1/1 done\n")


def test_progress_without_tqdm_falls_back_to_the_plain_bar(tmp_path, monkeypatch):
    from nn import _progress
    monkeypatch.setattr(_progress, "_tqdm", lambda: None)
    term = _Terminal()
    p = _progress.Progress(stream=term)
    assert p.tty and not p.uses_tqdm
    for i in range(1, 4):
        p.update("epoch 1/1", i, 3, f"loss {i}")
    p.line("epoch 1/1 done")
    assert "\repoch 1/1 [####################] 3/3 loss 3" in term.getvalue()
    assert term.getvalue().endswith("epoch 1/1 done\n")
    with pytest.raises(ImportError, match=r"autodiff\[progress\]"):
        _progress.Progress(stream=term, use_tqdm=True)


def test_progress_is_off_when_not_a_terminal_or_quiet():
    from nn import _progress
    log = io.StringIO()
    p = _progress.Progress(stream=log)
    p.update("epoch 1/1", 1, 2, "loss 1")
    p.line("epoch 1/1 loss 1")
    assert log.getvalue() == "epoch 1/1 loss 1\n" and not p.uses_tqdm
    quiet = _progress.Progress(stream=_Terminal(), enabled=False)
    quiet.update("epoch 1/1", 1, 2, "loss 1")
    quiet.line("x")
    assert quiet.stream.getvalue() == ""


class _Response(io.BytesIO):
    headers = {"Content-Length": "300000"}


def test_download_progress(monkeypatch):
    from nn import _progress
    data = bytes(range(250)) * 1200
    log = io.StringIO()
    assert _progress.read_with_progress(_Response(data), "MNIST x.gz", stream=log) == data
    assert log.getvalue() == "downloading MNIST x.gz (0.3 MB) ...\n"
    if importlib.util.find_spec("tqdm") is not None:
        term = _Terminal()
        assert _progress.read_with_progress(_Response(data), "MNIST x.gz", stream=term) == data
        assert "MNIST x.gz" in term.getvalue() and "B/s" in term.getvalue()


def test_mnist_downloads_report_progress(tmp_path, monkeypatch, capsys):
    import gzip

    from nn.data.datasets import mnist
    payload = gzip.compress(b"not the pinned file")

    def urlopen(url, timeout):
        return _Response(payload)

    monkeypatch.setattr(mnist.urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(mnist, "MIRRORS", {"mnist": ["https://example.invalid/"]})
    problems = []
    mnist._from_mirrors("mnist", tmp_path, list(mnist.TRAIN_FILES), problems)
    assert "downloading MNIST train-images-idx3-ubyte.gz" in capsys.readouterr().err
    assert "SHA-256 mismatch" in problems[0]
