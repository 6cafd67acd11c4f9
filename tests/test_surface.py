"""The checked-in API surface (docs/surface/scope.txt, written by scripts/surface.py from
PyTorch's namespaces): every in-scope name exists here unless listed as missing, the missing
list is not stale, and the namespaces this project holds cover at least 95% of their scope."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import surface  # noqa: E402

SPACES = surface.read_scope()


def test_every_mirrored_namespace_is_in_the_scope_file():
    assert [ns for ns, *_ in surface.NAMESPACES] == list(SPACES)


@pytest.mark.parametrize("ns", list(SPACES))
def test_in_scope_names_exist_unless_listed_missing(ns):
    space = SPACES[ns]
    missing = set(space["missing"])
    assert missing <= set(space["in_scope"])
    absent = [n for n in space["in_scope"] if n not in missing
              and not surface.has_name(space["ours"], n)]
    assert not absent, f"{ns}: in scope but not provided: {absent}"
    stale = sorted(n for n in missing if surface.has_name(space["ours"], n))
    assert not stale, (f"{ns}: listed as missing but provided now: {stale}; run "
                       f"`python scripts/surface.py` to update docs/surface/")


@pytest.mark.parametrize("ns", list(SPACES))
def test_out_of_scope_names_have_a_reason_and_are_not_in_scope(ns):
    space = SPACES[ns]
    out = [n for names in space["out_of_scope"].values() for n in names]
    assert all(reason.strip() for reason in space["out_of_scope"])
    assert not set(out) & set(space["in_scope"])


@pytest.mark.parametrize("ns", surface.HELD)
def test_coverage_of_held_namespaces_is_at_least_95_percent(ns):
    space = SPACES[ns]
    cover = 1 - len(space["missing"]) / len(space["in_scope"])
    assert cover >= surface.TARGET, (f"{ns}: {cover:.1%} of {len(space['in_scope'])} in-scope "
                                     f"names; missing: {space['missing']}")
