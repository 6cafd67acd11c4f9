"""Which code is mutated: the gradient rules in autodiff/ops/*.py and the engine's gradient flow.

A target is one function, named by its file and qualified name ("Mul.backward"), with the
line ranges inside it that may be mutated (the whole body, or for the engine the sections
that send and sum gradients). Chosen statically from the source (ast), so the list is the
same on every machine and needs no import of autodiff:

- every method named `backward` of a class in an ops module (the rules);
- the functions of the ops modules that rules call by name, followed transitively through
  the ops modules (`_guard`, `_transpose`, `_unreduce`, `self._geom()`, ...): a rule is only
  as right as its helpers;
- the `forward` of the gradient nodes: Node classes that only rule code creates (the fused
  gradient kernels: `ConvWeightGrad`, `TanhBackward`, the pooling scatters, ...);
- in autodiff/engine.py, ENGINE_REGIONS: `_run`'s rule call, its sending and summing of
  gradients (sections 2 to 3) and its hand-off to the next node (section 5), `_accumulate`,
  `rule_on_arrays`, and `backward()`'s .grad writes with the helpers that make them.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

OPS_DIR = "autodiff/ops"
ENGINE = "autodiff/engine.py"

# engine function -> the mutable regions of its source, each (first line containing `start`,
# up to but excluding the first later line containing `end`); None: the whole body
ENGINE_REGIONS = {
    "_run": (("if not arrays:", "if anomaly:"),       # the rule call on arrays or tensors
             ("# 3. send each gradient", "# 4. free"),  # sending on and summing
             ("# 5. the next node", "if capture is not None:")),  # the chain hand-off
    "_accumulate": None,
    "rule_on_arrays": None,
    "backward": (("for leaf, g in leaves.values():", "finally:"),),  # the .grad writes
    "_owned": None,
    "_owned_tensor": None,
}
RULE_SUFFIXES = ("Backward", "Grad")
# forward-only helpers (argument checks and promotion), not rule code, though rules call them
NOT_RULES = {f"{OPS_DIR}/_operands.py"}  # gradient nodes by name, whoever else creates them


@dataclass(frozen=True)
class Target:
    file: str            # path relative to the repository root, "autodiff/ops/conv.py"
    qualname: str        # "Convolution.backward", "_transpose"
    regions: tuple       # ((first line, last line), ...), inclusive, 1-based
    upstream: str = ""   # a rule's gradient parameter ("g"); "" for helpers
    n_inputs: int = 0    # a rule's number of inputs (for needs_input_grad index changes)

    @property
    def key(self):
        return f"{self.file}:{self.qualname}"

    @property
    def is_rule(self):
        return bool(self.upstream)


def _functions(tree):
    """(qualname, class name or None, FunctionDef) for module-level functions and methods
    (one class level deep; nested functions belong to their enclosing function)."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name, None, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    yield f"{node.name}.{item.name}", node.name, item


def _class_bases(tree):
    return {n.name: [b.id for b in n.bases if isinstance(b, ast.Name)]
            for n in tree.body if isinstance(n, ast.ClassDef)}


def _imports_from_ops(tree):
    """name -> (ops module file, name there) for `from .x import name` in an ops module."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                out[alias.asname or alias.name] = (f"{OPS_DIR}/{node.module}.py", alias.name)
    return out


def _loads(node):
    """Every name read in node (a class passed as a value counts: `_unary(Exp, "exp")`)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _calls(func):
    """Names called in func: plain names `f(...)`, `self.m(...)` methods, and classes
    created or applied `C(...)`, `C.apply(...)`."""
    names, methods = set(), set()
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                names.add(f.id)
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                if f.value.id == "self":
                    methods.add(f.attr)
                elif f.attr == "apply":
                    names.add(f.value.id)
    return names, methods


class _Module:
    def __init__(self, root, file):
        self.file = file
        self.source = (Path(root) / file).read_text()
        self.tree = ast.parse(self.source)
        self.funcs = {q: (cls, f) for q, cls, f in _functions(self.tree)}
        self.bases = _class_bases(self.tree)
        self.imports = _imports_from_ops(self.tree)

    def method(self, cls, name):
        """The qualname defining cls.name here, through bases defined in this module."""
        seen = set()
        while cls is not None and cls not in seen:
            seen.add(cls)
            if f"{cls}.{name}" in self.funcs:
                return f"{cls}.{name}"
            bases = [b for b in self.bases.get(cls, ()) if b in self.bases]
            cls = bases[0] if bases else None
        return None


def _rule_signature(func):
    args = [a.arg for a in func.args.args]
    n = len(args) - 3 + (1 if func.args.vararg else 0)
    return (args[1] if len(args) > 1 else "g"), max(n, 0)


def discover(root):
    """Every Target: the ops modules' (sorted by file then qualname), then the engine's."""
    return discover_ops(root) + engine_targets(root)


def discover_ops(root):
    """The rules, their helpers and the gradient nodes' forwards in root/autodiff/ops."""
    root = Path(root)
    files = sorted(str(p.relative_to(root)) for p in (root / OPS_DIR).glob("*.py"))
    modules = {f: _Module(root, f) for f in files}
    rules = {(f, q) for f, m in modules.items() for q in m.funcs if q.endswith(".backward")}
    # helpers: what rule code calls, transitively, within the ops modules
    reached, todo = set(rules), list(rules)
    created = {}  # (file, class) -> created from rule code only?
    while todo:
        f, q = todo.pop()
        m = modules[f]
        cls, func = m.funcs[q]
        names, methods = _calls(func)
        found = []
        for name in names:
            home = (f, name)
            if name not in m.funcs and name not in m.bases and name in m.imports:
                home = m.imports[name]
            hm = modules.get(home[0])
            if hm is None:
                continue
            if home[1] in hm.funcs and home[1].startswith("_") and home[0] not in NOT_RULES:
                found.append((home[0], home[1]))
            elif home[1] in hm.bases:
                created.setdefault(home, True)
        for name in methods:
            q2 = m.method(cls, name) if cls else None
            if q2:
                found.append((f, q2))
        for item in found:
            if item not in reached:
                reached.add(item)
                todo.append(item)
    # a class is a gradient node if rule code creates it and no other code names it (module
    # level statements included: `exp = _unary(Exp, "exp")` makes Exp a public op's node)
    for f, m in modules.items():
        for node in m.tree.body:
            parts = [node] if not isinstance(node, ast.ClassDef) else [
                item for item in node.body if not isinstance(item, ast.FunctionDef)
                or (f, f"{node.name}.{item.name}") not in reached]
            if isinstance(node, ast.FunctionDef) and (f, node.name) in reached:
                continue
            for part in parts:
                for name in _loads(part):
                    home = m.imports.get(name, (f, name)) if name not in m.bases else (f, name)
                    if home in created:
                        created[home] = False
    for f, m in modules.items():
        for cls in m.bases:
            if cls.endswith(RULE_SUFFIXES) or created.get((f, cls)):
                q = m.method(cls, "forward")
                if q and q.startswith(cls + "."):
                    reached.add((f, q))
    targets = []
    for f, q in sorted(reached):
        cls, func = modules[f].funcs[q]
        if q.endswith(".backward"):
            upstream, n = _rule_signature(func)
            targets.append(Target(f, q, ((func.lineno, func.end_lineno),), upstream, n))
        else:
            targets.append(Target(f, q, ((func.lineno, func.end_lineno),)))
    return targets


def engine_targets(root):
    source = (Path(root) / ENGINE).read_text()
    lines = source.splitlines()
    funcs = {q: f for q, _, f in _functions(ast.parse(source))}
    out = []
    for name, regions in ENGINE_REGIONS.items():
        func = funcs.get(name)
        if func is None:
            raise LookupError(f"{ENGINE}: no function {name} (update ENGINE_REGIONS in "
                              f"scripts/mutation_harness/targets.py)")
        if regions is None:
            spans = ((func.lineno, func.end_lineno),)
        else:
            spans = tuple(_region(lines, func, start, end) for start, end in regions)
        out.append(Target(ENGINE, name, spans))
    return out


def _region(lines, func, start, end):
    """(first, last) line of the region of func from the line containing `start` to the one
    before the next line containing `end`."""
    first = next((i for i in range(func.lineno, func.end_lineno + 1) if start in lines[i - 1]),
                 None)
    if first is None:
        raise LookupError(f"{ENGINE}: {func.name} has no line containing {start!r} (update "
                          f"ENGINE_REGIONS in scripts/mutation_harness/targets.py)")
    last = next((i - 1 for i in range(first + 1, func.end_lineno + 1) if end in lines[i - 1]),
                func.end_lineno)
    return first, last
