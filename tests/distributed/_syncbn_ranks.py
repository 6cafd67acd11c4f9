"""Run by test_syncbatchnorm.py as `mpiexec -n 2 python -m mpi4py _syncbn_ranks.py`: each rank
holds its slice of one global batch (the ranks' sizes differ, one may be empty), runs
nn.SyncBatchNorm, and compares with one process's BatchNorm on the whole batch, computed on
every rank. The reference gives each rank's slice its own copy of weight and bias, so the
per-rank parameter gradients of SyncBatchNorm (torch's: the gradient of the rank's own outputs)
are exactly the gradients of those copies. With the argument `single` (one process, no
mpiexec: world size 1) it checks that SyncBatchNorm is BatchNorm. Prints one JSON line per
rank, gathered on rank 0: {"rank": 0, "checks": [{check: [max abs error, tolerance]} per rank]}."""
import json
import sys

import numpy as np

import autodiff as ad
import autodiff.distributed as dist
import nn
from nn.syncbatchnorm import SyncBatchNorm

dist.init_process_group("mpi")
RANK, WORLD = dist.get_rank(), dist.get_world_size()
CHECKS = {}


def check(name, ours, ref, tol=1e-10):
    a = np.asarray(ours.data if isinstance(ours, ad.Tensor) else ours, dtype=np.float64)
    b = np.asarray(ref.data if isinstance(ref, ad.Tensor) else ref, dtype=np.float64)
    err = float(np.max(np.abs(a - b), initial=0.0)) if a.shape == b.shape else float("inf")
    old = CHECKS.get(name, [0.0, tol])[0]
    CHECKS[name] = [max(old, err), tol]


def grad_of(t):
    """t.grad, zeros where nothing reached t (as for the bias in the second order)."""
    return np.zeros(t.shape) if t.grad is None else np.asarray(t.grad.data, dtype=np.float64)


def summed(t, group):
    """The all-reduced SUM of t's gradient over the group's ranks (a copy)."""
    out = ad.tensor(grad_of(t))
    dist.all_reduce(out, group=group)
    return out


def bcast(p, ndim):
    return p.reshape((1, -1) + (1,) * (ndim - 2))


class Reference:
    """One process: BatchNorm (affine=False) on the whole batch, then per-slice copies of the
    affine weight and bias; slice `me` is this rank's."""

    def __init__(self, kind, c, sizes, weight, bias, me, **kwargs):
        self.bn = kind(c, affine=False, **kwargs).double()
        self.bounds = np.cumsum((0,) + tuple(sizes))
        self.world, self.me = len(sizes), me
        self.weight, self.bias = weight, bias

    def __call__(self, x):
        xhat = self.bn(x)
        self.ws = [ad.tensor(self.weight, requires_grad=True) for _ in range(self.world)]
        self.bs = [ad.tensor(self.bias, requires_grad=True) if self.bias is not None else None
                   for _ in range(self.world)]
        parts = []
        for r in range(self.world):
            part = xhat[int(self.bounds[r]):int(self.bounds[r + 1])]
            part = part * bcast(self.ws[r], x.ndim)
            if self.bs[r] is not None:
                part = part + bcast(self.bs[r], x.ndim)
            parts.append(part)
        return ad.cat(parts)

    def mine(self, t):
        return t[int(self.bounds[self.me]):int(self.bounds[self.me + 1])]


def scenario(tag, kind, sizes, tail, steps=2, second_order=True, offset=3.0, dtype=np.float64,
             tol=1e-10, group=None, **kwargs):
    """`steps` training steps (first order; the last one also second order), then eval;
    sizes: the batch of each rank of the group."""
    rng = np.random.default_rng(len(tag))  # the same global batch on every rank
    c = tail[0]
    affine = kwargs.pop("affine", True)
    bias = kwargs.get("bias", True)
    m = SyncBatchNorm(c, affine=affine, process_group=group, **kwargs).to(dtype)
    weight = rng.standard_normal(c) if affine else np.ones(c)
    b = rng.standard_normal(c) if affine and bias else None
    if affine:
        with ad.no_grad():
            m.weight.copy_(ad.tensor(weight.astype(dtype)))
            if b is not None:
                m.bias.copy_(ad.tensor(b.astype(dtype)))
    kwargs.pop("bias", None)
    me = dist.get_rank(group)
    ref = Reference(kind, c, sizes, weight, b if affine else None, me, **kwargs)
    n = sum(sizes)
    for step in range(steps):
        x = rng.standard_normal((n,) + tail) * 2.0 + offset + step
        g = rng.standard_normal((n,) + tail)
        v = rng.standard_normal((n,) + tail)
        xr = ad.tensor(x, requires_grad=True)
        xs = ad.tensor(ref.mine(x).astype(dtype), requires_grad=True)
        out, out_ref = m(xs), ref(xr)
        check(f"{tag}: output", out, ref.mine(out_ref), tol)
        loss = (out * ad.tensor(ref.mine(g).astype(dtype))).sum()
        loss_ref = (out_ref * ad.tensor(g)).sum()
        params = [m.weight, m.bias] if affine else []
        copies = ([ref.ws[me], ref.bs[me]] if affine else [])
        if b is None and affine:
            params, copies = params[:1], copies[:1]
        if second_order and step == steps - 1:
            # q = <dL/dx, v>: its gradient crosses the all-reduces of the recorded backward
            gx, = ad.grad(loss, [xs], create_graph=True)
            gx_ref, = ad.grad(loss_ref, [xr], create_graph=True)
            check(f"{tag}: input grad (create_graph)", gx, ref.mine(gx_ref), tol)
            loss = (gx * ad.tensor(ref.mine(v).astype(dtype))).sum()
            loss_ref = (gx_ref * ad.tensor(v)).sum()
            tag_g = f"{tag}: second order"
        else:
            tag_g = tag
        for p in params:
            p.grad = None
        loss.backward()
        loss_ref.backward()
        check(f"{tag_g}: input grad", xs.grad, ref.mine(xr.grad), tol)
        for name, p, cp, every in zip(("weight", "bias"), params, copies,
                                      (ref.ws, ref.bs)):
            check(f"{tag_g}: {name} grad (this rank's part)", grad_of(p), grad_of(cp), tol)
            total = sum(grad_of(t) for t in every)
            check(f"{tag_g}: {name} grad summed over ranks", summed(p, group), total, tol)
        if m.running_mean is not None:
            check(f"{tag}: running_mean", m.running_mean, ref.bn.running_mean, tol)
            check(f"{tag}: running_var", m.running_var, ref.bn.running_var, tol)
            check(f"{tag}: num_batches_tracked", m.num_batches_tracked,
                  ref.bn.num_batches_tracked, 0)
    m.eval()
    ref.bn.eval()
    x = rng.standard_normal((n,) + tail) + offset
    with ad.no_grad():
        if m.running_mean is not None:
            expected = ref.mine(ref(ad.tensor(x)))
        else:  # eval never synchronises: each rank normalises with its own batch, as torch
            expected = ref.bn(ad.tensor(ref.mine(x))) * bcast(ad.tensor(weight), x.ndim)
            if b is not None:
                expected = expected + bcast(ad.tensor(b), x.ndim)
        check(f"{tag}: eval output", m(ad.tensor(ref.mine(x).astype(dtype))), expected, tol)


def two_ranks():
    scenario("3-D, batches 3 and 5", nn.BatchNorm1d, (3, 5), (3, 2), steps=3)
    scenario("2-D, momentum None, no bias", nn.BatchNorm1d, (4, 2), (3,), momentum=None,
             bias=False)
    scenario("4-D, one sample on rank 0", nn.BatchNorm2d, (1, 3), (2, 2, 2), eps=1e-3)
    scenario("5-D, affine=False, untracked", nn.BatchNorm3d, (2, 3), (2, 1, 2, 2),
             affine=False, track_running_stats=False)
    scenario("3-D, affine, untracked", nn.BatchNorm1d, (2, 3), (2, 2), steps=1,
             track_running_stats=False)
    scenario("empty batch on rank 1", nn.BatchNorm1d, (4, 0), (3,))
    scenario("mean 1e6 (two-pass numerics)", nn.BatchNorm1d, (3, 4), (2,), offset=1e6,
             second_order=False, tol=1e-8)
    scenario("float32", nn.BatchNorm1d, (3, 5), (3, 2), second_order=False, dtype=np.float32,
             tol=1e-5)
    scenario("process_group=new_group([0, 1])", nn.BatchNorm1d, (2, 3), (2,), steps=1,
             group=dist.new_group([0, 1]))
    # a group of this rank alone: world size 1, so plain BatchNorm on the rank's own batch
    alone = [dist.new_group([r]) for r in range(WORLD)][RANK]
    scenario("group of this rank alone", nn.BatchNorm1d, (3,), (2, 2), group=alone)
    # a global count of 1 raises on every rank (no rank is left waiting in a collective)
    try:
        SyncBatchNorm(2).double()(ad.ones(1 - RANK, 2, dtype=ad.float64))
        CHECKS["one value over all ranks raises"] = [1.0, 0.0]
    except ValueError as e:
        CHECKS["one value over all ranks raises"] = [float("over all ranks" not in str(e)), 0.0]
    ddp_training()


def ddp_training():
    """convert_sync_batchnorm + DistributedDataParallel, 3 SGD steps on batches of 4 per rank
    (mean loss per rank) = one process on the batch of 8 (mean loss)."""
    from nn.parallel import DistributedDataParallel

    def make():
        ad.manual_seed(0)
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(),
                             nn.Linear(4, 2)).double()

    ref, model = make(), make()
    ddp = DistributedDataParallel(SyncBatchNorm.convert_sync_batchnorm(model))
    opt = nn.optim.SGD(ddp.parameters(), lr=0.5)
    opt_ref = nn.optim.SGD(ref.parameters(), lr=0.5)
    rng = np.random.default_rng(7)
    for _ in range(3):
        x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
        mine = slice(4 * RANK, 4 * RANK + 4)
        for net, o, xb, yb in ((ddp, opt, x[mine], y[mine]), (ref, opt_ref, x, y)):
            o.zero_grad()
            loss = ((net(ad.tensor(xb)) - ad.tensor(yb)) ** 2).sum(1).mean()
            loss.backward()
            o.step()
    for (name, p), q in zip(model.state_dict().items(), ref.state_dict().values()):
        check(f"DDP + convert_sync_batchnorm: {name}", p, q)


def one_process():
    """World size 1 (no mpiexec): SyncBatchNorm is BatchNorm, no collective involved."""
    assert WORLD == 1, WORLD
    scenario("world size 1: 3-D", nn.BatchNorm1d, (5,), (3, 2))
    scenario("world size 1: 4-D, momentum None", nn.BatchNorm2d, (3,), (2, 2, 2),
             momentum=None)


if len(sys.argv) > 1 and sys.argv[1] == "single":
    one_process()
else:
    assert WORLD == 2, WORLD
    two_ranks()
# rank 0 alone prints, so that the ranks' lines cannot interleave on the shared stdout
every = [None] * WORLD
dist.all_gather_object(every, CHECKS)
if RANK == 0:
    print(json.dumps({"rank": 0, "checks": every}), flush=True)
