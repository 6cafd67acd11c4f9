"""Mutants: small planted bugs in one target function, made on its ast.

Each mutant has a stable id `file:qualname:operator:k` - k counts that operator's sites within
the function in source order (only sites inside the target's regions), so an id survives
edits elsewhere in the file - and a one-line description, the original and the mutated
snippet. `compile_mutant` turns a mutant into the code object that replaces the function's
`__code__` (see runner.py).

Nothing inside `raise`, `assert`, f-strings, docstrings or warnings is mutated: messages are
not gradient code.
"""
import ast
import copy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# binary operator swaps (+ <-> -, * <-> /)
ARITH = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
# operands swapped where the order matters
NOT_COMMUTATIVE = (ast.Sub, ast.Div, ast.MatMult, ast.Pow, ast.FloorDiv, ast.Mod)
# a term or factor dropped: which sides may remain
KEEP = {ast.Add: ("left", "right"), ast.Sub: ("left", "right"),
        ast.Mult: ("left", "right"), ast.Div: ("left",)}
FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE,
        ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
        ast.In: ast.NotIn, ast.NotIn: ast.In}
# calls not dropped: dropping them gives a type error at once or a no-op on containers
KEEP_CALLS = {"isinstance", "len", "tuple", "list", "range", "enumerate", "zip", "int",
              "float", "bool", "getattr", "setattr", "hasattr", "type", "super", "id", "iter",
              "next", "sorted", "dict", "set", "print", "errstate", "warn", "append", "pop",
              "get", "items", "values", "keys", "extend", "add", "setdefault", "acquire",
              "release", "heappush", "heappop", "heappushpop"}
SKIP = (ast.Raise, ast.Assert, ast.JoinedStr)
OPERATORS = ("arith", "swap_operands", "keep_left", "keep_right", "drop_neg", "negate",
             "drop_call", "need_index", "need_swap", "return_g", "return_none",
             "negate_cond", "flip_compare", "constant")


@dataclass(frozen=True)
class Mutant:
    file: str
    qualname: str
    operator: str
    index: int
    path: tuple        # field/index steps from the FunctionDef to the replaced node
    original: str      # source snippet before
    mutated: str       # and after
    line: int          # for reading only: ids never use line numbers

    @property
    def id(self):
        return f"{self.file}:{self.qualname}:{self.operator}:{self.index}"

    @property
    def target_key(self):
        return f"{self.file}:{self.qualname}"

    @property
    def description(self):
        return f"{_short(self.original)} -> {_short(self.mutated)}"


def _short(text, limit=90):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


@lru_cache(maxsize=None)
def parse_file(path):
    return ast.parse(Path(path).read_text())


def find_function(tree, qualname):
    """The FunctionDef of `qualname` ("f", "C.f") at module level or one class deep."""
    parts = qualname.split(".")
    body = tree.body
    for k, part in enumerate(parts):
        kinds = ast.FunctionDef if k == len(parts) - 1 else ast.ClassDef
        node = next((n for n in body if isinstance(n, kinds) and n.name == part), None)
        if node is None:
            raise LookupError(f"no {qualname} in the module")
        body = node.body
    return node


def _children(node):
    """(step, child) in source order: step is (field, index or None)."""
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, ast.AST):
            yield (field, None), value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield (field, i), item


def _is_docstring(node, parent_field):
    return (parent_field == "body" and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))


def _is_warning(node):
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "warn")


def _sites(func, regions):
    """(path, node) pre-order, source order, inside the regions, skipping messages."""
    stack = [((), func)]
    while stack:
        path, node = stack.pop()
        if path and _in_regions(node, regions):
            yield path, node
        kids = []
        for step, child in _children(node):
            if isinstance(child, SKIP) or _is_docstring(child, step[0]) or _is_warning(child):
                continue
            if isinstance(child, ast.stmt) and not _overlaps(child, regions):
                continue
            if node is func and step[0] in ("decorator_list", "args", "returns"):
                continue
            kids.append((path + (step,), child))
        stack.extend(reversed(kids))


def _in_regions(node, regions):
    line = getattr(node, "lineno", None)
    return line is not None and any(a <= line <= b for a, b in regions)


def _overlaps(node, regions):
    return any(node.lineno <= b and node.end_lineno >= a for a, b in regions)


def _need_names(func):
    """Names bound to self.needs_input_grad in func (`need = self.needs_input_grad`)."""
    names = set()
    for node in ast.walk(func):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and _is_needs(node.value)):
            names.add(node.targets[0].id)
    return names


def _is_needs(node):
    return isinstance(node, ast.Attribute) and node.attr == "needs_input_grad"


def _callee(call):
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _is_static_receiver(node):
    """np.exp(x), Cos.apply(x), math.prod(x): the receiver is a module or a class."""
    return isinstance(node, ast.Name) and (node.id[:1].isupper() or node.id in ("np", "math"))


def _negated(expr):
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
        return expr.operand
    return ast.UnaryOp(op=ast.Not(), operand=expr)


def _proposals(node, target, need_names, parent):
    """(operator, replacement node) for one site; replacements are fresh nodes."""
    out = []
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        if op in ARITH:
            out.append(("arith", ast.BinOp(node.left, ARITH[op](), node.right)))
        if op in NOT_COMMUTATIVE:
            out.append(("swap_operands", ast.BinOp(node.right, node.op, node.left)))
        for side in KEEP.get(op, ()):
            out.append((f"keep_{side}", getattr(node, side)))
    elif isinstance(node, ast.AugAssign) and type(node.op) in ARITH:
        out.append(("arith", ast.AugAssign(node.target, ARITH[type(node.op)](), node.value)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        out.append(("drop_neg", node.operand))
    elif isinstance(node, ast.Call):
        name = _callee(node)
        if name not in KEEP_CALLS:
            f = node.func
            if isinstance(f, ast.Attribute) and not _is_static_receiver(f.value):
                out.append(("drop_call", f.value))  # x.sum(0) -> x
            elif len(node.args) == 1 and not isinstance(node.args[0], ast.Starred):
                out.append(("drop_call", node.args[0]))  # f(x) -> x
    elif isinstance(node, ast.Subscript) and target.n_inputs > 1:
        base = node.value
        if _is_needs(base) or isinstance(base, ast.Name) and base.id in need_names:
            idx = node.slice
            if isinstance(idx, ast.Constant) and isinstance(idx.value, int):
                j = (idx.value + 1) % target.n_inputs
                out.append(("need_index", ast.Subscript(base, ast.Constant(j), node.ctx)))
    elif isinstance(node, ast.Assign) and _is_needs(node.value):
        t = node.targets[0]
        if isinstance(t, ast.Tuple) and len(t.elts) > 1:
            elts = [t.elts[1], t.elts[0]] + t.elts[2:]
            out.append(("need_swap", ast.Assign([ast.Tuple(elts, ast.Store())], node.value)))
    elif isinstance(node, (ast.If, ast.While)):
        kind = type(node)
        out.append(("negate_cond", kind(_negated(node.test), node.body, node.orelse)))
    elif isinstance(node, ast.IfExp):
        out.append(("negate_cond", ast.IfExp(_negated(node.test), node.body, node.orelse)))
    elif isinstance(node, ast.Compare) and type(node.ops[0]) in FLIP:
        ops = [FLIP[type(node.ops[0])]()] + node.ops[1:]
        out.append(("flip_compare", ast.Compare(node.left, ops, node.comparators)))
    elif (isinstance(node, ast.Constant) and type(node.value) in (int, float)
          and not _is_need_index(parent, need_names)):
        v = node.value
        new = {0: 1, 1: 0, 2: 1}.get(v, v + 1)
        out.append(("constant", ast.Constant(type(v)(new))))
    return out


def _is_need_index(parent, need_names):
    return (isinstance(parent, ast.Subscript)
            and (_is_needs(parent.value)
                 or isinstance(parent.value, ast.Name) and parent.value.id in need_names))


def _return_proposals(node, target):
    """A rule's returned gradients, each replaced by the upstream gradient or None."""
    out = []
    if not target.is_rule or not isinstance(node, ast.Return):
        return out
    value = node.value
    elts = value.elts if isinstance(value, ast.Tuple) else None
    if elts is None:
        return out
    for k, elt in enumerate(elts):
        if isinstance(elt, ast.Constant) and elt.value is None or isinstance(elt, ast.Starred):
            continue
        for op, rep in (("return_g", ast.Name(target.upstream, ast.Load())),
                        ("return_none", ast.Constant(None))):
            if isinstance(elt, ast.Name) and op == "return_g" and elt.id == target.upstream:
                continue  # (already the upstream gradient)
            new = elts[:k] + [rep] + elts[k + 1:]
            out.append((op, ast.Return(ast.Tuple(new, ast.Load()))))
    return out


def _negate_proposals(node):
    """A computed value negated: `gx = <arithmetic or op call>` -> `gx = -(...)`."""
    if isinstance(node, ast.Assign) and (isinstance(node.value, ast.BinOp) or _is_op_call(
            node.value)):
        return [("negate", ast.Assign(node.targets, ast.UnaryOp(ast.USub(), node.value)))]
    return []


def _is_op_call(node):
    """Cos.apply(x), apply(node, x, y): a recorded op's result."""
    return isinstance(node, ast.Call) and _callee(node) in ("apply", "apply1", "apply2")


def _all_proposals(node, target, need_names, parent):
    out = (_proposals(node, target, need_names, parent) + _return_proposals(node, target)
           + _negate_proposals(node))
    for _, rep in out:
        if isinstance(rep, ast.stmt):  # (a fresh node: unparse and compile want a line)
            ast.copy_location(rep, node)
    return out


def _text(node, rep):
    return ast.unparse(rep.test if isinstance(node, (ast.If, ast.While)) else rep)


def generate(root, target):
    """Every viable mutant of one target (compiles; changes the source)."""
    path = Path(root) / target.file
    func = find_function(parse_file(str(path)), target.qualname)
    need_names = _need_names(func)
    counts = {}
    mutants = []
    parents = {}
    for site_path, node in _sites(func, target.regions):
        parents[site_path] = node
        parent = parents.get(site_path[:-1], func)
        for op, replacement in _all_proposals(node, target, need_names, parent):
            if ast.unparse(replacement) == ast.unparse(node):
                continue
            original = ast.unparse(node.test if isinstance(node, (ast.If, ast.While)) else node)
            mutated = _text(node, replacement)
            k = counts.get(op, 0)
            counts[op] = k + 1
            mutants.append(Mutant(target.file, target.qualname, op, k, site_path,
                                  original, mutated, node.lineno))
    return [m for m in mutants if _compiles(root, m)]


def _compiles(root, mutant):
    try:
        compile_mutant(root, mutant)
    except (SyntaxError, TypeError, ValueError):
        return False
    return True


def _replace(func, path, replacement):
    node = func
    for field, index in path[:-1]:
        node = getattr(node, field) if index is None else getattr(node, field)[index]
    field, index = path[-1]
    if index is None:
        setattr(node, field, replacement)
    else:
        getattr(node, field)[index] = replacement


def _replacement(func, mutant):
    """Recomputes the mutant's replacement node at its path (generation is deterministic)."""
    node = func
    parent = func
    for field, index in mutant.path:
        parent = node
        node = getattr(node, field) if index is None else getattr(node, field)[index]
    # (the target only matters for rules: recover its signature from the FunctionDef)
    from .targets import Target, _rule_signature
    upstream, n = _rule_signature(func) if mutant.qualname.endswith(".backward") else ("", 0)
    target = Target(mutant.file, mutant.qualname, ((func.lineno, func.end_lineno),), upstream, n)
    for op, rep in _all_proposals(node, target, _need_names(func), parent):
        if op == mutant.operator and _text(node, rep) == mutant.mutated:
            return node, rep
    raise LookupError(f"{mutant.id}: the mutation no longer applies at {mutant.path}")


def mutated_function_source(root, mutant):
    """The mutated FunctionDef (a fresh tree) and its source, for --show."""
    path = Path(root) / mutant.file
    func = copy.deepcopy(find_function(parse_file(str(path)), mutant.qualname))
    _, rep = _replacement(func, mutant)
    _replace(func, mutant.path, rep)
    ast.fix_missing_locations(func)
    return func, ast.unparse(func)


def compile_mutant(root, mutant, namespace=None):
    """The code object of the mutated function (see compile_function)."""
    func, _ = mutated_function_source(root, mutant)
    return compile_function(root, mutant.file, mutant.qualname, func, namespace)


HITS = "__mutation_hits__"  # the set an instrumented function adds its key to (a builtin)


def compile_instrumented(root, file, qualname):
    """The function's code with `__mutation_hits__.add("file:qualname")` as its first
    statement: the coverage pass records the targets a test runs at no cost to other calls."""
    func = copy.deepcopy(find_function(parse_file(str(Path(root) / file)), qualname))
    hit = ast.Expr(ast.Call(ast.Attribute(ast.Name(HITS, ast.Load()), "add", ast.Load()),
                            [ast.Constant(f"{file}:{qualname}")], []))
    ast.copy_location(hit, func.body[0])
    func.body.insert(0, hit)
    return compile_function(root, file, qualname, func)


def compile_function(root, file, qualname, func, namespace=None):
    """The code object of FunctionDef `func`, compiled inside stand-ins of its classes (so
    `super()` and `__class__` resolve as in the original), with its own line numbers and file
    name. `namespace`: the globals to run the class stand-ins in (a copy is used)."""
    func.decorator_list = []
    func.returns = None
    for a in func.args.args + func.args.kwonlyargs + func.args.posonlyargs:
        a.annotation = None
    node = func
    for cls in reversed(qualname.split(".")[:-1]):
        node = ast.ClassDef(cls, [], [], [node], [])
        ast.copy_location(node, func)
    module = ast.Module([node], [])
    ast.fix_missing_locations(module)
    code = compile(module, str((Path(root) / file).resolve()), "exec")
    ns = dict(namespace or {})
    ns["__name__"] = "mutant"
    exec(code, ns)
    parts = qualname.split(".")
    value = ns[parts[0]]
    for part in parts[1:]:
        value = vars(value)[part]
    return value.__code__
