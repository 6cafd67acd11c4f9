"""Progress output shared by the CLIs (nn.train, nn.evaluate) and the dataset downloads.

With tqdm (the `progress` extra; `tqdm.auto`, so a notebook gets a widget) a bar is drawn on a
terminal or in a notebook; when stderr is not a terminal (a log file, a pipe, CI) no bar is
drawn and only the epoch lines are written, so logs stay readable. Without tqdm a plain bar is
redrawn with \\r on a terminal. tqdm is imported lazily: the package runs without it.
"""
import importlib.util
import sys
import time

__all__ = ["Progress", "interactive", "read_with_progress"]

EXTRA = "pip install 'autodiff[progress]'"


def _tqdm():
    """tqdm.auto.tqdm, or None when tqdm is not installed."""
    if importlib.util.find_spec("tqdm") is None:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _in_notebook():
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # noqa: BLE001  (any IPython oddity: behave as outside a notebook)
        return False


def interactive(stream):
    """True when a bar makes sense on stream: a terminal, or a Jupyter notebook's stderr."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        tty = False
    return tty or _in_notebook()


class Progress:
    """One bar per epoch over its batches (tqdm when installed), and the epoch summary lines.

    update(prefix, done, total, metrics) advances the bar named prefix (a new prefix starts a
    new bar); line(text) closes the bar and writes text as one line. enabled=False: silent.
    use_tqdm=None picks tqdm when it is installed; False forces the plain bar.
    """

    def __init__(self, stream=None, enabled=True, use_tqdm=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and interactive(self.stream)
        tqdm = _tqdm() if use_tqdm in (None, True) else None
        if use_tqdm and tqdm is None:
            raise ImportError(f"tqdm is not installed: {EXTRA}")
        self._tqdm = tqdm if self.tty else None
        self._bar, self._prefix, self._last = None, None, 0.0

    @property
    def uses_tqdm(self):
        return self._tqdm is not None

    def update(self, prefix, done, total, metrics):
        if not self.tty:
            return
        if self._tqdm is not None:
            if self._bar is None or prefix != self._prefix:
                self.close()
                self._bar = self._tqdm(total=total, desc=prefix, file=self.stream, leave=False,
                                       mininterval=0.1, dynamic_ncols=True, unit="batch")
                self._prefix = prefix
            self._bar.update(done - self._bar.n)
            self._bar.set_postfix_str(metrics, refresh=False)
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 20
        fill = int(width * done / max(total, 1))
        bar = "#" * fill + "." * (width - fill)
        self.stream.write(f"\r{prefix} [{bar}] {done}/{total} {metrics}\033[K")
        self.stream.flush()

    def close(self):
        """Remove the current bar (if any), leaving the cursor at the start of a clean line."""
        if self._bar is not None:
            self._bar.close()
            self._bar, self._prefix = None, None
        elif self.tty and self._tqdm is None:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def line(self, text):
        """Write one summary line (after removing the bar)."""
        if not self.enabled:
            return
        self.close()
        if self._tqdm is not None:
            self._tqdm.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def read_with_progress(response, desc, stream=None, chunk=1 << 16):
    """The whole body of an HTTP response, read in chunks with a bytes/speed bar (tqdm on a
    terminal) or one line saying what is downloaded (elsewhere)."""
    stream = stream or sys.stderr
    length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
    total = int(length) if length and str(length).isdigit() else None
    tqdm = _tqdm() if interactive(stream) else None
    if tqdm is None:
        size = f" ({total / 1e6:.1f} MB)" if total else ""
        stream.write(f"downloading {desc}{size} ...\n")
        stream.flush()
    bar = None if tqdm is None else tqdm(total=total, desc=desc, file=stream, unit="B",
                                         unit_scale=True, unit_divisor=1024, mininterval=0.2,
                                         leave=False)
    parts = []
    try:
        while True:
            block = response.read(chunk)
            if not block:
                break
            parts.append(block)
            if bar is not None:
                bar.update(len(block))
    finally:
        if bar is not None:
            bar.close()
    return b"".join(parts)
