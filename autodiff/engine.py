"""The backward pass: one iterative traversal, shared by backward(), grad(), viz and testing.

Nodes are visited newest first (a node is always numbered after its inputs' nodes), from a heap
holding the nodes that have received a gradient so far. A node's gradient is complete when it
comes off the heap, since every op that consumed its output is newer; nodes that no gradient
reaches are never visited, and no separate topological sort is needed.

Gradients are summed where paths converge and only here (rules return one gradient per input;
the engine accumulates). Nothing here recurses, so a 100,000-op chain needs no recursion-limit
changes.
"""
import operator
import threading
from heapq import heappop, heappush, heappushpop

import numpy as np

from . import function as _function, versions
from .function import last_mutation
from .grad_mode import _state, set_anomaly, set_grad_enabled
from .tensor import Tensor


def toposort(roots):
    """Nodes reachable from `roots` (tensors or nodes), each before the nodes of its inputs.

    An iterative search collects the reachable nodes; sorting them by creation number (a node
    is always numbered after its inputs' nodes) gives the order, newest first.
    """
    seen, stack = set(), []
    for r in roots:
        node = r.grad_fn if isinstance(r, Tensor) else r
        if node is not None and id(node) not in seen:
            seen.add(id(node))
            stack.append(node)
    order = []
    while stack:
        node = stack.pop()
        order.append(node)
        for t in inputs_as_recorded(node):
            if t is not None:
                parent = t.grad_fn
                if parent is not None and id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
    order.sort(key=_creation_number, reverse=True)
    return order


_creation_number = operator.attrgetter("seq")


class detect_anomaly:
    """Context manager: records where each op was created and raises, naming the op and that
    line, as soon as a backward rule produces NaN or Inf. Slows things down; debug only."""

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)

    def __enter__(self):
        self._previous = set_anomaly(True), _state.check_nan
        _state.check_nan = self.check_nan
        return self

    def __exit__(self, *exc):
        set_anomaly(self._previous[0])
        _state.check_nan = self._previous[1]
        return False


def _check_finite(node, grads):
    for i, g in enumerate(grads):
        if g is not None and not np.all(np.isfinite(getattr(g, "data", g))):
            where = getattr(node, "trace", None)
            origin = ("\nThe forward call that created it:\n" + where) if where else (
                "\n(the op was created outside detect_anomaly(), so its forward line is unknown)")
            raise RuntimeError(f"{node.name} returned NaN or Inf in its gradient for input {i} "
                               f"(shape {tuple(g.shape)}).{origin}")


def _modified_error(label, arr, changed):
    now = versions.version(arr)
    kind = "float" if arr.dtype.kind == "f" else arr.dtype.name
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{kind}{arr.dtype.itemsize * 8} tensor of shape "
        f"{list(arr.shape)}], {label}, is at version {now}; expected version "
        f"{now - changed} instead. It was changed in place (x[...] = v, add_, copy_, x += y, "
        f"or through a view or detach() of it) after the op was recorded. Change a copy "
        f"(x.clone()) instead, or run the forward pass again after the change.")


def _released_error(node):
    return RuntimeError(
        f"Trying to backward through {node.name} a second time: its saved values were freed "
        f"by the first backward() to save memory. Pass retain_graph=True to the first "
        f"backward() or autodiff.grad() if you need to go through the same graph twice, or "
        f"recompute the forward pass.")


def initial_gradient(root, gradient, who, error=RuntimeError):
    """The gradient a backward pass starts from at `root`: ones for a one-element root, else
    the given gradient (checked and cast to the root's shape and dtype), as a tensor. Raises
    `error` naming `who` when root has no graph or needs a gradient it was not given."""
    if not root._requires_grad:
        raise error(
            f"{who}: the tensor (shape {tuple(root.shape)}) does not require grad and has no "
            f"grad_fn - it was not computed from a tensor with requires_grad=True, or it was "
            f"computed under no_grad()/detach().")
    if gradient is None:
        if root.data.size != 1:
            raise error(
                f"{who}: grad can be implicitly created only for scalar outputs, but this tensor "
                f"has shape {tuple(root.shape)}; pass a gradient of that shape, or reduce it "
                f"first (e.g. loss.sum().backward()).")
        ones = np.empty(root.shape, root.dtype)
        ones.fill(1)
        return Tensor._const(ones)
    if not isinstance(gradient, Tensor):
        gradient = Tensor._const(np.asarray(gradient, root.dtype))
    if gradient.shape != root.shape:
        raise error(f"{who}: gradient has shape {tuple(gradient.shape)}, but the tensor has "
                    f"shape {tuple(root.shape)}; they must match")
    if gradient.dtype != root.dtype:
        gradient = gradient.to(root.dtype)
    return gradient


def _run(roots, grad_roots, retain_graph, create_graph, capture=None, visit=None):
    """The backward pass. Returns {id(leaf): [leaf, grad]} for leaves reached (grad an ndarray
    unless create_graph), or, with `capture` (a list of tensors), their gradients only.
    Callers run it under set_grad_enabled(create_graph).

    Each node's rule gets bare ndarrays in a first-order pass, and tensors with create_graph
    (so the pass is itself recorded and can be differentiated again). `visit(node, g)`, when
    given, replaces the rule call and its checks (tensor hooks do not run then): autodiff.viz
    replays a backward pass through it.
    """
    arrays = not create_graph
    grads = {}  # node -> gradient (a list of them for multi-output nodes); keyed by identity
    leaves = {}
    heap = []  # (-creation number, node) of nodes holding a gradient: newest first
    capture_ids = _capture_keys(capture) if capture is not None else None
    captured = {}
    for r, g in zip(roots, grad_roots):
        _accumulate(r, g.data if arrays else g, grads, leaves, heap)
    anomaly = _state.anomaly and _state.check_nan
    watch = capture_ids is not None
    after = _after_node or None  # (empty but for data-parallel training)
    if after is not None:
        def leaf_grad(t):
            slot = leaves.get(id(t))
            return None if slot is None else slot[1]
    get = grads.get
    node = g = None
    if heap:
        node = heappop(heap)[1]
        g = grads.pop(node)
    while node is not None:
        # 1. hooks, retain_grad and grad()'s capture see the node's finished output gradient
        if watch or node.hooks is not None and visit is None:
            g = _output_hooks(node, g, arrays, capture_ids, captured)
        follow = None  # the first node this one makes pending: often the next to run
        if g is not None:
            # 2. the rule: one gradient (or None) per input
            inputs = node.inputs
            n = len(inputs)
            changed = node.seq < last_mutation[0]  # in-place changes since it was recorded:
            if changed:  # its inputs as they were then, checked unchanged where it reads them
                inputs = inputs_as_recorded(node)
            if visit is not None:
                input_grads = visit(node, g)
            else:
                if node.released and node.needs_freed_values():
                    raise _released_error(node)
                if changed:
                    _check_versions(node, inputs)
                if not arrays:
                    input_grads = node.backward(g, node.output(), *inputs)
                elif n == 1:  # (rule_on_arrays, its common cases written out)
                    input_grads = node.backward(g, node.out, inputs[0].data)
                elif n == 2 and not node.has_none_input:
                    input_grads = node.backward(g, node.out, inputs[0].data, inputs[1].data)
                elif n == 3 and not node.has_none_input:  # (linear with a bias)
                    x, y, z = inputs
                    input_grads = node.backward(g, node.out, x.data, y.data, z.data)
                else:
                    input_grads = rule_on_arrays(node, g, inputs)
            if anomaly:
                _check_finite(node, input_grads)
            # 3. send each gradient to its input: summed per producing node (only here) and
            # queued; a chain hands its gradient to the next node without the heap or dict
            follow_g = None
            needs = node.needs_input_grad
            i = 0
            while i < n:  # (an index loop: cheaper than zip() over one or two inputs)
                gi = input_grads[i]
                if gi is not None and needs[i]:
                    x = inputs[i]
                    parent = x.grad_fn
                    if parent is None or parent.n_outputs != 1:
                        _accumulate(x, gi, grads, leaves, heap)
                    elif parent is follow:
                        follow_g = follow_g + gi
                    else:
                        prev = get(parent)
                        if prev is not None:
                            grads[parent] = prev + gi
                        elif follow is None:
                            follow, follow_g = parent, gi
                        else:
                            grads[parent] = gi
                            heappush(heap, (-parent.seq, parent))
                i += 1
            if after is not None and node in after:
                for fn in tuple(after[node]):
                    fn(leaf_grad)
            # 4. free what the rule needed, unless the graph is to be used again
            if not retain_graph:
                node.released = True
                if node.saved:
                    for slot in node.saved:
                        setattr(node, slot, None)
            del input_grads
        # 5. the next node: the newest holding a gradient
        if follow is None:
            node = g = None
            if heap:
                node = heappop(heap)[1]
                g = grads.pop(node)
        elif heap:
            grads[follow] = follow_g
            node = heappushpop(heap, (-follow.seq, follow))[1]
            g = grads.pop(node)
        else:
            node, g = follow, follow_g
        follow_g = None
    if capture is not None:
        return _captured_leaves(capture_ids, leaves, captured, arrays)
    return leaves


def rule_on_arrays(node, g, inputs=None):
    """node.backward on bare ndarrays: g, the saved output and the inputs' arrays (the pass
    above writes its common cases out)."""
    inputs = node.inputs if inputs is None else inputs
    return node.backward(g, node.out, *[None if x is None else x.data for x in inputs])


def inputs_as_recorded(node):
    """node's inputs as they were when it was recorded: a tensor whose history an in-place
    op (or detach_) rewrote since is replaced by the stand-in that kept its earlier place in
    the graph (see autodiff/inplace.py)."""
    inputs = node.inputs
    if node.seq > last_mutation[0]:
        return inputs
    for i, x in enumerate(inputs):
        if x is not None and x._history is not None:
            for seq, earlier in x._history:
                if seq > node.seq:
                    inputs = inputs[:i] + (earlier,) + inputs[i + 1:]
                    break
    return inputs


def _check_versions(node, inputs):
    """Raises if a value node's rule reads was changed in place, or detached in place, after
    node was recorded."""
    for label, arr, since, tensor in node.read_arrays(inputs):
        changed = versions.changes_since(arr, since)
        if changed:
            raise _modified_error(label, arr, changed)
        if tensor is not None and tensor._detached_in_place:
            raise RuntimeError(
                f"Trying to use a saved tensor that has been detached in-place, i.e. with "
                f".detach_(): {label}. If you need it later, detach a copy instead "
                f"(y = x.detach()).")


def _capture_keys(capture):
    """grad()'s inputs, keyed as the pass sees them: a leaf by identity, a non-leaf by its
    node and output index; each key maps to the positions it fills."""
    keys = {}
    for k, t in enumerate(capture):
        key = id(t) if t.grad_fn is None else (id(t.grad_fn), t._output_nr)
        keys.setdefault(key, []).append(k)
    return keys


def _captured_leaves(capture_ids, leaves, captured, arrays):
    for key, ks in capture_ids.items():
        if isinstance(key, int) and key in leaves:
            leaf, g = leaves[key]
            g = _run_leaf_hooks(leaf, Tensor._const(g) if arrays else g)
            for k in ks:
                captured[k] = g
    return captured


def _accumulate(x, g, grads, leaves, heap):
    """Adds g to x's gradient: kept per leaf, or per producing node (queued on first arrival)."""
    node = x.grad_fn
    if node is None:
        slot = leaves.get(id(x))
        if slot is None:
            leaves[id(x)] = [x, g]
        else:
            slot[1] = slot[1] + g
        return
    if node.n_outputs == 1:
        prev = grads.get(node)
        if prev is None:
            grads[node] = g
            heappush(heap, (-node.seq, node))
        else:
            grads[node] = prev + g
    else:
        lst = grads.get(node)
        if lst is None:
            lst = grads[node] = [None] * node.n_outputs
            heappush(heap, (-node.seq, node))
        k = x._output_nr
        lst[k] = g if lst[k] is None else lst[k] + g


def _output_hooks(node, g, arrays, capture_ids, captured):
    """Runs tensor hooks / retain_grad / grad() capture on a node's finished output gradients
    (hooks see tensors, as in PyTorch); None if nothing is left to send on."""
    hooks = node.hooks
    multi = node.n_outputs > 1
    gs = list(g) if multi else [g]
    if arrays:
        gs = [None if a is None else Tensor._const(a) for a in gs]
    for k in range(node.n_outputs):
        gk = gs[k]
        if gk is None:
            continue
        if hooks is not None:
            fns = hooks.fns.get(k)
            if fns:
                for fn in tuple(fns):  # (a hook may remove itself)
                    gk = _hook_result(fn, gk, fn(gk))
            ref = hooks.retained.get(k)
            t = ref() if ref is not None else None
            if t is not None:
                # .grad gets its own copy (PyTorch clones too): the gradient flows on, and a
                # rule may hand the same array (or a read-only view) to a leaf's .grad
                stored = gk.clone() if _state.enabled else Tensor._const(np.array(gk.data))
                with _grad_lock:
                    t._grad = stored if t._grad is None else t._grad + stored
        if capture_ids is not None:
            for idx in capture_ids.get((id(node), k), ()):
                captured[idx] = gk
        gs[k] = gk
    if arrays:
        gs = [None if t is None else t.data for t in gs]
    return gs if multi else gs[0]


def _run_leaf_hooks(leaf, g):
    """A leaf's tensor hooks run on its finished gradient g (a tensor), each result checked."""
    if leaf._hooks:
        for fn in tuple(leaf._hooks):  # (a hook may remove itself)
            g = _hook_result(fn, g, fn(g))
    return g


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates gradients of `tensors` into the .grad of the leaves that require grad.

    `inputs`, when given, accumulates into exactly those tensors instead, leaves or not (a
    non-leaf among them keeps retaining its .grad afterwards, as in PyTorch).
    """
    tracer = _function._tracer
    if tracer is not None and tracer.mine():  # autodiff.compile is tracing this call
        return tracer.backward(tensors, grad_tensors, retain_graph, create_graph, inputs)
    roots = _as_tuple(tensors)
    if inputs is not None:
        inputs = _checked_inputs(inputs, "backward()")
    if grad_tensors is None or isinstance(grad_tensors, Tensor) or np.isscalar(grad_tensors):
        grad_tensors = (grad_tensors,) * len(roots) if grad_tensors is None else (grad_tensors,)
    if len(grad_tensors) != len(roots):
        raise RuntimeError(f"backward: got {len(roots)} tensors but {len(grad_tensors)} gradients")
    if retain_graph is None:
        retain_graph = create_graph
    g0 = [initial_gradient(r, g, "backward()") for r, g in zip(roots, grad_tensors)]
    only = None
    if inputs is not None:
        only = set()
        for t in inputs:
            if t.grad_fn is None:
                only.add(id(t))
            else:  # the pass stores a non-leaf's gradient where retain_grad() asks it to
                t.retain_grad()
    owned = set()
    post = []  # leaves with post-accumulate-grad hooks
    with set_grad_enabled(create_graph):
        leaves = _run(roots, g0, retain_graph, create_graph)
        # .grad's read-add-write under one lock: concurrent passes into a leaf lose nothing
        lock = _grad_lock
        lock.acquire()  # (cheaper than `with` on this hot path)
        try:
            for leaf, g in leaves.values():
                if not leaf._requires_grad or (only is not None and id(leaf) not in only):
                    continue
                if leaf._hooks:  # user code runs without the lock: a hook may call backward
                    lock.release()
                    try:
                        g = _run_leaf_hooks(leaf, g if create_graph else Tensor._const(g))
                    finally:
                        lock.acquire()
                    if not create_graph:
                        g = g.data
                if create_graph:
                    g = _owned_tensor(g, owned)
                    leaf._grad = g if leaf._grad is None else leaf._grad + g
                else:
                    store_grad(leaf, g, owned)
                if leaf._post_accumulate_hooks:
                    post.append(leaf)
        finally:
            lock.release()
        for leaf in post:  # after every .grad is written, outside the lock (user code)
            for fn in tuple(leaf._post_accumulate_hooks):
                fn(leaf)
    if getattr(_queued, "callbacks", None):
        _run_queued()


def store_grad(leaf, arr, owned):
    """leaf.grad += arr (a first-order pass's gradient array), as a new tensor whose array no
    other leaf holds (`owned`: the arrays already stored by this pass)."""
    g = _owned(arr, owned)
    leaf._grad = g if leaf._grad is None else leaf._grad + g


def _owned(arr, owned):
    """A gradient array as a tensor safe to store in .grad: its own writable array, shared
    with no other leaf (rules may return views or the same array for two inputs)."""
    if arr.base is not None or id(arr) in owned or not arr.flags.writeable:
        arr = arr.copy()
    owned.add(id(arr))
    return Tensor._const(arr)


def _owned_tensor(g, owned):
    """_owned for a recorded gradient (create_graph): a recorded copy where its array is
    shared or read-only, so two leaves never hold the same .grad object or memory."""
    arr = g.data
    if arr.base is not None or id(arr) in owned or not arr.flags.writeable:
        g = g.clone()
        arr = g.data
    owned.add(id(arr))
    return g


def _checked_inputs(inputs, who):
    """backward()'s or grad()'s `inputs` as a tuple, with PyTorch's errors (PyTorch's wording
    first): empty, not a tensor, or a tensor that does not require grad."""
    inputs = _as_tuple(inputs)
    if not inputs:
        fix = ("leave `inputs` out to accumulate into every leaf that requires grad"
               if who == "backward()" else "pass at least one tensor to differentiate against")
        raise RuntimeError(f"`inputs` argument to `{who}` cannot be empty. Name the tensors whose "
                           f"gradients you want, or {fix}.")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise RuntimeError(
                f"all inputs have to be Tensors, but got {type(t).__name__}: input {i} of "
                f"{who} is {t!r:.60}")
        if not t._requires_grad:
            first = ("One of the differentiated Tensors does not require grad" if who == "grad()"
                     else "can't retain_grad on Tensor that has requires_grad=False")
            raise RuntimeError(
                f"{first}: input {i} of {who} (shape {tuple(t.shape)}) has requires_grad=False, "
                f"so no gradient flows to it; only tensors with requires_grad=True (or computed "
                f"from one) can be differentiated against. Set requires_grad=True on the leaf "
                f"before the forward pass, or drop it from `inputs`.")
    return inputs


def _hook_name(fn):
    return getattr(fn, "__name__", "<unknown>")


def _hook_result(fn, g, new):
    """What tensor hook `fn` made of gradient g: None keeps g; a replacement must be a tensor
    of g's dtype and shape (PyTorch's checks and wording, then the shapes/dtypes and the fix)."""
    if new is None:
        return g
    if not isinstance(new, Tensor):
        raise TypeError(
            f"expected Variable, but hook returned '{type(new).__name__}': tensor hook "
            f"'{_hook_name(fn)}' must return a Tensor (the new gradient) or None (to keep the "
            f"gradient it was given)")
    if new.dtype != g.dtype:
        from .dtypes import wrap  # (autodiff.float64 whether g is an array or a tensor)
        was, got = wrap(g.dtype), wrap(new.dtype)
        raise RuntimeError(
            f"hook '{_hook_name(fn)}' has changed the type of value (was {was} got "
            f"{got}): a tensor hook must return a gradient of the tensor's dtype; cast "
            f"its result back, e.g. return new.to({was})")
    if new.shape != g.shape:
        raise RuntimeError(
            f"hook '{_hook_name(fn)}' has changed the size of value: it was given a gradient of "
            f"shape {tuple(g.shape)} and returned one of shape {tuple(new.shape)}. A tensor "
            f"hook must return a gradient of the tensor's shape: scale or mask it (g * mask) "
            f"rather than index or reduce it, or return None to keep it.")
    return new


# The one lock held while a .grad is read, added to and written back (backward() and retained
# non-leaf grads), so that passes running in several threads lose no update.
_grad_lock = threading.Lock()

# For code that acts while a backward pass runs (data-parallel training starts averaging a
# gradient across processes as soon as it is final, overlapping the rest of the pass):
_after_node = {}  # node -> [fn(leaf_grad)], run right after the node's rule has sent its grads
_queued = threading.local()  # .callbacks: run at the end of this thread's backward()


def register_after_node(node, fn):
    """Run fn(leaf_grad) in each backward pass through `node`, right after its gradients are
    sent on; leaf_grad(t) is the gradient this pass has accumulated for leaf t so far (an
    ndarray, a Tensor under create_graph, or None). A leaf's gradient is final once the oldest
    node that consumes it has run (nodes run newest first). Returns a handle with .remove()."""
    fns = _after_node.setdefault(node, [])
    fns.append(fn)
    return _AfterNodeHandle(node, fn)


class _AfterNodeHandle:
    __slots__ = ("node", "fn")

    def __init__(self, node, fn):
        self.node, self.fn = node, fn

    def remove(self):
        fns = _after_node.get(self.node)
        if fns is not None and self.fn in fns:
            fns.remove(self.fn)
            if not fns:
                del _after_node[self.node]


def queue_callback(fn):
    """Run fn() once at the end of the current backward() in this thread, after every .grad is
    written and the post-accumulate-grad hooks have run (torch's
    Variable._execution_engine.queue_callback); called outside a pass, at the end of the next."""
    callbacks = getattr(_queued, "callbacks", None)
    if callbacks is None:
        callbacks = _queued.callbacks = []
    callbacks.append(fn)


def _run_queued():
    while True:  # (a callback may queue another)
        callbacks = getattr(_queued, "callbacks", None)
        if not callbacks:
            return
        _queued.callbacks = None
        for fn in callbacks:
            fn()


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, materialize_grads=False):
    """The gradients of `outputs` with respect to `inputs`, returned (not accumulated in .grad).

    Like torch.autograd.grad: returns a tuple with one Tensor (or None, if allow_unused) per input.
    """
    outs = _as_tuple(outputs)
    ins = _checked_inputs(inputs, "grad()")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outs) if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outs):
        raise RuntimeError(f"grad(): got {len(outs)} outputs but {len(grad_outputs)} grad_outputs")
    if retain_graph is None:
        retain_graph = create_graph
    g0 = [initial_gradient(o, g, "grad()") for o, g in zip(outs, grad_outputs)]
    with set_grad_enabled(create_graph):
        captured = _run(outs, g0, retain_graph, create_graph, capture=list(ins))
    result = []
    for i, t in enumerate(ins):
        g = captured.get(i)
        if g is None:
            if materialize_grads:
                g = Tensor._const(np.zeros(t.shape, t.dtype))
            elif not allow_unused:
                raise RuntimeError(
                    f"grad(): input {i} (shape {tuple(t.shape)}) was not used to compute the "
                    f"outputs, so it has no gradient. Pass allow_unused=True to get None for it, "
                    f"or materialize_grads=True to get zeros.")
        elif not create_graph and g.grad_fn is not None:
            g = g.detach()
        result.append(g)
    return tuple(result)


def walk(roots, grad_roots, visit):
    """The backward traversal with `visit(node, g) -> one gradient per input` in place of each
    node's rule, freeing nothing and running no hooks. grad_roots: one checked gradient array
    per root (see initial_gradient). Returns {id(leaf): [leaf, gradient array]}. autodiff.viz
    replays backward passes with it."""
    with set_grad_enabled(False):
        return _run(roots, [Tensor._const(g) for g in grad_roots], True, False, visit=visit)
