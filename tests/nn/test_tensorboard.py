"""nn.utils.tensorboard.SummaryWriter: events written to a temporary directory and read back by
parsing the TFRecord event file with tensorboardX's own protobuf definitions."""
import glob
import io
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad

tensorboardX = pytest.importorskip(
    "tensorboardX", reason="tensorboardX is not installed: pip install 'autodiff[tensorboard]'")
from tensorboardX.proto import event_pb2  # noqa: E402

from nn.utils.tensorboard import SummaryWriter  # noqa: E402


def read_events(log_dir):
    """Every Event in the event files under log_dir (TFRecord: u64 length, u32 crc, data, u32)."""
    events = []
    for path in sorted(glob.glob(os.path.join(log_dir, "**", "events.out.tfevents.*"),
                                 recursive=True)):
        with open(path, "rb") as f:
            blob = f.read()
        pos = 0
        while pos < len(blob):
            (n,) = struct.unpack("<Q", blob[pos:pos + 8])
            data = blob[pos + 12:pos + 12 + n]
            assert len(data) == n, f"truncated record in {path}"
            event = event_pb2.Event()
            event.ParseFromString(data)
            events.append(event)
            pos += 12 + n + 4
    return events


def values(events, tag=None):
    """(tag, step, summary value) for every summary value, optionally only `tag`'s."""
    return [(v.tag, e.step, v) for e in events if e.HasField("summary") for v in e.summary.value
            if tag is None or v.tag == tag]


def test_scalars_from_tensors_numbers_and_arrays(tmp_path):
    with SummaryWriter(tmp_path) as w:
        assert w.get_logdir() == str(tmp_path) == w.log_dir
        w.add_scalar("loss", ad.tensor(0.5), 0)
        w.add_scalar("loss", ad.tensor([0.25], dtype=ad.float64), 1)
        w.add_scalar("loss", np.float32(0.125), global_step=2)
        w.add_scalar("lr", 3, 7, walltime=1234.5)
    got = values(read_events(str(tmp_path)), "loss")
    assert [(s, round(v.simple_value, 6)) for _, s, v in got] == [(0, 0.5), (1, 0.25),
                                                                   (2, 0.125)]
    ((_, step, lr),) = values(read_events(str(tmp_path)), "lr")
    assert step == 7 and lr.simple_value == 3.0
    walltimes = [e.wall_time for e in read_events(str(tmp_path))
                 if e.HasField("summary") and e.summary.value[0].tag == "lr"]
    assert walltimes == [1234.5]


def test_add_scalars_writes_one_run_per_key(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalars("loss", {"train": ad.tensor(1.0), "val": 2.0}, 3)
    events = read_events(str(tmp_path))
    got = sorted((tag, step, v.simple_value) for tag, step, v in values(events))
    assert got == [("loss", 3, 1.0), ("loss", 3, 2.0)]
    subdirs = sorted(os.path.basename(os.path.dirname(p)) for p in
                     glob.glob(os.path.join(str(tmp_path), "*", "events.out.tfevents.*")))
    assert subdirs == ["loss_train", "loss_val"]


def test_histogram_image_text(tmp_path):
    ad.manual_seed(0)
    weights = ad.randn(100)
    img = ad.rand(3, 4, 5)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", weights, 1)
        w.add_image("img", img, 2)
        w.add_image("gray", np.zeros((4, 5), np.uint8), 2, dataformats="HW")
        w.add_images("batch", ad.rand(2, 1, 4, 5), 2)
        w.add_text("note", "hello **world**", 3)
    vals = {tag: v for tag, _, v in values(read_events(str(tmp_path)))}
    h = vals["w"].histo
    data = weights.numpy()
    assert h.num == 100 and np.isclose(h.sum, data.sum(), rtol=1e-5)
    assert np.isclose(h.min, data.min()) and np.isclose(h.max, data.max())
    assert (vals["img"].image.height, vals["img"].image.width) == (4, 5)
    assert vals["img"].image.encoded_image_string[:4] == b"\x89PNG"
    from PIL import Image          # tensorboardX's own dependency
    pixels = np.asarray(Image.open(io.BytesIO(vals["img"].image.encoded_image_string)))
    assert pixels.shape == (4, 5, 3)                      # CHW stored as HWC, floats x 255
    assert np.abs(pixels.astype(float) - img.numpy().transpose(1, 2, 0) * 255).max() <= 1
    assert (vals["gray"].image.height, vals["gray"].image.width) == (4, 5)
    assert vals["batch"].image.height == 4
    # PyTorch's (and TensorBoard's text plugin's) tag for text
    assert vals["note/text_summary"].tensor.string_val == [b"hello **world**"]


def test_constructor_arguments(tmp_path):
    w = SummaryWriter(log_dir=str(tmp_path / "a"), filename_suffix=".mine", max_queue=100,
                      flush_secs=1000, purge_step=None)
    w.add_scalar("x", 1.0, 0)
    assert not values(read_events(str(tmp_path / "a")), "x")  # buffered: max_queue not reached
    w.flush()
    (path,) = glob.glob(str(tmp_path / "a" / "events.out.tfevents.*"))
    assert path.endswith(".mine")
    assert values(read_events(str(tmp_path / "a")), "x")      # flushed before close
    w.close()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with SummaryWriter(comment="_lr0.1") as w2:
            w2.add_scalar("x", 1.0, 0)
        assert w2.log_dir.startswith("runs" + os.sep) and w2.log_dir.endswith("_lr0.1")
        assert read_events(str(tmp_path / w2.log_dir))
    finally:
        os.chdir(cwd)


def test_hparams_figure_and_reopen_after_close(tmp_path):
    matplotlib = pytest.importorskip("matplotlib", reason="pip install 'autodiff[plots]'")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    w = SummaryWriter(tmp_path)
    w.add_hparams({"lr": 0.1, "opt": "sgd"}, {"hparam/acc": ad.tensor(0.75)}, run_name="r1")
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1])
    w.add_figure("fig", fig, 0)
    w.close()
    w.add_scalar("after_close", 1.0, 0)          # starts a new event file, as in PyTorch
    w.close()
    run = values(read_events(str(tmp_path / "r1")))
    assert [(t, v.simple_value) for t, _, v in run if t == "hparam/acc"] == [("hparam/acc", 0.75)]
    assert {t for t, _, _ in run} >= {"_hparams_/experiment", "_hparams_/session_start_info"}
    top = {t: v for t, _, v in values(read_events(str(tmp_path)))
           if not t.startswith(("_hparams_", "hparam"))}
    assert (top["fig"].image.height, top["fig"].image.width) == (50, 100)
    assert "after_close" in top
    assert len(glob.glob(str(tmp_path / "events.out.tfevents.*"))) == 2
    with pytest.raises(ValueError, match="hparam_domain_discrete is not supported"):
        w.add_hparams({"lr": 0.1}, {"m": 1.0}, hparam_domain_discrete={"lr": [0.1]})
    with pytest.raises(TypeError, match="must be dicts"):
        w.add_hparams([("lr", 0.1)], {"m": 1.0})
    w.close()


def test_purge_step_marks_a_restart(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("x", float(step), step)
    with SummaryWriter(tmp_path, purge_step=3) as w:
        w.add_scalar("x", 30.0, 3)
    events = read_events(str(tmp_path))
    # TensorBoard drops the older events at steps >= 3 when it sees a SessionLog START at step 3
    starts = [e.step for e in events if e.HasField("session_log")
              and e.session_log.status == event_pb2.SessionLog.START]
    assert starts == [3]


def test_errors_name_the_tag_shape_and_fix(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match=r"add_scalar\('loss'\).*shape \(2,\).*\.mean\(\)"):
            w.add_scalar("loss", ad.tensor([1.0, 2.0]), 0)
        with pytest.raises(TypeError, match=r"add_scalar\('s'\): expected a number, got dtype"):
            w.add_scalar("s", "abc", 0)
        with pytest.raises(TypeError, match="tag_scalar_dict must be a dict"):
            w.add_scalars("m", [1.0], 0)
        with pytest.raises(ValueError, match=r"add_histogram\('h'\): values is empty"):
            w.add_histogram("h", ad.zeros(0), 0)
        with pytest.raises(ValueError, match=r"dataformats='CHW' needs a 3-d tensor, got shape "
                                             r"\(4, 5\)"):
            w.add_image("i", ad.rand(4, 5), 0)
        with pytest.raises(ValueError, match="dataformats must be one of NCHW, NHWC"):
            w.add_images("i", ad.rand(1, 1, 4, 5), 0, dataformats="CHW")
        with pytest.raises(TypeError, match=r"add_text\('t'\): text_string must be a str"):
            w.add_text("t", 3, 0)


def test_without_tensorboardx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install 'autodiff\[tensorboard\]'"):
        SummaryWriter("unused")


def test_unclosed_writer_reaches_the_disk_at_exit(tmp_path):
    code = ("from nn.utils.tensorboard import SummaryWriter\n"
            f"w = SummaryWriter({str(tmp_path)!r}, max_queue=1000, flush_secs=1000)\n"
            "w.add_scalar('x', 2.5, 4)\n")           # no flush, no close
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", code], cwd=root, timeout=120, check=True)
    ((_, step, v),) = values(read_events(str(tmp_path)), "x")
    assert (step, v.simple_value) == (4, 2.5)
