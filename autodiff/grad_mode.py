"""Gradient-recording switches: no_grad, enable_grad, set_grad_enabled, is_grad_enabled.

The mode is per thread, like PyTorch's. Each switch works as a context manager and as a
decorator.
"""
import functools
import threading



class _State(threading.local):
    enabled = True  # class default: every new thread starts with grad mode on
    anomaly = False
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


class _GradModeSwitch:
    """Base for the switches: sets the mode on enter, restores the previous one on exit."""

    _mode = True

    def __enter__(self):
        self._previous = is_grad_enabled()
        _set(self._mode)
        return self

    def __exit__(self, *exc):
        _set(self._previous)
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(previous)

        return wrapper


class no_grad(_GradModeSwitch):
    """Context manager / decorator: operations inside are not recorded (no graph, no grads)."""

    _mode = False


class enable_grad(_GradModeSwitch):
    """Context manager / decorator: re-enables recording inside a no_grad block."""

    _mode = True


class set_grad_enabled(_GradModeSwitch):
    """set_grad_enabled(mode): sets the mode now; used with `with`, restores it on exit."""

    def __init__(self, mode):
        self._previous = is_grad_enabled()
        self._mode = bool(mode)
        _set(mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        _set(self._previous)  # used as a decorator: change the mode only while fn runs
        return super().__call__(fn)

    def __exit__(self, *exc):
        _set(self._previous)
        return False


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
