"""The CLIs never end in a traceback: every bad option value is a usage error (exit code 2) that
states the allowed range, unusable --out and empty splits are refused before training, and
Ctrl-C anywhere (data loading, training, evaluation, saving) exits with code 130 and one line
naming the last consistent checkpoint and the --resume command; that checkpoint loads and
resumes."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import evaluate, sample, train, train_text
from nn.serialization import load

REPO = Path(nn.__file__).resolve().parent.parent
TINY = ["--dataset", "moons", "--hidden", "8", "--batch-size", "100", "--quiet"]
HELLO = ["--dataset", "hello", "--model", "char-rnn", "--steps-per-epoch", "3", "--quiet"]


@pytest.fixture(autouse=True)
def _no_curves(request, monkeypatch):
    """Rendering curves.png takes ~0.2 s a run: only the tests named for it draw the file."""
    if "curves" not in request.node.name:
        monkeypatch.setattr(train, "write_curves", lambda history, path, text=False: path)


def _usage_error(capsys, main, argv):
    """(exit code, stderr) of main(argv), which must raise SystemExit."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


# --- one test per bad value: argparse-level, exit code 2, the allowed range in the message ----

BAD_TRAIN = [
    ("--seed", "-1", "expected an integer >= 0, got '-1'"),
    ("--seed", "1.5", "expected an integer >= 0, got '1.5'"),
    ("--hidden", "-5", "expected comma-separated positive layer widths"),
    ("--hidden", "16,0", "expected comma-separated positive layer widths"),
    ("--activation", "bogus", "unknown activation 'bogus'; choose one of elu, gelu, identity, "
                              "leaky_relu, linear, prelu, relu, sigmoid, silu, softplus, tanh"),
    ("--dropout", "1.5", "expected a number in [0, 1), got '1.5'"),
    ("--dropout", "1", "expected a number in [0, 1), got '1'"),
    ("--dropout", "-0.1", "expected a number in [0, 1), got '-0.1'"),
    ("--lr", "-1", "expected a number > 0, got '-1'"),
    ("--lr", "0", "expected a number > 0, got '0'"),
    ("--lr", "nan", "expected a number > 0, got 'nan'"),
    ("--weight-decay", "-1", "expected a number >= 0, got '-1'"),
    ("--weight-decay", "inf", "expected a number >= 0, got 'inf'"),
    ("--val-fraction", "0", "expected a number in (0, 1), got '0'"),
    ("--val-fraction", "1", "expected a number in (0, 1), got '1'"),
    ("--batch-size", "0", "expected an integer >= 1, got '0'"),
    ("--epochs", "0", "expected an integer >= 1, got '0'"),
    ("--epochs", "-3", "expected an integer >= 1, got '-3'"),
    ("--clip", "-1", "expected a number >= 0, got '-1'"),
    ("--temperature", "0", "expected a number > 0, got '0'"),
    ("--temperature", "-2", "expected a number > 0, got '-2'"),
    ("--samples", "-1", "expected an integer >= 0, got '-1'"),
    ("--context", "0", "expected an integer >= 1, got '0'"),
    ("--embed", "0", "expected an integer >= 1, got '0'"),
    ("--layers", "0", "expected an integer >= 1, got '0'"),
    ("--heads", "0", "expected an integer >= 1, got '0'"),
    ("--steps-per-epoch", "0", "expected an integer >= 1, got '0'"),
    ("--threads", "0", "expected an integer >= 1, got '0'"),
    ("--optimizer", "adamax", "invalid choice: 'adamax'"),
    ("--dataset", "cifar", "invalid choice: 'cifar'"),
]


@pytest.mark.parametrize("option, value, message", BAD_TRAIN,
                         ids=[f"{o}={v}" for o, v, _ in BAD_TRAIN])
def test_train_rejects_each_bad_value(capsys, tmp_path, option, value, message):
    code, err = _usage_error(capsys, train.main, [option, value, "--out", str(tmp_path / "o")])
    assert code == 2
    assert f"error: argument {option}: {message}" in err
    assert not (tmp_path / "o").exists()  # refused before anything ran


BAD_SAMPLE = [("--n", "-1", "expected an integer >= 0"),
              ("--seed", "-1", "expected an integer >= 0"),
              ("--max-chars", "-1", "expected an integer >= 0"),
              ("--temperature", "0", "expected a number > 0"),
              ("--temperature", "inf", "expected a number > 0")]


@pytest.mark.parametrize("option, value, message", BAD_SAMPLE,
                         ids=[f"{o}={v}" for o, v, _ in BAD_SAMPLE])
def test_sample_rejects_each_bad_value(capsys, option, value, message):
    code, err = _usage_error(capsys, sample.main, ["ckpt", option, value])
    assert code == 2 and f"error: argument {option}: {message}, got '{value}'" in err


def test_evaluate_rejects_a_bad_batch_size(capsys):
    code, err = _usage_error(capsys, evaluate.main, ["ckpt", "--batch-size", "0"])
    assert code == 2 and "argument --batch-size: expected an integer >= 1, got '0'" in err


def test_a_bad_value_in_a_real_process_is_two_lines_without_traceback():
    done = subprocess.run([sys.executable, "-m", "nn.train", "--seed", "-1"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == ("python -m nn.train: error: argument --seed: "
                                            "expected an integer >= 0, got '-1'")


# --- --out, empty splits, impossible model shapes: refused before training, with the fix ------

def test_out_is_an_existing_file(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    with pytest.raises(SystemExit, match=r"--out .*f is an existing file, not a directory"):
        train.main(TINY + ["--out", str(blocker)])
    assert blocker.read_text() == "x"


def test_out_below_a_file_cannot_be_created(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SystemExit, match=r"--out .*f/run cannot be written \(Not a directory\); "
                                         r"choose a directory you can write to"):
        train.main(TINY + ["--out", str(tmp_path / "f" / "run")])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="directory permissions do not stop root")
def test_out_in_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(SystemExit, match=r"--out .*locked.* cannot be written"):
            train.main(TINY + ["--out", str(locked / "run")])
    finally:
        locked.chmod(0o700)


def test_out_checked_for_writability_before_training(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train.tempfile, "mkstemp", fail)
    monkeypatch.setattr(train, "train_epoch", lambda *a: pytest.fail("trained"))
    with pytest.raises(SystemExit, match=r"cannot be written \(Permission denied\)"):
        train.main(TINY + ["--out", str(tmp_path / "run")])


def test_a_split_without_training_examples_is_refused(tmp_path):
    with pytest.raises(SystemExit, match=r"--val-fraction 0.9999 splits the 1000 moons examples "
                                         r"into 0 training and 1000 validation examples; .* "
                                         r"choose --val-fraction in \(0, 0.999\]"):
        train.main(TINY + ["--val-fraction", "0.9999", "--out", str(tmp_path)])
    assert not (tmp_path / train.CHECKPOINT).exists()


def test_a_text_split_without_validation_characters_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(train_text.datasets, "load_fortunes", lambda: "a fortune\n%\n" * 20)
    with pytest.raises(SystemExit, match=r"--val-fraction 0.001 leaves 1 validation characters "
                                         r"of fortunes \(239 training\); validation needs at "
                                         r"least 2: raise --val-fraction"):
        train.main(["--dataset", "fortunes", "--model", "char-rnn", "--val-fraction", "0.001",
                    "--quiet", "--out", str(tmp_path)])


def test_eval_only_needs_a_checkpoint_and_nothing_else(tmp_path):
    with pytest.raises(SystemExit, match="--eval-only evaluates the checkpoint given with "
                                         "--resume"):
        train.main(["--eval-only"])
    with pytest.raises(SystemExit, match="drop --hidden"):
        train.main(["--eval-only", "--resume", "x", "--hidden", "8"])


# --- Ctrl-C: exit code 130, one line, a checkpoint that loads and resumes ---------------------

def _interrupt_on_call(monkeypatch, owner, name, call, action=None):
    """Make owner.name raise KeyboardInterrupt (or run action) on its call-th call."""
    real, calls = getattr(owner, name), []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            if action is None:
                raise KeyboardInterrupt
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def _interrupted(capsys, argv):
    """The one stderr line of an interrupted in-process run (its exit code must be 130)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        train.main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 130
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err.rstrip("\n")


def _continue(path, epochs):
    """Resume path as the message says, up to epochs; -> the result."""
    result = train.main(["--resume", str(path), "--epochs", str(epochs), "--quiet"])
    assert [h["epoch"] for h in result["history"]] == list(range(1, epochs + 1))
    return result


def test_ctrl_c_while_loading_the_data(tmp_path, monkeypatch, capsys):
    def interrupted(seed):
        raise KeyboardInterrupt

    monkeypatch.setitem(train.DATASETS, "moons", interrupted)
    err = _interrupted(capsys, TINY + ["--out", str(tmp_path)])
    assert err == ("nn.train: interrupted while loading the data; no checkpoint was written yet: "
                   "run the same command to start over")


def test_ctrl_c_while_training_then_resume(tmp_path, monkeypatch, capsys):
    _interrupt_on_call(monkeypatch, train, "train_epoch", 3)
    err = _interrupted(capsys, TINY + ["--epochs", "4", "--out", str(tmp_path)])
    path = tmp_path / train.CHECKPOINT
    assert err == (f"nn.train: interrupted while training epoch 3; {path} holds epoch 2: "
                   f"continue with python -m nn.train --resume {path}")
    assert load(path)["epoch"] == 2
    monkeypatch.undo()
    straight = train.main(TINY + ["--epochs", "4", "--out", str(tmp_path / "straight")])
    assert _continue(path, 4)["history"] == straight["history"]


def test_ctrl_c_while_evaluating(tmp_path, monkeypatch, capsys):
    _interrupt_on_call(monkeypatch, train, "evaluate", 2)
    err = _interrupted(capsys, TINY + ["--epochs", "3", "--out", str(tmp_path)])
    path = tmp_path / train.CHECKPOINT
    assert err == (f"nn.train: interrupted while evaluating epoch 2; {path} holds epoch 1: "
                   f"continue with python -m nn.train --resume {path}")
    monkeypatch.undo()
    _continue(path, 3)


def test_ctrl_c_while_saving_is_held_until_the_checkpoint_is_written(tmp_path, monkeypatch,
                                                                     capsys):
    # a real SIGINT arrives as the second save starts: the save completes, then the run stops
    _interrupt_on_call(monkeypatch, train, "save", 2,
                       action=lambda: os.kill(os.getpid(), signal.SIGINT))
    err = _interrupted(capsys, TINY + ["--epochs", "3", "--out", str(tmp_path)])
    path = tmp_path / train.CHECKPOINT
    assert err == (f"nn.train: interrupted while saving epoch 2; {path} holds epoch 2: "
                   f"continue with python -m nn.train --resume {path}")
    assert load(path)["epoch"] == 2
    rows = (tmp_path / train.METRICS).read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["epoch", "1", "2"]  # written with the checkpoint
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    monkeypatch.undo()
    _continue(path, 3)


def test_ctrl_c_failing_a_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch, capsys):
    _interrupt_on_call(monkeypatch, train, "save", 2)  # raised inside, before the write
    err = _interrupted(capsys, TINY + ["--epochs", "3", "--out", str(tmp_path)])
    assert err.startswith("nn.train: interrupted while saving epoch 2; ") and \
        err.endswith("holds epoch 1: continue with python -m nn.train --resume "
                     f"{tmp_path / train.CHECKPOINT}")
    assert load(tmp_path / train.CHECKPOINT)["epoch"] == 1
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f or ".part" in f]


def test_ctrl_c_after_a_resume_names_the_epochs_to_add(tmp_path, monkeypatch, capsys):
    first = train.main(TINY + ["--epochs", "1", "--out", str(tmp_path)])
    _interrupt_on_call(monkeypatch, train, "train_epoch", 1)
    err = _interrupted(capsys, ["--resume", first["checkpoint"], "--epochs", "3"])
    assert err == (f"nn.train: interrupted while training epoch 2; {first['checkpoint']} holds "
                   f"epoch 1: continue with python -m nn.train --resume {first['checkpoint']} "
                   f"--epochs 3")


def test_ctrl_c_in_the_final_test_evaluation(tmp_path, monkeypatch, capsys):
    X, y = ad.randn(60, 3, generator=ad.Generator(0)), ad.randint(0, 2, (60,))
    monkeypatch.setitem(train.DATASETS, "moons", lambda seed: (X, y, 2, (X[:10], y[:10])))
    _interrupt_on_call(monkeypatch, train, "evaluate", 3)  # val 1, val 2, then the test set
    err = _interrupted(capsys, TINY + ["--epochs", "2", "--out", str(tmp_path)])
    path = tmp_path / train.CHECKPOINT
    assert err == (f"nn.train: interrupted while evaluating the test set; {path} holds the "
                   f"finished run (epoch 2 of 2): evaluate it with python -m nn.evaluate {path}")


def test_ctrl_c_in_a_text_run(tmp_path, monkeypatch, capsys):
    _interrupt_on_call(monkeypatch, train_text, "evaluate", 2)
    err = _interrupted(capsys, HELLO + ["--epochs", "3", "--out", str(tmp_path)])
    path = tmp_path / train.CHECKPOINT
    assert err == (f"nn.train: interrupted while evaluating epoch 2; {path} holds epoch 1: "
                   f"continue with python -m nn.train --resume {path}")
    monkeypatch.undo()
    _continue(path, 3)


def test_ctrl_c_in_evaluate_and_sample(tmp_path, monkeypatch, capsys):
    run = train.main(HELLO + ["--epochs", "1", "--out", str(tmp_path)])
    before = Path(run["checkpoint"]).read_bytes()
    monkeypatch.setattr(train_text, "evaluate", lambda *a, **k: (_ for _ in ()).throw(
        KeyboardInterrupt))
    monkeypatch.setattr(train_text, "sample_texts", lambda *a, **k: (_ for _ in ()).throw(
        KeyboardInterrupt))
    for main, prog in ((evaluate.main, "nn.evaluate"), (sample.main, "nn.sample")):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main([run["checkpoint"]])
        err = capsys.readouterr().err
        assert exc.value.code == 130 and err.startswith(f"{prog}: interrupted")
        assert err.count("\n") == 1 and "nothing was written" in err
    assert Path(run["checkpoint"]).read_bytes() == before


def test_real_sigint_to_a_training_process(tmp_path):
    """One real Ctrl-C (SIGINT) at whatever point the run has reached."""
    out = tmp_path / "run"
    path = out / train.CHECKPOINT
    proc = subprocess.Popen([sys.executable, "-m", "nn.train", *TINY, "--batch-size", "16",
                             "--epochs", "100000", "--out", str(out)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not path.exists():
            assert proc.poll() is None, proc.communicate(timeout=10)
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.05)
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130, stderr
    assert stdout == "" and "Traceback" not in stderr and len(stderr.splitlines()) == 1, stderr
    m = re.fullmatch(r"nn\.train: interrupted while (training|evaluating|saving) epoch (\d+); "
                     r"(\S+) holds epoch (\d+): continue with python -m nn\.train --resume "
                     r"(\S+)\n", stderr)
    assert m and m[3] == m[5] == str(path), stderr
    held = int(m[4])
    assert held >= 1 and load(path)["epoch"] == held
    _continue(path, held + 1)


# --- an older checkpoint.npz resumes (nn.load reads the version-1 format) ---------------------

def _v1_node(obj, arrays):
    """obj as the version-1 manifest node, its arrays collected as a0, a1, ..."""
    def array(a):
        arrays[f"a{len(arrays)}"] = np.asarray(a)
        return f"a{len(arrays) - 1}"
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else {"$float": repr(obj)}
    if isinstance(obj, ad.Tensor):
        return {"$tensor": array(obj.data), "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        return {"$ndarray": array(obj)}
    if isinstance(obj, np.generic):
        return {"$scalar": array(obj)}
    if isinstance(obj, tuple):
        return {"$tuple": [_v1_node(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_v1_node(v, arrays) for v in obj]
    return {"$dict": [[_v1_node(k, arrays), _v1_node(v, arrays)] for k, v in obj.items()],
            "ordered": False}


def test_resume_from_an_old_npz_checkpoint(tmp_path):
    first = train.main(TINY + ["--epochs", "1", "--out", str(tmp_path / "new")])
    arrays = {}
    root = _v1_node(load(first["checkpoint"]), arrays)
    manifest = json.dumps({"format": "autodiff-nn", "version": 1, "root": root}).encode()
    old = tmp_path / "old" / "checkpoint.npz"
    old.parent.mkdir()
    np.savez(old, __manifest__=np.frombuffer(manifest, np.uint8), **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # (nn.load's note on the old format)
        resumed = train.main(["--resume", str(old), "--epochs", "2", "--quiet"])
    straight = train.main(TINY + ["--epochs", "2", "--out", str(tmp_path / "straight")])
    assert resumed["history"] == straight["history"]
    assert resumed["checkpoint"] == str(tmp_path / "old" / train.CHECKPOINT)
    assert load(resumed["checkpoint"])["epoch"] == 2

