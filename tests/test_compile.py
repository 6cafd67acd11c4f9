"""autodiff.compile: training loops replayed bit for bit, guards, graph breaks, random ops,
side effects, threads and the API (the catalog's ops: tests/test_compile_catalog.py)."""
import contextlib
import inspect
import threading
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.compiler import GraphBreak, GraphBreakWarning, RecompileWarning, is_compiling
from nn.utils import clip_grad_norm_


def bits(x):
    """dtype, shape and bytes of a tensor or array: equal exactly when bit for bit equal."""
    arr = x.data if isinstance(x, ad.Tensor) else np.asarray(x)
    return arr.dtype.str, arr.shape, np.ascontiguousarray(arr).tobytes()


def assert_same(a, b, what=""):
    assert bits(a) == bits(b), f"{what}: compiled and eager differ"


def tree_bits(obj):
    """obj (tensors, arrays, numbers, None, nested tuples/lists/dicts) with arrays as bits."""
    if isinstance(obj, (ad.Tensor, np.ndarray)):
        return bits(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj).__name__, tuple(tree_bits(v) for v in obj)
    if isinstance(obj, dict):
        return tuple((k, tree_bits(v)) for k, v in obj.items())
    return obj


def assert_models_equal(m1, m2, o1=None, o2=None):
    for (name, p), q in zip(m1.named_parameters(), m2.parameters()):
        assert_same(p, q, f"parameter {name}")
    for (name, b), c in zip(m1.named_buffers(), m2.buffers()):
        assert_same(b, c, f"buffer {name}")
    if o1 is not None:
        s1 = [tree_bits(o1.state[p]) for p in m1.parameters()]
        s2 = [tree_bits(o2.state[p]) for p in m2.parameters()]
        assert s1 == s2, "optimizer state differs"
        assert tree_bits([g["lr"] for g in o1.param_groups]) == \
            tree_bits([g["lr"] for g in o2.param_groups])


@contextlib.contextmanager
def recorded_warnings():
    """Every warning raised inside, each time (a list of warnings.WarningMessage)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def breaks(caught):
    return [w for w in caught if issubclass(w.category, GraphBreakWarning)]


# --- 2. training loops: 100 steps compiled vs eager --------------------------------------------

def _mlp():
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = nn.optim.Adam(model.parameters(), lr=1e-2)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def batch(rng):
        return (ad.tensor(rng.standard_normal((8, 6)).astype(np.float32)),
                ad.tensor(rng.integers(0, 4, 8)))
    return model, opt, step, batch


def _cnn():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(64, 3))
    opt = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def batch(rng):
        return (ad.tensor(rng.standard_normal((4, 1, 8, 8)).astype(np.float32)),
                ad.tensor(rng.integers(0, 3, 4)))
    return model, opt, step, batch


class _CharModel(nn.Module):
    def __init__(self, vocab=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, 6)
        self.lstm = nn.LSTM(6, 8, batch_first=True)
        self.head = nn.Linear(8, vocab)

    def forward(self, idx):
        out, _ = self.lstm(self.embed(idx))
        return self.head(out)


def _lstm():
    model = _CharModel()
    opt = nn.optim.AdamW(model.parameters(), lr=1e-2)

    def step(idx, target):
        opt.zero_grad()
        logits = model(idx)
        loss = F.cross_entropy(logits.reshape(-1, 10), target.reshape(-1))
        loss.backward()
        clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        return loss

    def batch(rng):
        seq = rng.integers(0, 10, (3, 6))
        return ad.tensor(seq[:, :-1]), ad.tensor(seq[:, 1:])
    return model, opt, step, batch


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1,
                                                batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.layer(x))


def _transformer():
    model = _Encoder()
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def batch(rng):
        return (ad.tensor(rng.standard_normal((2, 5, 8)).astype(np.float32)),
                ad.tensor(rng.standard_normal((2, 5, 1)).astype(np.float32)))
    return model, opt, step, batch


def _train(make, compiled, steps=100):
    ad.manual_seed(0)
    model, opt, step, batch = make()
    run = ad.compile(step) if compiled else step
    rng = np.random.default_rng(1)
    ad.manual_seed(2)  # the dropout masks' sequence
    losses = [bits(run(*batch(rng))) for _ in range(steps)]
    return losses, model, opt, run


@pytest.mark.parametrize("make", [_mlp, _cnn, _lstm, _transformer],
                         ids=["mlp-adam", "cnn-sgd-momentum", "lstm-clip-adamw", "transformer"])
def test_training_loop_replays_bit_for_bit(make):
    eager_losses, m1, o1, _ = _train(make, compiled=False)
    with recorded_warnings() as caught:
        losses, m2, o2, run = _train(make, compiled=True)
    assert not breaks(caught), str(breaks(caught)[0].message)
    for k, (a, b) in enumerate(zip(losses, eager_losses)):
        assert a == b, f"step {k}: the loss differs from eager"
    assert len(set(losses)) > 50  # the loop trains: losses move
    assert_models_equal(m1, m2, o1, o2)
    assert run.stats == {"traces": 1, "replays": 99, "eager": 0, "graph_breaks": 0}


# --- 3. guards -----------------------------------------------------------------------------------

def _grad_step(w):
    def step(x):
        loss = (x @ w).tanh().sum()
        loss.backward()
        g = w.grad
        w.grad = None
        return loss, g
    return step


def _value(shape, dtype=np.float32, seed=0, requires_grad=False):
    arr = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ad.tensor(arr, requires_grad=requires_grad)


def _check(compiled, eager, *args):
    assert tree_bits(compiled(*args)) == tree_bits(eager(*args))


def test_a_new_shape_traces_again_and_the_old_one_still_replays():
    w = _value((4, 3), requires_grad=True)
    step = _grad_step(w)
    cf = ad.compile(step)
    for shape, seed in [((2, 4), 0), ((2, 4), 1), ((5, 4), 2), ((2, 4), 3), ((5, 4), 4)]:
        _check(cf, step, _value(shape, seed=seed))
    assert cf.stats == {"traces": 2, "replays": 3, "eager": 0, "graph_breaks": 0}


def test_ops_with_several_outputs_replay_with_unused_pieces():
    """chunk and unbind are one node with several outputs: the replay binds them all, and
    their rule gets the gradients that arrived (None for the pieces not used)."""
    w = _value((4, 6), requires_grad=True)

    def step(x):
        a, _, c = (x @ w).chunk(3, 1)
        rows = a.unbind(0)
        loss = (rows[0] * c).sum() + (c * c).sum()
        loss.backward()
        g = w.grad
        w.grad = None
        return loss, g
    cf = ad.compile(step, fullgraph=True)
    for seed in range(3):
        _check(cf, step, _value((3, 4), seed=seed))
    assert cf.stats == {"traces": 1, "replays": 2, "eager": 0, "graph_breaks": 0}


def test_cache_size_evicts_the_oldest_trace_with_a_recompile_warning():
    w = _value((4, 3), requires_grad=True)
    cf = ad.compile(_grad_step(w), cache_size=2)
    cf(_value((1, 4)))
    cf(_value((2, 4)))
    with pytest.warns(RecompileWarning, match="cache_size=2"):
        cf(_value((3, 4)))
    assert len(cf.cache) == 2
    with pytest.warns(RecompileWarning):
        cf(_value((1, 4)))  # evicted: traced again
    assert cf.stats["traces"] == 4 and cf.stats["replays"] == 0


def test_dtype_requires_grad_and_python_argument_changes_trace_again():
    def step(x, scale):
        y = (x * scale).exp().sum()
        y.backward()
        g = x.grad
        x.grad = None
        return y, g
    cf = ad.compile(step)
    for x_args, scale in [((np.float32,), 2.0), ((np.float32,), 2.0), ((np.float64,), 2.0),
                          ((np.float32,), 3.0), ((np.float64,), 2.0), ((np.float32,), 3.0)]:
        _check(cf, step, _value((3,), *x_args, requires_grad=True), scale)
    assert cf.stats["traces"] == 3 and cf.stats["replays"] == 3

    def forward(x):
        return x * 2, x.requires_grad
    cf = ad.compile(forward)
    with ad.no_grad():
        cf(_value((3,)))
        result = cf(_value((3,), requires_grad=True))
    assert result[1] is True and cf.stats["traces"] == 2


def _bn_dropout_model():
    ad.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.Linear(6, 2))


def test_eval_mode_after_training_traces_again_and_equals_eager():
    def make():
        model = _bn_dropout_model()

        def step(x):
            out = model(x)
            out.sum().backward()
            grads = [p.grad for p in model.parameters()]
            for p in model.parameters():
                p.grad = None
            return out, grads
        return model, step
    m1, eager = make()
    m2, step = make()
    cf = ad.compile(step)
    ad.manual_seed(3)
    expected = [tree_bits(eager(_value((5, 4), seed=k))) for k in range(3)]
    ad.manual_seed(3)
    got = [tree_bits(cf(_value((5, 4), seed=k))) for k in range(3)]
    assert got == expected and cf.stats["traces"] == 1
    m1.eval()
    m2.eval()
    with recorded_warnings() as caught:
        for k in range(3, 6):
            x = _value((5, 4), seed=k)
            assert tree_bits(cf(x)) == tree_bits(eager(x))  # no dropout, running stats
    assert cf.stats["traces"] == 2, "model.eval() must invalidate the training-mode trace"
    assert_models_equal(m1, m2)
    m2.train()
    m1.train()
    ad.manual_seed(4)
    expected = tree_bits(eager(_value((5, 4), seed=9)))
    ad.manual_seed(4)
    assert tree_bits(cf(_value((5, 4), seed=9))) == expected
    del caught


def test_requires_grad_false_on_a_parameter_traces_again():
    lin = nn.Linear(3, 2)

    def step(x):
        loss = lin(x).square().sum()
        loss.backward()
        grads = (lin.weight.grad, lin.bias.grad)
        lin.zero_grad()
        return loss, grads
    cf = ad.compile(step)
    _check(cf, step, _value((4, 3)))
    _check(cf, step, _value((4, 3), seed=1))
    lin.weight.requires_grad_(False)
    got = cf(_value((4, 3), seed=2))
    assert got[1][0] is None and got[1][1] is not None
    _check(cf, step, _value((4, 3), seed=3))
    assert cf.stats["traces"] == 2 and cf.stats["replays"] == 2


def test_a_hook_registered_after_tracing_is_honoured():
    w = _value((4, 3), requires_grad=True)
    step = _grad_step(w)
    cf = ad.compile(step)
    cf(_value((2, 4)))
    cf(_value((2, 4), seed=1))
    calls = []

    def hook(g):
        calls.append(1)
        return g * 2
    w.register_hook(hook)
    x = _value((2, 4), seed=2)
    with pytest.warns(GraphBreakWarning, match="hook"):
        got = cf(x)
    assert calls == [1]
    assert tree_bits(got) == tree_bits(step(x))
    xs, ws = x.data.astype(np.float64), w.data.astype(np.float64)
    unhooked = xs.T @ (1 - np.tanh(xs @ ws) ** 2)
    np.testing.assert_allclose(got[1].data, 2 * unhooked, rtol=1e-5)
    cf(x)
    assert len(calls) == 3 and cf.stats["eager"] == 1


def test_anomaly_mode_runs_eagerly():
    w = _value((4, 3), requires_grad=True)
    step = _grad_step(w)
    cf = ad.compile(step)
    cf(_value((2, 4)))
    with ad.detect_anomaly():
        _check(cf, step, _value((2, 4), seed=1))
    assert cf.stats == {"traces": 1, "replays": 0, "eager": 1, "graph_breaks": 0}


def test_cross_entropy_ignore_index_in_some_batches_equals_eager():
    def make():
        ad.manual_seed(0)
        lin = nn.Linear(5, 3)
        opt = nn.optim.SGD(lin.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(lin(x), y, ignore_index=-100)
            loss.backward()
            opt.step()
            return loss
        return lin, step
    m1, eager = make()
    m2, step = make()
    cf = ad.compile(step)
    rng = np.random.default_rng(0)
    for k in range(8):  # (the first batch holding ignore_index fails the trace's guard)
        y = rng.integers(0, 3, 6)
        if k in (4, 6):
            y[[0, 4]] = -100
        x = ad.tensor(rng.standard_normal((6, 5)).astype(np.float32))
        assert_same(cf(x, ad.tensor(y)), eager(x, ad.tensor(y)), f"step {k}")
    assert_models_equal(m1, m2)
    assert cf.stats["traces"] >= 2 and cf.stats["replays"] >= 3


# --- 4. graph breaks -----------------------------------------------------------------------------

def tagged_line(fn):
    """'file:line' of the line of fn marked with the comment `# break`."""
    lines, start = inspect.getsourcelines(fn)
    k = next(i for i, line in enumerate(lines) if line.rstrip().endswith("# break"))
    return f"{inspect.getsourcefile(fn)}:{start + k}:"


class _Double(ad.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def _breaking_steps():
    """name -> a step function of x whose line marked `# break` graph-breaks."""
    def item(x):
        y = (x * 2).sum()
        s = y.item()  # break
        y.backward()
        return y, s

    def bool_(x):
        y = (x * 2).sum()
        flag = bool(y)  # break
        y.backward()
        return y, flag

    def float_(x):
        y = (x * 2).sum()
        v = float(y)  # break
        y.backward()
        return y, v

    def tolist(x):
        y = x * 2
        v = y.tolist()  # break
        y.sum().backward()
        return y, v

    def numpy_(x):
        y = x * 2
        v = y.detach().numpy().copy()  # break
        y.sum().backward()
        return y, v

    def asarray(x):
        y = x * 2
        v = np.asarray(y.detach()).copy()  # break
        y.sum().backward()
        return y, v

    def print_(x):
        y = x * 2
        print(y)  # break
        y.sum().backward()
        return y

    def repr_(x):
        y = x * 2
        text = repr(y)  # break
        y.sum().backward()
        return y, text

    def numpy_on_data(x):
        y = x * 2
        z = y.data * 3  # break
        y.sum().backward()
        return y, z

    def inplace(x):
        y = x * 2
        y.add_(1)  # break
        y.sum().backward()
        return y

    def custom_function(x):
        y = _Double.apply(x)  # break
        y.sum().backward()
        return y

    def manual_seed(x):
        ad.manual_seed(5)  # break
        y = x * 2
        y.sum().backward()
        return y

    def create_graph(x):
        y = (x ** 3).sum()
        y.backward(create_graph=True)  # break
        g = x.grad.detach()
        return y, g

    def backward_inputs(x):
        y = (x ** 3).sum()
        y.backward(inputs=[x])  # break
        return y

    def tensor_hook(x):
        y = x * 2
        y.register_hook(lambda g: g * 3)
        y.sum().backward()  # break
        return y

    return {f.__name__.rstrip("_"): f for f in (
        item, bool_, float_, tolist, numpy_, asarray, print_, repr_, numpy_on_data, inplace,
        custom_function, manual_seed, create_graph, backward_inputs, tensor_hook)}


BREAKING = _breaking_steps()


def _results(step, seed, shape=(3,)):
    x = _value(shape, seed=seed, requires_grad=True)
    out = step(x)
    return tree_bits((out, x.grad))


@pytest.mark.parametrize("name", sorted(BREAKING))
def test_graph_break_warns_once_naming_the_line_and_runs_eagerly(name, capsys):
    step = BREAKING[name]
    cf = ad.compile(step)
    with recorded_warnings() as caught:
        ad.manual_seed(1)
        got = [_results(cf, seed) for seed in range(3)]
    ad.manual_seed(1)
    expected = [_results(step, seed) for seed in range(3)]
    assert got == expected
    found = breaks(caught)
    assert len(found) == 1, [str(w.message) for w in found]
    message = str(found[0].message)
    assert tagged_line(step) in message, message
    assert cf.stats == {"traces": 1, "replays": 0, "eager": 2, "graph_breaks": 1}
    with pytest.raises(GraphBreak, match="graph break at"):
        ad.compile(step, fullgraph=True)(_value((3,), requires_grad=True))
    capsys.readouterr()


def test_returning_a_tensor_whose_graph_was_not_backwarded_breaks():
    def step(x):
        return x * 2
    cf = ad.compile(step)
    x = _value((3,), requires_grad=True)
    with pytest.warns(GraphBreakWarning, match="no backward"):
        out = cf(x)  # (the break is found once the call returns: named at the call)
    assert out.requires_grad and out.grad_fn is not None  # eager: the graph is kept
    out.sum().backward()
    assert_same(x.grad, np.full(3, 2, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cf(x)
    assert cf.stats["eager"] == 1


def test_a_backward_through_ops_recorded_before_the_call_breaks():
    """The graph comes in as an argument: its forward is not on the tape, so a replay would
    run its rules on the first call's saved values. It runs eagerly instead, gradients right."""
    w = _value((3,), requires_grad=True)

    def step(loss):
        loss.backward()
        g = w.grad
        w.grad = None
        return g
    cf = ad.compile(step)
    with pytest.warns(GraphBreakWarning, match="recorded before the compiled call"):
        first = cf((w * _value((3,), seed=0)).sum())
    assert_same(first, _value((3,), seed=0))
    for seed in (1, 2):
        x = _value((3,), seed=seed)
        assert_same(cf((w * x).sum()), x)  # d sum(w x) / dw = x, this call's x
    assert cf.stats["eager"] == 2


# --- 5. random ops -------------------------------------------------------------------------------

def _dropout_step(x):
    y = F.dropout(x, 0.5, training=True)
    y.sum().backward()
    return y


def _rand_step(x):
    y = x * ad.rand(4, 3) + ad.randn(4, 3, dtype=ad.float64).float()
    y.square().sum().backward()
    return y


@pytest.mark.parametrize("step", [_dropout_step, _rand_step], ids=["dropout", "rand-randn"])
def test_random_ops_draw_fresh_numbers_at_each_replay(step):
    cf = ad.compile(step)
    ad.manual_seed(7)
    got = [_results(cf, 0, (4, 3)) for _ in range(5)]
    ad.manual_seed(7)
    expected = [_results(step, 0, (4, 3)) for _ in range(5)]
    assert got == expected
    assert len(set(got)) == 5  # a fresh draw at every call
    assert cf.stats["replays"] == 4


# --- 6. effects ----------------------------------------------------------------------------------

def test_an_lr_scheduler_inside_the_step_changes_later_replays():
    def make():
        ad.manual_seed(0)
        lin = nn.Linear(3, 1)
        opt = nn.optim.SGD(lin.parameters(), lr=0.1, momentum=0.5)
        sched = nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

        def step(x):
            opt.zero_grad()
            loss = lin(x).square().mean()
            loss.backward()
            opt.step()
            sched.step()
            return loss
        return lin, opt, step
    m1, o1, eager = make()
    m2, o2, step = make()
    cf = ad.compile(step)
    for k in range(7):
        x = _value((4, 3), seed=k)
        assert_same(cf(x), eager(x), f"step {k}")
        assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"]
    assert o2.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    assert_models_equal(m1, m2, o1, o2)
    assert cf.stats["replays"] == 6


def test_zero_grad_inside_the_step_in_place_and_to_none():
    for set_to_none in (True, False):
        def make():
            ad.manual_seed(0)
            lin = nn.Linear(3, 2)
            opt = nn.optim.Adam(lin.parameters(), lr=0.01)

            def step(x):
                opt.zero_grad(set_to_none=set_to_none)
                loss = lin(x).square().sum()
                loss.backward()
                opt.step()
                return loss, lin.weight.grad
            return lin, opt, step
        m1, o1, eager = make()
        m2, o2, step = make()
        cf = ad.compile(step)
        for k in range(4):
            x = _value((5, 3), seed=k)
            assert tree_bits(cf(x)) == tree_bits(eager(x))
        assert_models_equal(m1, m2, o1, o2)
        assert cf.stats["replays"] == 3


def test_grads_accumulate_over_two_backward_passes_and_calls():
    def make():
        return _value((3,), requires_grad=True)

    def stepper(w):
        def step(x):
            (w * x).sum().backward()
            (w * x * x).sum().backward()
            return w.grad
        return step
    w1, w2 = make(), make()
    eager, cf = stepper(w1), ad.compile(stepper(w2))
    for k in range(4):
        x = _value((3,), seed=k + 1)
        assert_same(cf(x), eager(x), f"call {k}")
    expected = sum(_value((3,), seed=k + 1).data * (1 + _value((3,), seed=k + 1).data)
                   for k in range(4))
    np.testing.assert_allclose(w2.grad.data, expected, rtol=1e-5)
    assert cf.stats["replays"] == 3


def test_returned_parameters_arguments_python_values_tuples_and_dicts():
    lin = nn.Linear(3, 2)

    def step(x, n):
        loss = lin(x).sum()
        loss.backward()
        grad = lin.weight.grad
        lin.weight.grad = None
        lin.bias.grad = None
        return {"loss": loss, "weight": lin.weight, "x": x, "n": n, "pair": (grad, "tag")}
    cf = ad.compile(step)
    for k in range(3):
        x = _value((4, 3), seed=k)
        got = cf(x, 7)
        assert got["weight"] is lin.weight and got["x"] is x
        assert got["n"] == 7 and got["pair"][1] == "tag"
        assert list(got) == ["loss", "weight", "x", "n", "pair"]
        assert tree_bits(got) == tree_bits(step(x, 7))
    assert cf.stats["replays"] == 2


# --- 7. threads ----------------------------------------------------------------------------------

def test_another_threads_ops_are_not_recorded_while_tracing():
    started, other_done = threading.Event(), threading.Event()
    w = _value((3,), requires_grad=True)

    def step(x):
        y = x * w
        if is_compiling():
            started.set()
            assert other_done.wait(10)
        loss = (y + 1).square().sum()
        loss.backward()
        g = w.grad
        w.grad = None
        return loss, g

    other = {}

    def other_thread():
        started.wait(10)
        a = _value((3,), seed=5, requires_grad=True)
        b = (a * 3).exp().sum()
        b.backward()
        other["value"], other["grad"] = b, a.grad
        other_done.set()
    thread = threading.Thread(target=other_thread)
    thread.start()
    cf = ad.compile(step)
    first = cf(_value((3,), seed=1))
    thread.join()
    a = _value((3,), seed=5).data.astype(np.float64)
    np.testing.assert_allclose(other["value"].item(), np.exp(3 * a).sum(), rtol=1e-5)
    np.testing.assert_allclose(other["grad"].data, 3 * np.exp(3 * a), rtol=1e-5)
    assert tree_bits(first) == tree_bits(step(_value((3,), seed=1)))
    x = _value((3,), seed=2)
    assert tree_bits(cf(x)) == tree_bits(step(x))
    assert cf.stats == {"traces": 1, "replays": 1, "eager": 0, "graph_breaks": 0}


def test_another_threads_backward_does_not_pause_the_trace():
    tracing, in_backward, resume = threading.Event(), threading.Event(), threading.Event()
    w = _value((3,), requires_grad=True)

    def step(x):
        y = x * w
        if is_compiling():
            tracing.set()
            assert in_backward.wait(10)
        z = y * 2  # runs while the other thread is inside backward()
        if is_compiling():
            resume.set()
        loss = z.square().sum()
        loss.backward()
        g = w.grad
        w.grad = None
        return loss, g

    def block(g):
        in_backward.set()
        assert resume.wait(10)

    def other_thread():
        a = _value((3,), seed=5, requires_grad=True)
        h = a * 3
        h.register_hook(block)
        tracing.wait(10)
        h.sum().backward()
    thread = threading.Thread(target=other_thread)
    thread.start()
    cf = ad.compile(step)
    cf(_value((3,), seed=1))
    thread.join()
    x = _value((3,), seed=2)
    assert tree_bits(cf(x)) == tree_bits(step(x))
    assert cf.stats == {"traces": 1, "replays": 1, "eager": 0, "graph_breaks": 0}


# --- 8. API --------------------------------------------------------------------------------------

def test_api_errors_and_forms():
    with pytest.raises(TypeError, match="expected a function"):
        ad.compile(3)
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(ValueError, match="cache_size"):
            ad.compile(lambda x: x, cache_size=bad)
    with pytest.raises(NotImplementedError, match="dynamic"):
        ad.compile(lambda x: x, dynamic=True)
    with pytest.raises(TypeError, match="fullgrahp"):
        ad.compile(lambda x: x, fullgrahp=True)

    def f(x):
        return x * 2
    assert ad.compile(f, disable=True) is f

    @ad.compile
    def g(x):
        return x + 1

    @ad.compile(cache_size=2)
    def h(x):
        return x - 1
    assert isinstance(g, ad.compiler.CompiledFunction) and g.__name__ == "g"
    assert h.cache_size == 2
    x = _value((2,))
    assert_same(g(x), x.data + 1)
    assert_same(g(x), x.data + 1)
    assert_same(h(x), x.data - 1)
    assert g.stats["replays"] == 1


def test_is_compiling_only_inside_a_traced_call():
    seen = []

    def f(x):
        seen.append(is_compiling())
        return x * 2
    cf = ad.compile(f)
    assert not is_compiling()
    x = _value((2,))
    cf(x)
    cf(x)
    f(x)
    assert seen == [True, False] and not is_compiling()
