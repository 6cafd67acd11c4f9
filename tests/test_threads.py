"""Threads and grad mode: concurrent backward passes lose no accumulation, grad mode is per
thread, and the grad-mode decorators hold across every resume of a generator (PyTorch's
behaviour; compared with PyTorch itself when installed)."""
import functools
import sys
import threading
import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff.grad_mode import inference_mode


@pytest.fixture
def switch_often():
    """Makes the interpreter switch threads every microsecond, so that a race shows at once."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def run_threads(n, target):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001  (reported in the main thread)
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# --- concurrent accumulation -------------------------------------------------------------------

def test_eight_threads_accumulating_into_one_leaf_lose_nothing(switch_often):
    w = ad.tensor(0.0, requires_grad=True)

    def work(_):
        for _ in range(200):
            (w * 1.0).sum().backward()

    run_threads(8, work)
    assert w.grad.item() == 1600.0


def test_concurrent_backward_into_shared_leaves_of_a_model(switch_often):
    # every thread: loss = sum(W @ x_i + b), dloss/dW = 1 x_i^T, dloss/db = 1 (per row)
    W = ad.tensor(np.zeros((3, 4)), requires_grad=True)
    b = ad.tensor(np.zeros(3), requires_grad=True)
    xs = [np.arange(4.0) + i for i in range(6)]

    def work(i):
        for _ in range(50):
            (W @ ad.tensor(xs[i]) + b).sum().backward()

    run_threads(6, work)
    np.testing.assert_array_equal(W.grad.detach().numpy(), 50 * np.tile(np.sum(xs, axis=0), (3, 1)))
    np.testing.assert_array_equal(b.grad.detach().numpy(), np.full(3, 300.0))


def test_concurrent_passes_through_one_retained_graph_fill_a_retained_grad(switch_often):
    # one shared graph, walked by every thread (retain_graph): x.grad and the retained h.grad
    # both collect every pass; h = 3x, out = sum(h * h): dout/dh = 6x, dout/dx = 18x
    x = ad.tensor([1.0, 2.0], dtype=ad.float64, requires_grad=True)
    h = x * 3
    h.retain_grad()
    out = (h * h).sum()

    def work(_):
        for _ in range(50):
            out.backward(retain_graph=True)

    run_threads(4, work)
    np.testing.assert_array_equal(x.grad.detach().numpy(), 200 * 18 * np.array([1.0, 2.0]))
    np.testing.assert_array_equal(h.grad.detach().numpy(), 200 * 6 * np.array([1.0, 2.0]))


def test_a_hook_may_itself_call_backward_in_the_same_thread():
    # the accumulation lock is not held while hooks run, so this cannot deadlock
    w = ad.tensor(1.0, requires_grad=True)
    side = ad.tensor(2.0, requires_grad=True)

    @ad.enable_grad()  # (hooks run with grad mode off in a first-order pass, as in PyTorch)
    def hook(g):
        (side * 5).backward()

    w.register_hook(hook)
    (w * 3).backward()
    assert w.grad.item() == 3.0 and side.grad.item() == 5.0


# --- grad mode per thread ----------------------------------------------------------------------

def test_no_grad_in_one_thread_does_not_affect_another():
    inside, other_ready, done = threading.Event(), threading.Event(), threading.Event()
    seen = {}
    x = ad.tensor([1.0], requires_grad=True)

    def quiet(_):
        with ad.no_grad():
            inside.set()
            other_ready.wait(5)
            seen["quiet records"] = (x * 2).requires_grad
            seen["quiet mode"] = ad.is_grad_enabled()
            done.wait(5)
        seen["quiet after"] = ad.is_grad_enabled()

    def busy(_):
        inside.wait(5)  # the other thread is inside no_grad now
        seen["busy mode"] = ad.is_grad_enabled()
        seen["busy records"] = (x * 2).requires_grad
        other_ready.set()
        with ad.enable_grad():
            pass
        done.set()

    run_threads(2, lambda i: (quiet if i == 0 else busy)(i))
    assert seen == {"quiet records": False, "quiet mode": False, "busy mode": True,
                    "busy records": True, "quiet after": True}
    assert ad.is_grad_enabled()


def test_a_new_thread_starts_with_grad_mode_on_whatever_its_parent_has():
    seen = []
    with ad.set_grad_enabled(False):
        run_threads(1, lambda _: seen.append(ad.is_grad_enabled()))
    assert seen == [True]


# --- decorators: generators, no parentheses, methods, classes -----------------------------------

def _observe_generator(lib, decorator):
    """The grad mode a decorated generator sees at each resume and the caller sees between
    resumes (the caller switching its own mode in between), as a list."""
    log = []

    @decorator
    def gen(n):
        for i in range(n):
            log.append(("body", i, lib.is_grad_enabled()))
            got = yield i
            log.append(("got", got, lib.is_grad_enabled()))
        return "finished"

    it = gen(3)
    log.append(("caller", next(it), lib.is_grad_enabled()))
    with lib.no_grad():
        log.append(("caller under no_grad", it.send("a"), lib.is_grad_enabled()))
    with lib.enable_grad():
        log.append(("caller under enable_grad", it.send("b"), lib.is_grad_enabled()))
    try:
        it.send("c")
    except StopIteration as stop:
        log.append(("returned", stop.value, lib.is_grad_enabled()))
    return log


DECORATORS = {  # name -> decorator on a given library
    "no_grad()": lambda lib: lib.no_grad(),
    "no_grad": lambda lib: lib.no_grad,
    "enable_grad()": lambda lib: lib.enable_grad(),
    "enable_grad": lambda lib: lib.enable_grad,
    "set_grad_enabled(False)": lambda lib: lib.set_grad_enabled(False),
    "set_grad_enabled(True)": lambda lib: lib.set_grad_enabled(True),
}
MODE = {"no_grad()": False, "no_grad": False, "enable_grad()": True, "enable_grad": True,
        "set_grad_enabled(False)": False, "set_grad_enabled(True)": True}


@pytest.mark.parametrize("name", list(DECORATORS))
def test_a_decorated_generator_has_the_mode_at_every_resume_and_the_caller_keeps_its_own(name):
    mode = MODE[name]
    log = _observe_generator(ad, DECORATORS[name](ad))
    assert log == [
        ("body", 0, mode), ("caller", 0, True),
        ("got", "a", mode), ("body", 1, mode), ("caller under no_grad", 1, False),
        ("got", "b", mode), ("body", 2, mode), ("caller under enable_grad", 2, True),
        ("got", "c", mode), ("returned", "finished", True),
    ]
    assert ad.is_grad_enabled()


@pytest.mark.parametrize("name", list(DECORATORS))
def test_decorated_generators_match_torch(torch, name):
    assert _observe_generator(ad, DECORATORS[name](ad)) == \
        _observe_generator(torch, DECORATORS[name](torch))


def test_a_decorated_generator_records_nothing_in_its_body_and_the_caller_records():
    x = ad.tensor([1.0, 2.0], requires_grad=True)

    @ad.no_grad()
    def scaled(factors):
        for f in factors:
            yield x * f

    outs = []
    for y in scaled([1.0, 2.0]):
        outs.append((y.requires_grad, (x * 1.0).requires_grad))
    assert outs == [(False, True), (False, True)]


def _throw_and_close(lib, decorator):
    log = []

    @decorator
    def gen():
        try:
            while True:
                try:
                    yield lib.is_grad_enabled()
                except ValueError as e:
                    log.append(("caught", str(e), lib.is_grad_enabled()))
        finally:
            log.append(("finally", lib.is_grad_enabled()))

    it = gen()
    log.append(("first", next(it), lib.is_grad_enabled()))
    log.append(("after throw", it.throw(ValueError("boom")), lib.is_grad_enabled()))
    it.close()
    log.append(("closed", lib.is_grad_enabled()))
    return log


def test_throw_and_close_run_the_generator_body_in_the_mode():
    assert _throw_and_close(ad, ad.no_grad()) == [
        ("first", False, True), ("caught", "boom", False), ("after throw", False, True),
        ("finally", False), ("closed", True)]


def test_throw_and_close_match_torch(torch):
    assert _throw_and_close(ad, ad.no_grad()) == _throw_and_close(torch, torch.no_grad())


def test_an_error_in_a_decorated_generator_propagates_and_restores_the_mode():
    @ad.no_grad()
    def gen():
        yield 1
        raise KeyError("inside")

    it = gen()
    next(it)
    with pytest.raises(KeyError, match="inside"):
        next(it)
    assert ad.is_grad_enabled()

    @ad.no_grad()
    def unhandled():
        yield 1

    it = unhandled()
    next(it)
    with pytest.raises(ZeroDivisionError):
        it.throw(ZeroDivisionError("thrown in"))
    assert ad.is_grad_enabled()


def test_yield_from_a_decorated_generator_passes_its_return_value():
    @ad.no_grad
    def inner():
        yield ad.is_grad_enabled()
        return "value"

    def outer():
        result = yield from inner()
        yield (result, ad.is_grad_enabled())

    assert list(outer()) == [False, ("value", True)]


def test_decorated_generators_in_two_threads_do_not_disturb_each_other(switch_often):
    @ad.no_grad()
    def quiet(n):
        for _ in range(n):
            yield ad.is_grad_enabled()

    @ad.enable_grad()
    def loud(n):
        for _ in range(n):
            yield ad.is_grad_enabled()

    seen = {}

    def work(i):
        caller_mode = i % 2 == 0  # half the callers run under no_grad
        with ad.set_grad_enabled(caller_mode):
            gen = quiet(300) if i < 2 else loud(300)
            modes, between = set(), set()
            for m in gen:
                modes.add(m)
                between.add(ad.is_grad_enabled())
        seen[i] = (modes, between)

    run_threads(4, work)
    assert seen == {0: ({False}, {True}), 1: ({False}, {False}),
                    2: ({True}, {True}), 3: ({True}, {False})}


def test_without_parentheses_for_functions():
    @ad.no_grad
    def off():
        """doc of off"""
        return ad.is_grad_enabled()

    @ad.enable_grad
    def on():
        return ad.is_grad_enabled()

    assert off() is False and ad.is_grad_enabled()
    with ad.no_grad():
        assert on() is True
        assert not ad.is_grad_enabled()
    assert off.__name__ == "off" and off.__doc__ == "doc of off"


def test_decorating_a_method_and_recursion():
    class Model:
        def __init__(self):
            self.w = ad.tensor([2.0], requires_grad=True)

        @ad.no_grad()
        def predict(self, x, depth=0):
            inner = self.predict(x, depth - 1) if depth > 0 else None
            return (x * self.w).requires_grad, ad.is_grad_enabled(), inner

        @ad.enable_grad
        def train_step(self, x):
            return (x * self.w).requires_grad

    m = Model()
    assert m.predict(ad.ones(1), depth=1) == (False, False, (False, False, None))
    assert ad.is_grad_enabled()
    with ad.no_grad():
        assert m.train_step(ad.ones(1)) is True
    assert Model.predict.__name__ == "predict"


def test_decorating_a_class_warns_and_wraps_its_constructor_as_torch_does():
    class Plain:
        def __init__(self):
            self.mode = ad.is_grad_enabled()

    with pytest.warns(FutureWarning, match="Decorating classes is deprecated"):
        made = ad.no_grad()(Plain)
    assert made().mode is False and ad.is_grad_enabled()


def test_decorating_a_class_matches_torch(torch):
    results = []
    for lib in (ad, torch):
        class Plain:
            def __init__(self):
                self.mode = lib.is_grad_enabled()

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            made = lib.no_grad()(Plain)
        results.append(([w.category for w in caught], made().mode, isinstance(made, type)))
    assert results[0] == results[1]


def test_a_failing_decorated_function_restores_the_mode():
    @ad.no_grad
    def fails():
        raise ValueError("x")

    with pytest.raises(ValueError):
        fails()
    assert ad.is_grad_enabled()


def test_set_grad_enabled_object_sets_its_mode_again_on_enter_as_torch():
    switch = ad.set_grad_enabled(False)
    ad.set_grad_enabled(True)  # (a plain call: the mode is on again)
    with switch:
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()


def test_inference_mode_with_and_without_parentheses_and_off():
    @inference_mode
    def bare():
        return ad.is_grad_enabled()

    @inference_mode()
    def gen():
        yield ad.is_grad_enabled()

    assert bare() is False and list(gen()) == [False] and ad.is_grad_enabled()
    with inference_mode():
        assert not ad.is_grad_enabled()
    with inference_mode(False):  # PyTorch: leaves the grad mode as it is
        assert ad.is_grad_enabled()
    with ad.no_grad(), inference_mode(False):
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()
    # autodiff.inference_mode (the public name) decorates generators too, even a partial
    plain = functools.partial(gen.__wrapped__)
    assert list(ad.inference_mode()(plain)()) == [False]


def test_inference_mode_matches_torch(torch):
    for lib, im in ((ad, inference_mode), (torch, torch.inference_mode)):
        @im
        def bare():
            return lib.is_grad_enabled()

        with im(False):
            kept = lib.is_grad_enabled()
        assert (bare(), kept, lib.is_grad_enabled()) == (False, True, True), lib.__name__
