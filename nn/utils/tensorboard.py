"""nn.utils.tensorboard (torch.utils.tensorboard): SummaryWriter writes TensorBoard event files
through tensorboardX (the `tensorboard` extra: pip install 'autodiff[tensorboard]'). It accepts
autodiff Tensors wherever PyTorch's accepts torch tensors.

    from nn.utils.tensorboard import SummaryWriter
    with SummaryWriter("runs/exp1") as writer:
        writer.add_scalar("loss/train", loss, global_step=step)
"""
import atexit
import datetime
import itertools
import os
import socket
import time
import weakref

import numpy as np

__all__ = ["SummaryWriter"]

_FILE_IDS = itertools.count()
_OPEN = weakref.WeakSet()


@atexit.register
def _close_open_writers():
    for writer in list(_OPEN):
        writer.close()


_INSTALL = "pip install 'autodiff[tensorboard]'"


def _backend():
    try:
        import tensorboardX
    except ImportError as err:
        raise ImportError("nn.utils.tensorboard.SummaryWriter writes through tensorboardX, which "
                          f"is not installed: {_INSTALL} (or pip install tensorboardX)") from err
    return tensorboardX


def _numpy(value, what):
    """Tensor / ndarray / number / sequence -> ndarray (a Tensor is detached, not copied)."""
    from autodiff import Tensor
    if isinstance(value, Tensor):
        return value.detach().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what}: expected a Tensor, ndarray or number, got "
                        f"{type(value).__name__}") from err


def _scalar(value, what):
    arr = _numpy(value, what)
    if arr.size != 1:
        raise ValueError(f"{what}: a scalar needs exactly one element, got a tensor of shape "
                         f"{tuple(arr.shape)}; reduce it first (e.g. .mean() or .item())")
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
        raise TypeError(f"{what}: expected a number, got dtype {arr.dtype}")
    return float(arr.reshape(()))


class _EventFile:
    """One event file, written synchronously; flushed every `max_queue` events or `flush_secs`."""

    def __init__(self, tbx, log_dir, max_queue, flush_secs, filename_suffix):
        from tensorboardX.event_file_writer import EventsWriter
        os.makedirs(log_dir, exist_ok=True)
        # events.out.tfevents.<time>.<host>.<pid>.<n><suffix>, PyTorch's name: unique even when a
        # closed writer reopens within the same second
        self._events = EventsWriter(os.path.join(log_dir, "events"),
                                    f".{os.getpid()}.{next(_FILE_IDS)}{filename_suffix}")
        self._pb = tbx.proto.event_pb2
        self._max_queue, self._flush_secs = max_queue, flush_secs
        self._pending, self._last_flush = 0, time.monotonic()

    def add(self, step=None, walltime=None, **fields):
        event = self._pb.Event(wall_time=time.time() if walltime is None else float(walltime),
                               **fields)
        if step is not None:
            event.step = int(step)
        self._events.write_event(event)
        self._pending += 1
        if (self._pending >= self._max_queue
                or time.monotonic() - self._last_flush >= self._flush_secs):
            self.flush()

    def flush(self):
        self._events.flush()
        self._pending, self._last_flush = 0, time.monotonic()

    def close(self):
        self._events.close()


def _default_log_dir(comment):
    stamp = datetime.datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


class SummaryWriter:
    """Writes scalars, histograms, images and text to an event file in `log_dir` for TensorBoard;
    log_dir defaults to runs/<date>_<time>_<host><comment>, as in PyTorch."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        self._tbx = _backend()
        self.log_dir = str(log_dir) if log_dir is not None else _default_log_dir(comment)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._files = {}
        self._file()            # like PyTorch, the event file exists from construction
        _OPEN.add(self)         # events still buffered at interpreter exit reach the disk

    def _file(self, log_dir=None):
        log_dir = self.log_dir if log_dir is None else log_dir
        if log_dir not in self._files:
            f = _EventFile(self._tbx, log_dir, self.max_queue, self.flush_secs,
                           self.filename_suffix)
            if log_dir == self.log_dir and self.purge_step is not None:
                # TensorBoard discards earlier events at steps >= purge_step on seeing this
                f.add(step=self.purge_step, file_version="brain.Event:2")
                f.add(step=self.purge_step, session_log=self._tbx.proto.event_pb2.SessionLog(
                    status=self._tbx.proto.event_pb2.SessionLog.START))
            self._files[log_dir] = f
        return self._files[log_dir]

    def _add(self, summary, global_step, walltime, log_dir=None):
        self._file(log_dir).add(step=global_step, walltime=walltime, summary=summary)

    def get_logdir(self):
        """The directory the event files are written to."""
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None):
        """One point of the curve `tag` at `global_step` (a number or a one-element Tensor)."""
        value = _scalar(scalar_value, f"add_scalar({tag!r})")
        self._add(self._tbx.summary.scalar(tag, value), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several curves on one chart: one run <log_dir>/<main_tag>_<key> per key."""
        if not isinstance(tag_scalar_dict, dict):
            raise TypeError(f"add_scalars({main_tag!r}): tag_scalar_dict must be a dict of "
                            f"name -> value, got {type(tag_scalar_dict).__name__}")
        values = {k: _scalar(v, f"add_scalars({main_tag!r})[{k!r}]")
                  for k, v in tag_scalar_dict.items()}
        for key, value in values.items():
            run = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + key)
            self._add(self._tbx.summary.scalar(main_tag, value), global_step, walltime, run)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """A histogram of every element of `values` (bins as numpy.histogram, or 'tensorflow')."""
        arr = _numpy(values, f"add_histogram({tag!r})").astype(np.float64, copy=False)
        if arr.size == 0:
            raise ValueError(f"add_histogram({tag!r}): values is empty (shape "
                             f"{tuple(arr.shape)}); a histogram needs at least one value")
        if isinstance(bins, str) and bins == "tensorflow":
            bins = _tensorflow_bins()
        self._add(self._tbx.summary.histogram(tag, arr, bins, max_bins=max_bins), global_step,
                  walltime)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """One image: floats in [0, 1] or uint8 in [0, 255], laid out as `dataformats`
        (CHW, HWC or HW)."""
        arr = _image(img_tensor, dataformats, f"add_image({tag!r})", batch=False)
        self._add(self._tbx.summary.image(tag, arr, dataformats=dataformats.upper()),
                  global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """A batch of images tiled into one grid, laid out as `dataformats` (NCHW or NHWC)."""
        arr = _image(img_tensor, dataformats, f"add_images({tag!r})", batch=True)
        self._add(self._tbx.summary.image(tag, arr, dataformats=dataformats.upper()),
                  global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of figures, stacked) rendered to an image."""
        from tensorboardX.utils import figure_to_image
        image = figure_to_image(figure, close)
        if isinstance(figure, list):
            self.add_images(tag, image, global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, image, global_step, walltime, dataformats="CHW")

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """A text (markdown) entry."""
        if not isinstance(text_string, str):
            raise TypeError(f"add_text({tag!r}): text_string must be a str, got "
                            f"{type(text_string).__name__}")
        self._add(self._tbx.summary.text(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        """One row of the HParams table, in the run <log_dir>/<run_name or time>: the
        hyperparameters and the metrics (also written as scalars) they reached."""
        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("add_hparams: hparam_dict and metric_dict must be dicts, got "
                            f"{type(hparam_dict).__name__} and {type(metric_dict).__name__}")
        if hparam_domain_discrete is not None:
            raise ValueError("add_hparams: hparam_domain_discrete is not supported (tensorboardX "
                             "writes no discrete domains); leave it None")
        metrics = {k: _scalar(v, f"add_hparams metric {k!r}") for k, v in metric_dict.items()}
        run = os.path.join(self.log_dir, run_name or str(time.time()))
        for summary in self._tbx.summary.hparams(hparam_dict, metrics):
            self._add(summary, None, None, run)
        for k, v in metrics.items():
            self._add(self._tbx.summary.scalar(k, v), global_step, None, run)

    def flush(self):
        """Writes every pending event to disk."""
        for f in self._files.values():
            f.flush()

    def close(self):
        """Flushes and closes the event files (a later add_* starts a new file, as in PyTorch)."""
        for f in self._files.values():
            f.close()
        self._files = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"SummaryWriter(log_dir={self.log_dir!r})"


def _tensorflow_bins():
    """TensorBoard's default bucket edges: 0 and +-1e-12 * 1.1^k below 1e20."""
    pos = 1e-12 * 1.1 ** np.arange(int(np.ceil(np.log(1e32) / np.log(1.1))))
    pos = pos[pos < 1e20]
    return np.concatenate([-pos[::-1], [0.0], pos])


_LAYOUTS = {False: ("CHW", "HWC", "HW"), True: ("NCHW", "NHWC")}


def _image(img, dataformats, what, batch):
    arr = _numpy(img, what)
    fmt = str(dataformats).upper()
    if fmt not in _LAYOUTS[batch]:
        raise ValueError(f"{what}: dataformats must be one of {', '.join(_LAYOUTS[batch])}, "
                         f"got {dataformats!r}")
    if arr.ndim != len(fmt):
        raise ValueError(f"{what}: dataformats={fmt!r} needs a {len(fmt)}-d tensor, got shape "
                         f"{tuple(arr.shape)}")
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float32, copy=False)
    return arr
