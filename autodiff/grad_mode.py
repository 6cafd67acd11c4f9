"""Gradient-recording switches: no_grad, enable_grad, set_grad_enabled, inference_mode,
is_grad_enabled.

The mode is per thread, like PyTorch's. Each switch works as a context manager and as a
decorator (of functions, methods and generator functions, as PyTorch's do).
"""
import functools
import inspect
import threading
import warnings


class _State(threading.local):
    enabled = True  # class default: every new thread starts with grad mode on
    anomaly = False
    check_nan = True  # under anomaly mode, a NaN/Inf gradient raises (detect_anomaly(check_nan))
    inference = False  # inside inference_mode(): is_inference_mode_enabled()
    scope = ()  # names entered with name_scope, recorded on every node (viz groups by them)
    # What an op needs to record itself, in one thread-local read (each costs ~30 ns, on every
    # op): None while grad mode is off, else (scope, anomaly). Only the setters below write it.
    recording = ((), False)


_state = _State()


def is_grad_enabled():
    """True when operations on tensors that require grad are recorded in the graph."""
    return _state.enabled


def _set(mode):
    _state.enabled = mode = bool(mode)
    _state.recording = (_state.scope, _state.anomaly) if mode else None


def set_anomaly(flag):
    """Turns anomaly tracing of new ops on or off (detect_anomaly); returns the previous flag."""
    previous = _state.anomaly
    _state.anomaly = flag = bool(flag)
    if _state.enabled:
        _state.recording = (_state.scope, flag)
    return previous


def set_anomaly_enabled(mode, check_nan=True):
    """PyTorch's torch.set_anomaly_enabled: anomaly mode on or off for this thread."""
    set_anomaly(mode)
    _state.check_nan = bool(check_nan)


def is_anomaly_enabled():
    """True inside detect_anomaly() (or after set_anomaly_enabled(True))."""
    return _state.anomaly


def is_anomaly_check_nan_enabled():
    """True when anomaly mode raises on a NaN/Inf gradient (its check_nan flag)."""
    return _state.check_nan


def is_inference_mode_enabled():
    """True inside inference_mode()."""
    return _state.inference


def _switch(mode):
    """Sets grad mode to `mode` (True or False; None leaves it) and returns the previous one."""
    previous = _state.enabled
    if mode is not None:
        _set(mode)
    return previous


def _decorate(mode, fn):
    """fn run with grad mode `mode` and the caller's mode restored after. A generator function
    gets `mode` at every resume and gives the caller back its own mode at every yield (PyTorch's
    torch.utils._contextlib does the same)."""
    if inspect.isclass(fn):
        warnings.warn(  # PyTorch's warning and behaviour: the constructor call is wrapped
            "Decorating classes is deprecated and will be disabled in future versions. You "
            "should only decorate functions or methods. To preserve the current behavior of "
            "class decoration, you can directly decorate the `__init__` method and nothing else.",
            FutureWarning, stacklevel=3)
        cls = fn

        def fn(*args, **kwargs):
            return cls(*args, **kwargs)

    if inspect.isgeneratorfunction(fn):
        return _decorate_generator(mode, fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = _switch(mode)
        try:
            return fn(*args, **kwargs)
        finally:
            _set(previous)

    return wrapper


def _decorate_generator(mode, fn):
    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        previous = _switch(mode)
        try:
            response = gen.send(None)  # (runs the body up to its first yield)
        except StopIteration as stop:
            return stop.value
        finally:
            _set(previous)
        while True:
            try:
                request = yield response
            except GeneratorExit:  # closed by the caller: the body's finally blocks run in mode
                previous = _switch(mode)
                try:
                    gen.close()
                finally:
                    _set(previous)
                raise
            except BaseException as exc:  # thrown in by the caller: passed on to the body
                previous = _switch(mode)
                try:
                    response = gen.throw(exc)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _set(previous)
            else:
                previous = _switch(mode)
                try:
                    response = gen.send(request)
                except StopIteration as stop:
                    return stop.value
                finally:
                    _set(previous)

    return generator


class _GradModeSwitch:
    """Base for the switches: sets the mode on enter, restores the previous one on exit; as a
    decorator, does both around every call (every resume of a generator)."""

    _mode = True  # True or False; None leaves the mode as it is

    def __enter__(self):
        self._previous = _switch(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._previous)
        return False

    def __call__(self, fn):
        return _decorate(self._mode, fn)


class _NoArgumentSwitch(_GradModeSwitch):
    """A switch that also decorates without parentheses (`@no_grad` and `@no_grad()`), as
    PyTorch's no_grad and enable_grad do."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoArgumentSwitch):
    """Context manager / decorator: operations inside are not recorded (no graph, no grads)."""

    _mode = False


class enable_grad(_NoArgumentSwitch):
    """Context manager / decorator: re-enables recording inside a no_grad block."""

    _mode = True


class set_grad_enabled(_GradModeSwitch):
    """set_grad_enabled(mode): sets the mode now; used with `with`, restores it on exit."""

    def __init__(self, mode):
        self._previous = is_grad_enabled()
        self._mode = bool(mode)
        _set(mode)

    def __enter__(self):
        if _state.enabled is not self._mode:  # (changed since __init__: PyTorch sets it again)
            _set(self._mode)
        return self

    def __call__(self, fn):
        _set(self._previous)  # used as a decorator: change the mode only while fn runs
        return super().__call__(fn)

    def __exit__(self, *exc):
        _set(self._previous)
        return False


class inference_mode(_GradModeSwitch):
    """inference_mode(mode=True): no_grad under PyTorch's other name (PyTorch's is a faster
    no_grad; here they are the same); inference_mode(False) leaves the grad mode as it is. Also
    a decorator, with or without parentheses."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # @inference_mode on a function

    def __init__(self, mode=True):
        self._mode = False if mode else None
        self._inference = bool(mode)

    def __enter__(self):
        self._previous_inference, _state.inference = _state.inference, self._inference
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self._previous_inference
        return super().__exit__(*exc)

    def __call__(self, fn):
        inner = _decorate(self._mode, fn)
        if inspect.isgeneratorfunction(fn):
            return inner  # (grad mode per resume; the inference flag only in the with-form)
        flag = self._inference

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous, _state.inference = _state.inference, flag
            try:
                return inner(*args, **kwargs)
            finally:
                _state.inference = previous
        return wrapper


def enter_scope(names):
    """name_scope's entry without the object, for nn.Module.__call__ (a hot path): appends the
    names (a tuple of str) to the scope and returns the previous scope for exit_scope."""
    previous = _state.scope
    if names:
        _set_scope(previous + names)
    return previous


def exit_scope(previous):
    """Restores the scope that enter_scope returned."""
    if _state.scope is not previous:
        _set_scope(previous)


class name_scope:
    """Context manager: ops recorded inside are tagged with this name (nested scopes, or several
    names at once, give a path such as ('blocks', '1')), readable as node.scope.
    nn.Module.__call__ enters one per submodule call, which is how autodiff.viz groups a graph
    by module without importing nn."""

    def __init__(self, *names):
        self.names = tuple(map(str, names))

    @property
    def name(self):
        return ".".join(self.names)

    def __enter__(self):
        self._previous = enter_scope(self.names)
        return self

    def __exit__(self, *exc):
        exit_scope(self._previous)
        return False

    # The object-free form, for hot paths such as nn.Module.__call__:
    # token = name_scope.push(names) appends `names` (a tuple of str) to the current scope,
    # name_scope.pop(token) restores the scope it replaced.
    push = staticmethod(enter_scope)
    pop = staticmethod(exit_scope)


def _set_scope(scope):
    _state.scope = scope
    recording = _state.recording
    if recording is not None:
        _state.recording = (scope, recording[1])
