"""Launched by test_distributed.py: `mpiexec -n 2 python -m mpi4py _ddp_ranks.py` (or one plain
process, world size 1). Runs every check on every rank; rank 0 prints one JSON line:
{"rank": 0, "world": n, "ranks": [{name: "ok" | error text} for each rank]} (from rank 0)."""
import json
import sys
import traceback

import numpy as np

import autodiff as ad
import autodiff.distributed as dist
import nn
from autodiff.distributed.nn import functional as DF
from nn.parallel import DistributedDataParallel as DDP

ad.set_default_dtype(ad.float64)
dist.init_process_group("mpi")
RANK, WORLD = dist.get_rank(), dist.get_world_size()
CHECKS = {}


def check(fn):
    try:
        fn()
        CHECKS[fn.__name__] = "ok"
    except Exception:
        CHECKS[fn.__name__] = traceback.format_exc(limit=6)
    return fn


def close(a, b, tol=1e-12):
    a = a.data if isinstance(a, ad.Tensor) else np.asarray(a)
    b = b.data if isinstance(b, ad.Tensor) else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def raises(cls, words, fn):
    try:
        fn()
    except cls as e:
        for w in words:
            assert w in str(e), f"{w!r} not in {e}"
        return
    raise AssertionError(f"{fn} did not raise {cls.__name__}")


def per_rank(r, shape=(2, 3)):
    """What rank r contributes: distinct values, r-dependent."""
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 10.0 * r + 1


ALL = [per_rank(r) for r in range(WORLD)]


# --- collectives ----------------------------------------------------------------------------------

@check
def all_reduce_ops():
    for op, ref in [(dist.ReduceOp.SUM, np.sum), (dist.ReduceOp.AVG, np.mean),
                    (dist.ReduceOp.MAX, np.max), (dist.ReduceOp.MIN, np.min),
                    (dist.ReduceOp.PRODUCT, np.prod)]:
        t = ad.tensor(ALL[RANK])
        data = t.data
        v = t._version
        assert dist.all_reduce(t, op=op) is None
        assert t.data is data  # in place
        assert t._version > v  # counted as an in-place change
        close(t, ref(np.stack(ALL), axis=0))
    i = ad.tensor([1 + RANK, 6], dtype=ad.int64)
    dist.all_reduce(i, op=dist.ReduceOp.BAND)
    assert i.tolist() == [1 if WORLD == 1 else 0, 6] and i.dtype == ad.int64
    raises(RuntimeError, ["AVG", "int64"], lambda: dist.all_reduce(i, op=dist.ReduceOp.AVG))
    raises(RuntimeError, ["bitwise"], lambda: dist.all_reduce(ad.ones(2), op=dist.ReduceOp.BOR))


@check
def all_reduce_non_contiguous_and_async():
    base = ad.tensor(ALL[RANK])
    view = base.T  # non-contiguous: communicated through a copy, written back
    dist.all_reduce(view)
    close(base, np.sum(ALL, axis=0))
    t = ad.tensor(ALL[RANK])
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    assert work.wait() is True and work.is_completed()
    close(t, np.mean(ALL, axis=0))
    t = ad.tensor(ALL[RANK])
    work = dist.broadcast(t, src=WORLD - 1, async_op=True)
    while not work.is_completed():
        pass
    close(t, ALL[WORLD - 1])
    p = ad.tensor([1.0, 2.0], requires_grad=True)  # a leaf that requires grad: allowed, as torch
    dist.all_reduce(p)
    close(p, np.array([1.0, 2.0]) * WORLD)


@check
def broadcast_reduce_gather_scatter():
    t = ad.tensor(ALL[RANK])
    dist.broadcast(t, src=WORLD - 1)
    close(t, ALL[WORLD - 1])
    t = ad.tensor(ALL[RANK])
    dist.reduce(t, dst=WORLD - 1, op=dist.ReduceOp.SUM)
    close(t, np.sum(ALL, axis=0) if RANK == WORLD - 1 else ALL[RANK])
    out = [ad.zeros(2, 3) for _ in range(WORLD)] if RANK == 0 else None
    dist.gather(ad.tensor(ALL[RANK]), out, dst=0)
    if RANK == 0:
        for r in range(WORLD):
            close(out[r], ALL[r])
    t = ad.zeros(2, 3)
    dist.scatter(t, [ad.tensor(a) * 2 for a in ALL] if RANK == 0 else None, src=0)
    close(t, ALL[RANK] * 2)
    raises(RuntimeError, ["invalid root rank", str(WORLD)],
           lambda: dist.broadcast(ad.ones(2), src=WORLD))
    raises(TypeError, ["Expected parameter `tensor`"], lambda: dist.all_reduce([1.0, 2.0]))


@check
def gathers_and_reduce_scatters():
    lst = [ad.zeros(2, 3) for _ in range(WORLD)]
    dist.all_gather(lst, ad.tensor(ALL[RANK]))
    for r in range(WORLD):
        close(lst[r], ALL[r])
    raises(RuntimeError, ["expected length", str(WORLD)],
           lambda: dist.all_gather([ad.zeros(2, 3)] * (WORLD + 1), ad.ones(2, 3)))
    raises(RuntimeError, ["index 0", "shape"],
           lambda: dist.all_gather([ad.zeros(3)] * WORLD, ad.ones(2, 3)))
    flat = ad.zeros(2 * WORLD, 3)
    dist.all_gather_into_tensor(flat, ad.tensor(ALL[RANK]))
    close(flat, np.concatenate(ALL))
    stacked = ad.zeros(WORLD, 2, 3)
    dist.all_gather_into_tensor(stacked, ad.tensor(ALL[RANK]))
    close(stacked, np.stack(ALL))
    # rank r's input_list[j] = ALL[r] + j; rank j receives the sum over r
    out = ad.zeros(2, 3)
    dist.reduce_scatter(out, [ad.tensor(ALL[RANK] + j) for j in range(WORLD)])
    close(out, np.sum(ALL, axis=0) + WORLD * RANK)
    out = ad.zeros(2, 3)
    big = ad.tensor(np.concatenate([ALL[RANK] + j for j in range(WORLD)]))
    dist.reduce_scatter_tensor(out, big, op=dist.ReduceOp.AVG)
    close(out, np.mean(ALL, axis=0) + RANK)


@check
def all_to_all():
    inp = ad.tensor(np.arange(2 * WORLD, dtype=np.float64) + 100 * RANK)  # rows for each rank
    out = ad.zeros(2 * WORLD)
    dist.all_to_all_single(out, inp)
    expected = np.concatenate([np.arange(2 * RANK, 2 * RANK + 2) + 100 * r for r in range(WORLD)])
    close(out, expected)
    # uneven: rank r sends r + 1 rows to every rank
    rows = RANK + 1
    inp = ad.tensor(np.full((rows * WORLD, 2), float(RANK)))
    out = ad.zeros(sum(r + 1 for r in range(WORLD)), 2)
    dist.all_to_all_single(out, inp, output_split_sizes=[r + 1 for r in range(WORLD)],
                           input_split_sizes=[rows] * WORLD)
    close(out, np.concatenate([np.full((r + 1, 2), float(r)) for r in range(WORLD)]))
    outs = [ad.zeros(1) for _ in range(WORLD)]
    dist.all_to_all(outs, [ad.tensor([10.0 * RANK + j]) for j in range(WORLD)])
    close(ad.cat(outs), np.array([10.0 * r + RANK for r in range(WORLD)]))


@check
def objects_barrier_groups():
    objs = [{"rank": RANK}, "x"] if RANK == 0 else [None, None]
    dist.broadcast_object_list(objs, src=0)
    assert objs == [{"rank": 0}, "x"], objs
    got = [None] * WORLD
    dist.all_gather_object(got, ("r", RANK))
    assert got == [("r", r) for r in range(WORLD)], got
    raises(ValueError, ["object_list"], lambda: dist.all_gather_object([], 1))
    dist.barrier()
    assert dist.barrier(async_op=True).wait()
    sub = dist.new_group([WORLD - 1])
    if RANK == WORLD - 1:
        assert dist.get_world_size(sub) == 1 and dist.get_rank(sub) == 0
        t = ad.tensor([5.0])
        dist.all_reduce(t, group=sub)
        close(t, [5.0])
    else:
        assert dist.get_rank(sub) == -1 and dist.all_reduce(ad.ones(1), group=sub) is None
    assert dist.get_backend() == "mpi" and dist.is_initialized()
    assert dist._comm() is dist._comm() and dist._comm().Get_size() == WORLD
    raises(ValueError, ["twice"], lambda: dist.init_process_group("mpi"))


# --- differentiable collectives ---------------------------------------------------------------

@check
def differentiable_all_reduce():
    # y = all_reduce(x) (SUM); rank r's loss L_r = sum(c_r * y^2), c_r = r + 1; total L = sum_r L_r
    # dL/dx_s = sum_r 2 c_r y (the same on every rank); second order: d/dx_s of sum(dL/dx_s) ...
    x = ad.tensor(ALL[RANK], requires_grad=True)
    y = DF.all_reduce(x)
    Y = np.sum(ALL, axis=0)
    close(y, Y)
    C = sum(r + 1 for r in range(WORLD))
    loss = ((RANK + 1) * y * y).sum()
    (g,) = ad.grad(loss, x, create_graph=True)
    close(g, 2 * C * Y)
    # g_s = 2 C sum_r x_r  ->  d(sum over elements of g_s)/dx_t = 2 C (summed over ranks s)
    (h,) = ad.grad(g.sum(), x)
    close(h, np.full(Y.shape, 2.0 * C * WORLD))
    x = ad.tensor(ALL[RANK], requires_grad=True)
    DF.all_reduce(x, op=dist.ReduceOp.AVG).sum().backward()
    close(x.grad, np.ones(Y.shape))  # sum over ranks of 1 / WORLD
    x = ad.tensor(ALL[RANK], requires_grad=True)
    DF.all_reduce(x, op=dist.ReduceOp.MAX).sum().backward()
    close(x.grad, np.full(Y.shape, float(WORLD) if RANK == WORLD - 1 else 0.0))


@check
def differentiable_all_gather_reduce_scatter():
    x = ad.tensor(ALL[RANK], requires_grad=True)
    parts = DF.all_gather(x)
    assert len(parts) == WORLD
    for r in range(WORLD):
        close(parts[r], ALL[r])
    # rank r weighs part j by (r + 1) * (j + 1): x_j's gradient = (j + 1) * sum_r (r + 1)
    loss = sum((RANK + 1) * (j + 1) * (p * p).sum() for j, p in enumerate(parts))
    (g,) = ad.grad(loss, x, create_graph=True)
    C = sum(r + 1 for r in range(WORLD))
    close(g, 2 * (RANK + 1) * C * ALL[RANK])
    (h,) = ad.grad(g.sum(), x)
    close(h, np.full(ALL[RANK].shape, 2.0 * (RANK + 1) * C))
    xs = [ad.tensor(ALL[RANK] * (j + 1), requires_grad=True) for j in range(WORLD)]
    out = DF.reduce_scatter(ad.zeros(2, 3), xs)
    close(out, np.sum(ALL, axis=0) * (RANK + 1))
    ((RANK + 1) * out).sum().backward()
    for j in range(WORLD):
        close(xs[j].grad, np.full((2, 3), j + 1.0))


# --- DistributedDataParallel ---------------------------------------------------------------------

def mlp(seed=0):
    ad.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


def data(n=64, seed=1):
    rng = np.random.default_rng(seed)
    return ad.tensor(rng.standard_normal((n, 5))), ad.tensor(rng.integers(0, 3, n))


def copy_params(dst, src):
    with ad.no_grad():
        for a, b in zip(dst.parameters(), src.parameters()):
            a.copy_(b)


def shard(t, batch):
    """This rank's part of a global batch of WORLD * batch samples."""
    return t[RANK * batch:(RANK + 1) * batch]


def shard_r(t, batch, r):
    return t[r * batch:(r + 1) * batch]


F = nn.functional


@check
def ddp_equivalence_plain():
    """2 ranks x batch 32 == one process x batch 64 after 5 SGD steps (1e-6, float64)."""
    ref = mlp(seed=0)
    model = mlp(seed=100 + RANK)  # different seeds: DDP broadcasts rank 0's at wrap time
    copy_params(model, ref) if RANK == 0 else None
    ddp = DDP(model)
    ref_opt = nn.optim.SGD(ref.parameters(), lr=0.1)
    opt = nn.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(5):
        x, y = data(32 * WORLD, seed=step)
        ref_opt.zero_grad()
        F.cross_entropy(ref(x), y).backward()
        ref_opt.step()
        opt.zero_grad()
        F.cross_entropy(ddp(shard(x, 32)), shard(y, 32)).backward()
        opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        close(a, b, 1e-6)


@check
def ddp_equivalence_no_sync():
    """Each rank: two micro-batches of 16, the first under no_sync, vs one process accumulating
    the four micro-batches of the global batch of 64."""
    ref = mlp(seed=0)
    model = mlp(seed=0)
    ddp = DDP(model)
    ref_opt = nn.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    opt = nn.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    for step in range(5):
        x, y = data(32 * WORLD, seed=10 + step)
        ref_opt.zero_grad()
        for k in range(2 * WORLD):
            part = slice(16 * k, 16 * (k + 1))
            (F.cross_entropy(ref(x[part]), y[part]) / (2 * WORLD)).backward()
        ref_opt.step()
        opt.zero_grad()
        xr, yr = shard(x, 32), shard(y, 32)
        with ddp.no_sync():
            (F.cross_entropy(ddp(xr[:16]), yr[:16]) / 2).backward()
        before = model[0].weight.grad.data.copy()
        (F.cross_entropy(ddp(xr[16:]), yr[16:]) / 2).backward()
        if WORLD > 1:
            assert not np.allclose(before, model[0].weight.grad.data)
        opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        close(a, b, 1e-6)


@check
def ddp_batchnorm_buffers():
    """Per-rank BatchNorm statistics: the parameters follow the mean of the per-rank losses,
    rank 0's running statistics are broadcast at each forward."""
    def net(seed):
        ad.manual_seed(seed)
        return nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    ref, model = net(0), net(RANK)
    ddp = DDP(model)
    for a, b in zip(model.parameters(), ref.parameters()):
        close(a, b)  # broadcast at wrap time
    ref_opt = nn.optim.SGD(ref.parameters(), lr=0.1)
    opt = nn.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(3):
        x, y = data(8 * WORLD, seed=20 + step)
        ref_opt.zero_grad()
        sum(F.cross_entropy(ref(shard_r(x, 8, r)), shard_r(y, 8, r)) for r in range(WORLD)
            ).__truediv__(WORLD).backward()
        ref_opt.step()
        opt.zero_grad()
        F.cross_entropy(ddp(shard(x, 8)), shard(y, 8)).backward()
        opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        close(a, b, 1e-6)
    ddp(data(8)[0])  # its start broadcasts rank 0's running statistics
    stats = [None] * WORLD
    dist.all_gather_object(stats, model[1].running_mean.data.tolist())
    assert all(s == stats[0] for s in stats), stats


@check
def ddp_buckets_overlap():
    """Tiny buckets: one per parameter, filled in reverse order; the first all-reduce starts
    while the backward still has layers to run."""
    model = mlp()
    ddp = DDP(model, bucket_cap_mb=1e-6)
    params = list(model.parameters())
    assert [b.params for b in ddp.reducer._buckets] == [[i] for i in reversed(range(len(params)))]
    x, y = data(8)
    F.cross_entropy(ddp(x), y).backward()
    log = ddp.reducer._pass.log
    launches = [e[1] for e in log if e[0] == "launch"]
    assert launches == list(range(len(params))), log
    first_launch = log.index(("launch", 0))
    nodes = [i for i, e in enumerate(log) if e[0] == "node"]
    assert first_launch < nodes[-1], log  # started before the last layer's gradients ran
    d2 = DDP(mlp())  # default: 1 MB first bucket, float64: one bucket here
    assert [b.params for b in d2.reducer._buckets] == [list(reversed(range(len(params))))]
    mixed = mlp()
    mixed[0].float()
    d3 = DDP(mixed)
    assert sorted(b.buffer.dtype.name for b in d3.reducer._buckets) == ["float32", "float64"]
    F.cross_entropy(d3(x.float()), y).backward()  # (float32 layer, then float64 ones)
    assert mixed[0].weight.grad.dtype == ad.float32 and mixed[2].weight.grad.dtype == ad.float64


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.used = nn.Linear(4, 2)
        self.unused = nn.Linear(4, 2)
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)

    def forward(self, x):
        return self.used(self.frozen(self.body(x)).tanh())


@check
def ddp_find_unused_true():
    ad.manual_seed(3)
    model = TwoHeads()
    ddp = DDP(model, find_unused_parameters=True, bucket_cap_mb=1e-6)
    assert len(ddp.reducer._params) == 6  # frozen parameters are not reduced
    x = ad.tensor(per_rank(RANK, (3, 4)))
    for _ in range(2):
        ddp.zero_grad()
        ddp(x).sum().backward()  # completes: unused parameters marked ready
    assert model.unused.weight.grad is None and model.frozen.weight.grad is None
    grads = [None] * WORLD
    dist.all_gather_object(grads, model.body.weight.grad.data.tolist())
    assert all(g == grads[0] for g in grads)


@check
def ddp_find_unused_false_raises():
    ad.manual_seed(3)
    ddp = DDP(TwoHeads())
    x = ad.tensor(per_rank(RANK, (3, 4)))
    ddp(x).sum().backward()  # finishes; the unused head's bucket never completes
    raises(RuntimeError, ["Expected to have finished reduction", "find_unused_parameters=True",
                          "unused.weight"], lambda: ddp(x))
    with ad.no_grad():
        ddp(x)  # (no check without grad, as torch)


@check
def ddp_wrap_errors():
    raises(RuntimeError, ["doesn't have any parameter"],
           lambda: DDP(nn.Linear(2, 2).requires_grad_(False)))
    raises(ValueError, ["device_ids"], lambda: DDP(nn.Linear(2, 2), device_ids=[0]))
    if WORLD > 1:
        bad = nn.Linear(3, 2 + RANK)
        raises(RuntimeError, ["'weight'", "rank 1", "[2, 3]", "[3, 3]"], lambda: DDP(bad))
    d = DDP(nn.Linear(2, 2))
    assert list(d.state_dict()) == ["module.weight", "module.bias"]
    assert repr(d).startswith("DistributedDataParallel(\n  (module): Linear(")


@check
def ddp_world_of_one_matches_module():
    if WORLD != 1:
        return
    a, b = mlp(), mlp()
    ddp = DDP(b, bucket_cap_mb=1e-6)
    x, y = data(16)
    for _ in range(2):
        F.cross_entropy(a(x), y).backward()
        F.cross_entropy(ddp(x), y).backward()
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.grad.data, q.grad.data)


# one line from rank 0 (two ranks' long lines could interleave in mpiexec's output)
GATHERED = [None] * WORLD if RANK == 0 else None
dist.gather_object(CHECKS, GATHERED, dst=0)
if RANK == 0:
    print(json.dumps({"rank": 0, "world": WORLD, "ranks": GATHERED}))
    sys.stdout.flush()
