"""The mutation-testing harness's own logic (scripts/mutation.py, scripts/mutation_harness/):
which functions it targets, the mutants it makes and their stable ids, that a swapped
`__code__` reaches every caller, the seeded sample, and the report's arithmetic. Runs on small
made-up modules: the real suite is never run here."""
import ast
import importlib
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from mutation_harness import report, runner, sampling  # noqa: E402
from mutation_harness.mutants import Mutant, compile_mutant, generate  # noqa: E402
from mutation_harness.targets import Target, discover_ops, engine_targets  # noqa: E402

OPS = '''\
class Node:
    needs_input_grad = (True, True)


class Mul(Node):
    def forward(self, x, y):
        return x * y

    def backward(self, g, out, x, y):
        """dx = g * y; dy = 2 g x"""
        nx, ny = self.needs_input_grad
        if x is None:
            raise ValueError(f"no input: {x - 1}")
        return (g * y if nx else None), (_scale(g * x, 2) if ny else None)


def _scale(a, k):
    return a * k


class TimesTwoBackward(Node):
    def forward(self, g):
        return g + g


def public(x):
    return _not_a_rule(x)


def _not_a_rule(x):
    return x - 1
'''


def _write(root, files):
    for name, text in files.items():
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _mutants(root, target):
    return {m.id.split(":", 2)[2]: m for m in generate(root, target)}


def test_targets_are_the_rules_their_helpers_and_the_gradient_nodes(tmp_path):
    _write(tmp_path, {"autodiff/ops/toy.py": OPS})
    found = {t.qualname: t for t in discover_ops(tmp_path)}
    assert set(found) == {"Mul.backward", "_scale", "TimesTwoBackward.forward"}
    rule = found["Mul.backward"]
    assert (rule.upstream, rule.n_inputs, rule.is_rule) == ("g", 2, True)
    assert not found["_scale"].is_rule


def test_engine_regions_lie_inside_their_functions():
    source = (ROOT / "autodiff" / "engine.py").read_text()
    funcs = {f.name: f for f in ast.parse(source).body if isinstance(f, ast.FunctionDef)}
    targets = {t.qualname: t for t in engine_targets(ROOT)}
    assert {"_run", "_accumulate", "rule_on_arrays", "backward"} <= set(targets)
    for name, t in targets.items():
        for first, last in t.regions:
            assert funcs[name].lineno <= first <= last <= funcs[name].end_lineno, (name, t)
    assert len(targets["_run"].regions) == 3  # the rule call, sending and summing, hand-off


def test_mutants_of_a_rule(tmp_path):
    _write(tmp_path, {"autodiff/ops/toy.py": OPS})
    rule = Target("autodiff/ops/toy.py", "Mul.backward", ((9, 14),), "g", 2)
    got = {k: m.description for k, m in _mutants(tmp_path, rule).items()}
    expected = {
        "need_swap:0": "nx, ny = self.needs_input_grad -> ny, nx = self.needs_input_grad",
        "negate_cond:0": "x is None -> not x is None",
        "flip_compare:0": "x is None -> x is not None",
        "return_g:0": "return (g * y if nx else None, _scale(g * x, 2) if ny else None) -> "
                      "return (g, _scale(g * x, 2) if ny else None)",
        "return_none:1": "return (g * y if nx else None, _scale(g * x, 2) if ny else None) -> "
                         "return (g * y if nx else None, None)",
        "arith:0": "g * y -> g / y",
        "keep_left:0": "g * y -> g",
        "keep_right:0": "g * y -> y",
        "negate_cond:1": "g * y if nx else None -> g * y if not nx else None",
        "keep_right:1": "g * x -> x",
        "constant:0": "2 -> 1",
    }
    for key, description in expected.items():
        assert got[key] == description, key
    # nothing from the docstring or the error message; 2 arguments: no call dropped
    assert not [d for d in got.values() if "no input" in d or "x - 1" in d or "dy =" in d]
    assert not [k for k in got if k.startswith("drop_call")]
    assert Counter(k.rsplit(":", 1)[0] for k in got) == Counter(
        {"negate_cond": 3, "flip_compare": 1, "need_swap": 1, "return_g": 2,
         "return_none": 2, "arith": 2, "keep_left": 2, "keep_right": 2, "constant": 1})


def test_needs_input_grad_index_changes(tmp_path):
    _write(tmp_path, {"autodiff/ops/toy.py": '''\
        class Lin:
            def backward(self, g, out, x, w, b):
                need = self.needs_input_grad
                return (g if need[0] else None), (g if self.needs_input_grad[2] else None), g
        '''})
    rule = Target("autodiff/ops/toy.py", "Lin.backward", ((2, 4),), "g", 3)
    got = {k: m.description for k, m in _mutants(tmp_path, rule).items()}
    assert got["need_index:0"] == "need[0] -> need[1]"
    assert got["need_index:1"] == "self.needs_input_grad[2] -> self.needs_input_grad[0]"
    assert not [k for k in got if k.startswith("constant")]  # (the indices are need_index's)


def test_ids_survive_edits_elsewhere_in_the_file(tmp_path):
    _write(tmp_path / "a", {"autodiff/ops/toy.py": OPS})
    _write(tmp_path / "b", {"autodiff/ops/toy.py": "import math\n\n\ndef _other(x):\n"
                                                   "    return -x * 2\n\n\n" + OPS})
    ids = []
    for side in ("a", "b"):
        t = next(t for t in discover_ops(tmp_path / side) if t.qualname == "Mul.backward")
        ids.append({m.id: m.description for m in generate(tmp_path / side, t)})
    assert ids[0] == ids[1] and ids[0]


SWAP = {
    "toypkg/__init__.py": "",
    "toypkg/mod.py": '''\
        class Base:
            def scale(self):
                return 1


        class Mul(Base):
            def backward(self, g, out, x, y):
                return g * y * super().scale(), g * x


        def _helper(a):
            return a + 1


        class Op:
            forward = staticmethod(_helper)
        ''',
    "toypkg/other.py": "from .mod import _helper\n\n\ndef call(a):\n    return _helper(a)\n",
}


@pytest.fixture
def toypkg(tmp_path):
    _write(tmp_path, SWAP)
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module("toypkg.mod")
        other = importlib.import_module("toypkg.other")
        yield tmp_path, mod, other
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "toypkg" or n.startswith("toypkg.")]:
            del sys.modules[name]


def test_a_swapped_code_reaches_bound_methods_static_forwards_and_imports(toypkg):
    root, mod, other = toypkg
    rule = Target("toypkg/mod.py", "Mul.backward", ((7, 8),), "g", 2)
    flip = next(m for m in generate(root, rule) if m.description == "g * y -> g / y")
    bound = mod.Mul().backward
    runner.apply_mutant(root, flip)
    assert bound(2.0, None, 3.0, 4.0) == (0.5, 6.0)  # g / y * super().scale(): super() works
    helper = Target("toypkg/mod.py", "_helper", ((11, 12),))
    runner.apply_mutant(root, _mutants(root, helper)["arith:0"])  # a + 1 -> a - 1
    assert (mod.Op.forward(5), mod.Op().forward(5), other.call(5), mod._helper(5)) == (4,) * 4


def test_compiled_mutants_keep_the_file_and_line_numbers(toypkg):
    root, mod, _ = toypkg
    m = _mutants(root, Target("toypkg/mod.py", "_helper", ((11, 12),)))["arith:0"]
    code = compile_mutant(root, m)
    assert Path(code.co_filename) == (root / "toypkg" / "mod.py").resolve()
    assert code.co_firstlineno == mod._helper.__code__.co_firstlineno


def _fake(file, k):
    return Mutant(file, "f", "arith", k, (), "a", "b", 1)


def test_the_sample_is_seeded_stratified_and_sorted():
    mutants = ([_fake("big.py", k) for k in range(50)] + [_fake("mid.py", k) for k in range(30)]
               + [_fake("tiny.py", k) for k in range(2)])
    a = sampling.stratified_sample(mutants, 10, seed=1)
    assert [m.id for m in a] == [m.id for m in sampling.stratified_sample(mutants[::-1], 10, 1)]
    assert len(a) == 10 and [m.id for m in a] == sorted(m.id for m in a)
    per_file = Counter(m.file for m in a)
    assert per_file["tiny.py"] >= 1 and per_file["big.py"] > per_file["mid.py"] > 0
    assert {m.id for m in sampling.stratified_sample(mutants, 10, seed=2)} != {m.id for m in a}
    assert len(sampling.stratified_sample(mutants, 500, seed=0)) == len(mutants)


def test_tests_run_most_specific_first_within_the_budget():
    coverage = {
        "t::broad": {"targets": ["f", "g", "h"], "estimate": 1.0},
        "t::narrow_slow": {"targets": ["f"], "estimate": 5.0},
        "t::narrow_fast": {"targets": ["f"], "estimate": 2.0},
        "t::broken": {"targets": ["f"], "estimate": 0.1, "failed": True},
    }
    tests = sampling.covering_tests(coverage)["f"]
    assert [n for n, _ in tests] == ["t::narrow_fast", "t::narrow_slow", "t::broad"]
    assert sampling.within_budget(tests, 3.5) == (["t::narrow_fast", "t::broad"], 3.0)
    assert sampling.within_budget(tests, 1.0) == (["t::narrow_fast"], 2.0)  # at least one
    assert sampling.within_budget(tests, 0)[0] == [n for n, _ in tests]


def test_statuses_and_scores():
    assert report.status_of({"rc": 1}) == "killed"
    assert report.status_of({"rc": 0, "ran": 3}) == "survived"
    assert report.status_of({"timeout": True}) == "timeout"
    assert report.status_of({"crash": "killed by signal 11"}) == "killed"
    assert report.status_of({"rc": 5, "ran": 0}) == "error"  # no test ran: no verdict
    assert report.status_of({"error": "RuntimeError: ..."}) == "error"
    records = ([{"file": "a.py", "status": "killed"}] * 6 + [{"file": "a.py", "status": "timeout"}]
               + [{"file": "a.py", "status": "survived"}] + [{"file": "a.py",
                                                               "status": "equivalent"}] * 2
               + [{"file": "b.py", "status": "survived"}, {"file": "b.py", "status": "error"}])
    per_file, overall = report.aggregate(records)
    assert report.score(per_file["a.py"]) == pytest.approx(7 / 8)
    assert report.score(per_file["b.py"]) == 0.0
    assert report.score(overall) == pytest.approx(7 / 9)
    assert report.score(report.aggregate([{"file": "c", "status": "equivalent"}])[1]) is None


def test_the_equivalents_list_is_well_formed_and_stale_entries_run(tmp_path):
    pytest.importorskip("tomllib", reason="Python 3.11+ reads the TOML list")
    entries = report.load_equivalents(ROOT / "scripts" / "mutation_equivalents.toml")
    for mid, entry in entries.items():
        assert mid.count(":") == 3 and " -> " in entry["mutation"] and entry["reason"].strip()
    path = tmp_path / "eq.toml"
    path.write_text('[[equivalent]]\nid = "f.py:f:arith:0"\nmutation = "a -> b"\nreason = "x"\n')
    listed = report.load_equivalents(path)
    m = Mutant("f.py", "f", "arith", 0, (), "a", "b", 1)
    assert report.equivalent_entry(m, listed)["reason"] == "x"
    moved = Mutant("f.py", "f", "arith", 0, (), "a", "c", 1)
    assert report.equivalent_entry(moved, listed) is None
    path.write_text('[[equivalent]]\nid = "f.py:f:arith:0"\nmutation = "a -> b"\n')
    with pytest.raises(ValueError, match="reason"):
        report.load_equivalents(path)
