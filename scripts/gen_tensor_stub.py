"""Writes autodiff/tensor.pyi, the type stub of autodiff/tensor.py, from the live `Tensor` class.

Most of Tensor's methods and operators (exp, sum, reshape, +, @, add_, ...) are attached at
import time by the table in autodiff/tensor_methods.py (the in-place ones by autodiff/inplace.py's
METHODS), so neither a reader of tensor.py nor an IDE or type checker can see them. This script
imports autodiff and writes what is really on the class, so nothing is maintained twice:

- every method, property and operator, in the order of the class (tensor.py's own members first,
  then the attached ones, each under a comment naming the function that implements it);
- each signature from `inspect.signature` of the installed function, with the first parameter
  named `self` (it is bound to the tensor); numpy-style wrappers (functools.wraps, such as the
  reductions' axis=/keepdims=) also get the keyword-only parameters of the wrapper;
- as docstring, the first sentence of the function's docstring; a lambda or closure without one
  gets the expression it returns, read from its source (`Returns cast(self, np.float32).`);
- the rest of tensor.py's module level (is_tensor, grad_state, and the private helpers other
  modules import, which a type checker would otherwise miss once the stub hides tensor.py).

Return and attribute types are the one fact the live objects do not carry (the code has no
annotations). They come from, in order: an annotation on the function itself; the TYPES table
below; in-place methods (autodiff/inplace.py) return self (`Self`); anything else attached by
tensor_methods.py returns a Tensor. So TYPES holds tensor.py's own members and the attached ones
that do not return a Tensor; the script fails when an entry is no longer used.

    python scripts/gen_tensor_stub.py          # rewrites autodiff/tensor.pyi
    python scripts/gen_tensor_stub.py --check  # exit status 1 (and no write) if it is stale

tests/test_tensor_stub.py fails when the committed stub differs from a fresh one.
"""
import argparse
import ast
import builtins
import difflib
import functools
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import autodiff  # noqa: E402,F401  (imports tensor_methods, which attaches the methods)

# (the module: `from autodiff import tensor` is the creation function autodiff.tensor)
tensor_module = importlib.import_module("autodiff.tensor")

STUB = ROOT / "autodiff" / "tensor.pyi"
SCRIPT = "scripts/gen_tensor_stub.py"
WIDTH = 100  # pyproject.toml's line length

# The result varies with the arguments (x.max() is a Tensor, x.max(dim) a (values, indices)
# pair): no annotation, so a type checker takes it as Any rather than reporting a wrong type.
VARIES = object()

# Return types (methods, functions) and attribute types (properties, slots, class attributes)
# that the rules above do not give. Keys are paths inside autodiff/tensor.py.
TYPES = {
    # Tensor's own state (tensor.py)
    "Tensor.data": "np.ndarray",
    "Tensor._requires_grad": "bool",
    "Tensor.grad_fn": "Node | None",
    "Tensor._grad": "Tensor | None",
    "Tensor._hooks": "list[Callable[..., Any]] | None",
    "Tensor.name": "str | None",
    "Tensor._make": "Tensor",
    "Tensor._const": "Tensor",
    "Tensor.requires_grad": "bool",
    "Tensor.requires_grad_": "Self",
    "Tensor.grad": "Tensor | None",
    "Tensor.is_leaf": "bool",
    "Tensor.detach": "Tensor",
    "Tensor.as_subclass": "Tensor",
    "Tensor.detach_": "Self",
    "Tensor.retain_grad": "None",
    "Tensor.retains_grad": "bool",
    "Tensor.register_hook": "_HookHandle",
    "Tensor.backward": "None",
    "Tensor.shape": "tuple[int, ...]",
    "Tensor.dtype": "np.dtype",
    "Tensor.ndim": "int",
    "Tensor.device": "str",
    "Tensor.dim": "int",
    "Tensor.size": VARIES,  # the shape, or one dimension's length
    "Tensor.numel": "int",
    "Tensor.__len__": "int",
    "Tensor.__iter__": "Iterator[Tensor]",
    "Tensor.__bool__": "bool",
    "Tensor.__float__": "float",
    "Tensor.__int__": "int",
    "Tensor.__index__": "int",
    "Tensor.__hash__": "int",
    "Tensor.numpy": "np.ndarray",
    "Tensor.__array__": "np.ndarray",
    "Tensor.item": "float | int | bool",
    "Tensor.tolist": "Any",
    "Tensor.cpu": "Self",
    "Tensor.__reduce_ex__": "tuple[Any, ...]",
    "Tensor.__repr__": "str",
    "Tensor.__str__": "str",
    # attached by tensor_methods.py and not returning a Tensor
    "Tensor.max": VARIES,
    "Tensor.min": VARIES,
    "Tensor.sort": "values_indices",
    "Tensor.topk": "values_indices",
    "Tensor.split": "tuple[Tensor, ...]",
    "Tensor.chunk": "tuple[Tensor, ...]",
    "Tensor.unbind": "tuple[Tensor, ...]",
    "Tensor.allclose": "bool",
    "Tensor.__format__": "str",
    "Tensor.__setitem__": "None",
    "Tensor.__array_ufunc__": "Any",
    # the rest of tensor.py
    "_HookHandle._hooks": "list[Callable[..., Any]]",
    "_HookHandle._hook": "Callable[..., Any]",
    "_HookHandle.remove": "None",
    "_to_array": "np.ndarray",
    "_check_requires_grad": "None",
    "_rebuild": "Tensor",
    "_axis": "int",
    "is_tensor": "bool",
}

# Where the names that annotations use come from. Objects are resolved (and checked) at import.
TYPING_NAMES = {"Any": "typing", "Callable": "typing", "Iterator": "typing",
                "Self": "typing_extensions"}
AUTODIFF_NAMES = {"Node": "autodiff.function", "values_indices": "autodiff.ops.reduce"}

# object declares these returning bool; Tensor's comparisons are elementwise
_OBJECT_BOOL_DUNDERS = {"__eq__", "__ne__"}
_SKIP = {"__dict__", "__weakref__", "__slots__", "__module__", "__doc__", "__qualname__",
         "__firstlineno__", "__static_attributes__", "__annotations__"}
_P = inspect.Parameter


class _Text:
    """Shows as its text in a rendered signature (a default value, an annotation)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


# --- what a member is and where it comes from ------------------------------------------------

def _function_of(value):
    """The function behind a class attribute (None for plain data)."""
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    if isinstance(value, property):
        return value.fget
    return value if callable(value) and not isinstance(value, type) else None


def _origin(fn):
    """'module.qualname' of the function that implements a member."""
    fn = inspect.unwrap(fn)
    return f"{getattr(fn, '__module__', None) or 'builtins'}.{fn.__qualname__}"


def _is_own(fn):
    """True if fn is written in tensor.py itself (not attached by tensor_methods/inplace)."""
    return fn is None or getattr(inspect.unwrap(fn), "__module__", "builtins") in (
        tensor_module.__name__, "builtins")


# --- docstrings --------------------------------------------------------------------------------

def _first_sentence(doc):
    if not doc:
        return None
    paragraph = inspect.cleandoc(doc).split("\n\n")[0]
    text = " ".join(paragraph.split())
    end = re.search(r"(?<=[.!?])\s+(?=[A-Z(`\[])", text)
    return text[:end.start()] if end else text


@functools.lru_cache(maxsize=None)
def _lambdas(module_name):
    """Every lambda in a module's source: (line, compiled code, body source)."""
    module = sys.modules[module_name]
    found = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Lambda):
            outer = compile(ast.Expression(node), module.__file__, "eval")
            code = next(c for c in outer.co_consts if hasattr(c, "co_code"))
            found.append((node.lineno, code, ast.unparse(node.body)))
    return found


def _returned_expression(fn):
    """The source of what a lambda, or a one-line closure, returns; None for anything else."""
    code = fn.__code__
    if fn.__name__ == "<lambda>":
        same = {body for line, c, body in _lambdas(fn.__module__)
                if line == code.co_firstlineno and c.co_names == code.co_names
                and c.co_varnames == code.co_varnames and c.co_consts == code.co_consts}
        return same.pop() if len(same) == 1 else None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else []
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    # name the functions a closure calls: fn(other, self) -> add(other, self)
    cells = dict(zip(code.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            name = getattr(cells.get(node.id), "__name__", None)
            return ast.copy_location(ast.Name(name, node.ctx), node) if name else node

    return ast.unparse(Rename().visit(body[0].value))


def _doc(fn, own):
    if not inspect.isfunction(inspect.unwrap(fn) if fn is not None else None):
        return None  # data, or a builtin such as object.__hash__
    doc = _first_sentence(fn.__doc__)  # (functools.wraps copies the wrapped function's)
    if doc or own:
        return doc
    # glue written in tensor_methods.py without a docstring: a lambda or a closure
    if fn.__name__ == "<lambda>" or "<locals>" in fn.__qualname__:
        expression = _returned_expression(fn)
        if expression is not None:
            return f"Returns {expression}."
        factory = fn.__qualname__.split(".<locals>")[0]
        return _first_sentence(getattr(getattr(sys.modules[fn.__module__], factory, None),
                                       "__doc__", None))
    return None


def _docstring(text, indent):
    """A docstring body within WIDTH columns."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    pad = " " * indent
    if indent + len(text) + 6 <= WIDTH:
        return [f'{pad}"""{text}"""']
    lines = textwrap.wrap('"""' + text, WIDTH - indent, break_long_words=False,
                          break_on_hyphens=False)
    if indent + len(lines[-1]) + 3 <= WIDTH:
        lines[-1] += '"""'
    else:
        lines.append('"""')
    return [pad + line for line in lines]


# --- signatures and types ----------------------------------------------------------------------

def _default(value):
    if value is None or type(value) in (bool, int, float, str):
        text = repr(value)
        try:
            if ast.literal_eval(text) == value:
                return _Text(text)
        except (ValueError, SyntaxError):
            pass
    return _Text("...")


def _annotation(annotation):
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and annotation.__module__ == "builtins":
        return annotation.__name__
    return inspect.formatannotation(annotation)


def _parameters(fn, bound):
    """inspect.signature's parameters; a functools.wraps wrapper adds its keyword-only ones."""
    try:
        signature = inspect.signature(fn)  # follows __wrapped__ to the documented function
    except (TypeError, ValueError):
        return [_P("self", _P.POSITIONAL_ONLY)] if bound else []
    params = list(signature.parameters.values())
    if inspect.unwrap(fn) is not fn:
        wrapper = inspect.signature(fn, follow_wrapped=False).parameters.values()
        names = {p.name for p in params}
        extra = [p for p in wrapper if p.kind is _P.KEYWORD_ONLY and p.name not in names]
        at = next((i for i, p in enumerate(params) if p.kind is _P.VAR_KEYWORD), len(params))
        params[at:at] = extra
    if bound and params and params[0].kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD):
        params[0] = params[0].replace(name="self")  # ops take x; as a method it is the tensor
    out = []
    for p in params:
        changes = {}
        if p.default is not _P.empty:
            changes["default"] = _default(p.default)
        if p.annotation is not _P.empty:
            changes["annotation"] = _Text(_annotation(p.annotation))
        out.append(p.replace(**changes))
    return out


class _Types:
    """Looks up TYPES, and records which entries were used (an unused one is stale)."""

    def __init__(self):
        self.used = set()

    def get(self, path, fn=None, default=None):
        if fn is not None:
            annotation = getattr(inspect.unwrap(fn), "__annotations__", {}).get("return")
            if annotation is not None:
                return _annotation(annotation)
        if path in TYPES:
            self.used.add(path)
            return TYPES[path]
        return default


# --- rendering ----------------------------------------------------------------------------------

class _Writer:
    def __init__(self):
        self.lines = []

    def add(self, *lines):
        self.lines.extend(lines)

    def function(self, name, fn, returns, doc, indent, bound, decorators=(), comment=None,
                 ignore=None):
        pad = " " * indent
        # inspect renders the '/' and '*' separators between parameter kinds
        text = str(inspect.Signature(_parameters(fn, bound)))[1:-1]
        arrow = f" -> {returns}" if returns is not None else ""
        tail = ":" if doc else ": ..."
        if ignore:
            tail += f"  # type: ignore[{ignore}]"
        if comment:
            self.add(f"{pad}# {comment}")
        self.add(*(f"{pad}@{d}" for d in decorators))
        line = f"{pad}def {name}({text}){arrow}{tail}"
        if len(line) <= WIDTH:
            self.add(line)
        else:  # one parameter a line
            parts = [part.strip() for part in _split_parameters(text)]
            self.add(f"{pad}def {name}(", *(f"{pad}    {part}," for part in parts),
                     f"{pad}){arrow}{tail}")
        if doc:
            self.add(*_docstring(doc, indent + 4))


def _split_parameters(text):
    """Splits a rendered parameter list at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _shadowed(annotation, names):
    """builtins.int for int where the class defines a method named int (x.int())."""
    if annotation is None:
        return None
    return re.sub(r"(?<![\w.])(" + "|".join(sorted(names)) + r")(?![\w])",
                  r"builtins.\1", annotation) if names else annotation


def _augmented_mismatch(cls, name):
    """True for __iadd__ when __add__ takes other parameters (mypy wants them alike)."""
    match = re.fullmatch(r"__i(\w+)__", name)
    plain = match and getattr(cls, f"__{match.group(1)}__", None)
    if not plain or not callable(plain):
        return False
    return len(_parameters(plain, True)) != len(_parameters(getattr(cls, name), True))


def _class(writer, cls, types):
    """The stub of a class of tensor.py, members in the class's own order."""
    own_members, attached = [], []
    for name, value in vars(cls).items():
        if name in _SKIP:
            continue
        fn = _function_of(value)
        (own_members if _is_own(fn) else attached).append((name, value, fn))
    # the tensor's state first: slots in __slots__ order, then class attributes, then methods
    slots = list(getattr(cls, "__slots__", ()))
    own_members.sort(key=lambda m: (m[2] is not None, slots.index(m[0]) if m[0] in slots
                                    else len(slots)))
    members = {name for name in vars(cls) if name not in _SKIP}
    shadowed = {name for name in members if isinstance(getattr(builtins, name, None), type)}

    writer.add("", "", f"class {cls.__name__}:")
    if cls.__doc__:
        writer.add(*_docstring(_first_sentence(cls.__doc__), 4))
    for i, (name, value, fn) in enumerate(own_members + attached):
        own = i < len(own_members)
        if i == len(own_members):
            writer.add("", "    # --- attached by autodiff/tensor_methods.py (the in-place ones "
                       "come from autodiff/inplace.py)")
        path = f"{cls.__name__}.{name}"
        comment = None if own else f"from {_origin(fn)}"
        doc = _doc(fn, own)
        if fn is None:  # data: a slot or a class attribute
            kind = type(value)
            guess = None if value is None or kind.__name__ == "member_descriptor" else \
                kind.__name__ if kind.__module__ == "builtins" else None
            annotation = types.get(path, default=guess) or "Any"
            writer.add(f"    {name}: {_shadowed(annotation, shadowed)}")
            continue
        default = None
        if not own:
            default = "Self" if inspect.unwrap(fn).__module__ == "autodiff.inplace" else "Tensor"
        if name == "__init__":
            default = "None"
        returns = types.get(path, fn, default)
        returns = None if returns is VARIES else _shadowed(returns, shadowed)
        ignore = "override" if name in _OBJECT_BOOL_DUNDERS and returns not in (
            "bool", "builtins.bool") else None
        if _augmented_mismatch(cls, name):
            ignore = "misc"  # x += y takes no alpha=, unlike x.__add__: true, and not an error
        if isinstance(value, property):
            writer.function(name, fn, returns, doc, 4, bound=True, decorators=["property"],
                            comment=comment)
            if value.fset is not None:
                writer.add(f"    @{name}.setter")
                writer.add(f"    def {name}(self, value: {returns or 'Any'}) -> None: ...")
            continue
        decorators = ["staticmethod"] if isinstance(value, staticmethod) else \
            ["classmethod"] if isinstance(value, classmethod) else []
        writer.function(name, fn, returns, doc, 4, bound=not isinstance(value, staticmethod),
                        decorators=decorators, comment=comment, ignore=ignore)


def _defined_names(module):
    """Top-level names that a module's source defines (not the ones it imports), in order."""
    names = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.extend(t.id for t in targets if isinstance(t, ast.Name))
    return list(dict.fromkeys(names))


def _imports(body):
    """The import lines that the rendered body needs (and only those: the stub is linted)."""
    names = {node.id for node in ast.walk(ast.parse("\n".join(body)))
             if isinstance(node, ast.Name)}  # (not the words of docstrings and comments)
    used = names.__contains__
    lines = []
    if used("builtins"):
        lines.append("import builtins")
    by_module = {}
    for name, module in TYPING_NAMES.items():
        if used(name):
            by_module.setdefault(module, []).append(name)
    stdlib = [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(by_module.items())]
    lines += stdlib
    if used("np"):
        lines += ["", "import numpy as np"] if lines else ["import numpy as np"]
    local = {}
    for name, module in AUTODIFF_NAMES.items():
        if used(name):
            getattr(importlib.import_module(module), name)  # fails loudly if it moved
            local.setdefault("." + module.split(".", 1)[1], []).append(name)
    for name in _defined_variable_types():
        if used(name.__name__):
            local.setdefault("." + name.__module__.split(".", 1)[1], []).append(name.__name__)
    if local:
        lines.append("")
        lines += [f"from {m} import {', '.join(sorted(set(n)))}" for m, n in sorted(local.items())]
    return lines


def _defined_variable_types():
    """The autodiff classes of tensor.py's module-level variables (grad_state is a _State)."""
    kinds = []
    for name in _defined_names(tensor_module):
        value = getattr(tensor_module, name)
        kind = type(value)
        if not callable(value) and kind.__module__.startswith("autodiff.") \
                and kind.__module__ != tensor_module.__name__:
            kinds.append(kind)
    return kinds


def render():
    """The text of autodiff/tensor.pyi."""
    types = _Types()
    writer = _Writer()
    for name in _defined_names(tensor_module):
        value = getattr(tensor_module, name)
        if inspect.isclass(value):
            _class(writer, value, types)
        elif inspect.isfunction(value):
            writer.add("", "")
            writer.function(name, value, types.get(name, value), _doc(value, True), 0,
                            bound=False)
        else:
            # its class (_imports imports an autodiff one); a callable such as _new, Callable
            annotation = "Callable[..., Any]" if callable(value) else type(value).__name__
            writer.add("", f"{name}: {types.get(name, default=annotation)}")
    stale = {path for path in TYPES if path not in types.used}
    if stale:
        raise SystemExit(f"{SCRIPT}: TYPES entries that were not used (the member is gone, or "
                         f"its source now carries the annotation): {sorted(stale)}")
    body = _tidy(writer.lines)
    header = [
        f"# Generated by {SCRIPT} from the live autodiff.Tensor: DO NOT EDIT BY HAND.",
        "# Tensor's ops are attached at import time by autodiff/tensor_methods.py (and",
        "# autodiff/inplace.py); this stub shows them to readers, IDEs and type checkers.",
        f"# After changing those files, tensor.py or an op's signature: python {SCRIPT}",
    ]
    doc = _first_sentence(tensor_module.__doc__)
    return "\n".join(header + _docstring(doc, 0) + [""] + _imports(body) + body) + "\n"


def _tidy(lines):
    """No blank line directly inside a class; at most two blank lines in a row."""
    out = []
    for line in lines:
        if line == "" and out and out[-1].startswith("class ") and out[-1].endswith(":"):
            continue
        if line == "" and len(out) >= 2 and out[-1] == out[-2] == "":
            continue
        out.append(line)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if autodiff/tensor.pyi is out of date")
    args = parser.parse_args(argv)
    text = render()
    current = STUB.read_text(encoding="utf-8") if STUB.exists() else None
    if args.check:
        if current != text:
            diff = difflib.unified_diff((current or "").splitlines(), text.splitlines(),
                                        "autodiff/tensor.pyi (committed)",
                                        "autodiff/tensor.pyi (generated)", lineterm="")
            print("\n".join(list(diff)[:60]), file=sys.stderr)
            print(f"{STUB.relative_to(ROOT)} is out of date: run python {SCRIPT}",
                  file=sys.stderr)
            return 1
        print(f"{STUB.relative_to(ROOT)} is up to date")
        return 0
    if current != text:
        STUB.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {STUB.relative_to(ROOT)}")
    else:
        print(f"{STUB.relative_to(ROOT)} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
