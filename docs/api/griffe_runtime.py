"""Griffe extension for the API reference (mkdocs.yml, mkdocstrings `extensions:`).

Many ops are made by factories (`tan = _unary(Tan, "tan")`), so static analysis sees a bare
attribute with no docstring and the reference would leave them out. For module-level attributes
of the listed packages whose runtime value is a function, this documents the function itself:
its runtime signature and docstring. A module's public names are its runtime `__all__`.
Everything else stays static.
"""
import importlib
import inspect

import griffe

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


def _parameters(func):
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return griffe.Parameters(
            griffe.Parameter("args", kind=griffe.ParameterKind.var_positional),
            griffe.Parameter("kwargs", kind=griffe.ParameterKind.var_keyword))
    return griffe.Parameters(*(
        griffe.Parameter(p.name, kind=_KINDS[p.kind],
                         default=None if p.default is p.empty else repr(p.default))
        for p in signature.parameters.values()))


class RuntimeFunctions(griffe.Extension):
    """Names bound to documented functions or classes at runtime are documented as such."""

    def __init__(self, packages=("autodiff", "nn")):
        super().__init__()
        self.packages = tuple(packages)

    def on_module_members(self, *, mod, agent=None, **kwargs):
        if isinstance(agent, griffe.Inspector):
            return
        if not any(mod.path == p or mod.path.startswith(p + ".") for p in self.packages):
            return
        try:
            runtime = importlib.import_module(mod.path)
        except Exception:  # a module that cannot import (missing extra) keeps its static view
            return
        # attributes static analysis could not see through, and names of __all__ it missed
        # (tuple assignments: arcsin, arccos, arctan = asin, acos, atan)
        if isinstance(getattr(runtime, "__all__", None), (list, tuple)):
            # __all__ built by expressions (`[...] + _CONSTANTS`) is only known at runtime
            mod.exports = [n for n in runtime.__all__ if isinstance(n, str)]
        names = [m.name for m in mod.members.values() if not m.is_alias and m.is_attribute]
        names += [n for n in getattr(runtime, "__all__", ()) if n not in mod.members]
        for name in names:
            value = getattr(runtime, name, None)
            doc = inspect.getdoc(value) if callable(value) else None
            if not doc:
                continue
            old = mod.members.get(name)
            where = {"lineno": old.lineno, "endlineno": old.endlineno} if old else {}
            if inspect.isfunction(value) or inspect.isbuiltin(value):
                member = griffe.Function(name, parameters=_parameters(value), **where)
            elif inspect.isclass(value) and value.__module__ == mod.path:
                member = griffe.Class(name, **where)
            else:
                continue
            member.docstring = griffe.Docstring(doc, parent=member)
            mod.set_member(name, member)
