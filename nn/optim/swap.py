"""swap_in_optimizer_params_and_state: run an optimizer on other tensors and state for a while."""
import contextlib
from collections import defaultdict
from collections.abc import Mapping

import autodiff as ad

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


def _check(optimizer, swapin_parameters, swapin_optim_state):
    """Validate the swap-in and pair it with the live groups: (state by id, [(group, saved
    group, tensors)]). Raises RuntimeError (torch's class) for each malformed part."""
    if not optimizer.state:
        raise RuntimeError(f"{_NAME}: the optimizer has no state yet; take a step first (or "
                           f"load a state_dict) so the swap-in has state to replace")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME}: swapin_optim_state must be a dict shaped as "
                           f"optimizer.state_dict() ({{'state': ..., 'param_groups': ...}}), "
                           f"got {type(swapin_optim_state).__name__}")
    if not isinstance(swapin_parameters, Mapping):
        # torch would fail on .values() with AttributeError; a TypeError says what to pass
        raise TypeError(f"{_NAME}: swapin_parameters must be a dict of name -> Tensor in the "
                        f"optimizer's parameter order (e.g. dict(model.named_parameters())), "
                        f"got {type(swapin_parameters).__name__}")
    state = swapin_optim_state.get("state")
    if not isinstance(state, dict):
        raise RuntimeError(f"{_NAME}: swapin_optim_state['state'] must be a dict from parameter "
                           f"index to that parameter's state dict, got {type(state).__name__}")
    if any(isinstance(k, ad.Tensor) for k in state):
        raise RuntimeError(f"{_NAME}: swapin_optim_state['state'] is keyed by tensors (as "
                           f"optimizer.state is); pass optimizer.state_dict(), keyed by "
                           f"parameter index")
    bad = [k for k, v in state.items() if isinstance(k, int) and not isinstance(v, dict)]
    if bad:
        raise RuntimeError(f"{_NAME}: the state of each parameter must be a dict, but "
                           f"swapin_optim_state['state'][{bad[0]!r}] is a "
                           f"{type(state[bad[0]]).__name__}")
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(f"{_NAME}: swapin_optim_state['param_groups'] must be a list of "
                           f"group dicts, got {type(groups).__name__}")
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError(f"{_NAME}: swapin_optim_state has {len(groups)} parameter group(s) "
                           f"but the optimizer has {len(optimizer.param_groups)}")
    tensors = list(swapin_parameters.values())
    used, seen, pairs = 0, set(), []
    for i, (live, saved) in enumerate(zip(optimizer.param_groups, groups)):
        if not isinstance(saved, dict):
            raise RuntimeError(f"{_NAME}: swapin_optim_state['param_groups'][{i}] must be a "
                               f"dict, got {type(saved).__name__}")
        ids = saved.get("params")
        if not isinstance(ids, list) or not all(isinstance(j, int) for j in ids):
            raise RuntimeError(f"{_NAME}: swapin_optim_state['param_groups'][{i}]['params'] "
                               f"must be a list of parameter indices (as state_dict() gives), "
                               f"got {ids!r}")
        if len(ids) != len(live["params"]):
            raise RuntimeError(f"{_NAME}: parameter group {i} has {len(ids)} parameter(s) in "
                               f"swapin_optim_state but {len(live['params'])} in the optimizer")
        only_saved = [k for k in saved if k not in live]
        only_live = [k for k in live if k not in saved]
        if only_saved or only_live:
            raise RuntimeError(f"{_NAME}: parameter group {i} must have the optimizer's keys "
                               f"exactly; only in swapin_optim_state: {only_saved}, only in "
                               f"the optimizer: {only_live}")
        seen.update(ids)
        if used + len(ids) > len(tensors):
            raise RuntimeError(f"{_NAME}: swapin_parameters has {len(tensors)} tensor(s), too "
                               f"few for the optimizer's groups (group {i} needs indices "
                               f"{used}..{used + len(ids) - 1}); give one per parameter, in "
                               f"the optimizer's order")
        pairs.append((live, saved, tensors[used:used + len(ids)]))
        used += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(f"{_NAME}: swapin_optim_state['state'] has entries {extra!r} that "
                           f"no group's 'params' names; the state must come from the same "
                           f"optimizer layout")
    return state, pairs


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer, swapin_parameters, swapin_optim_state):
    """Within the block, optimizer's groups hold swapin_parameters (in order) with the
    hyperparameters and state of swapin_optim_state (a state_dict()); restored on exit."""
    state, pairs = _check(optimizer, swapin_parameters, swapin_optim_state)
    live_state = optimizer.state
    # shallow copies: the restored groups keep their original `params` list objects
    snapshots = [dict(group) for group in optimizer.param_groups]
    try:
        swapped = defaultdict(dict)
        for live, saved, tensors in pairs:
            live["params"] = tensors
            live.update((k, v) for k, v in saved.items() if k != "params")
            for p, j in zip(tensors, saved["params"]):
                # a new dict holding the same tensors: in-place updates reach the caller's
                # state dict, new entries stay local to the block
                swapped[p] = dict(state.get(j, {}))
        optimizer.state = swapped
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = live_state
