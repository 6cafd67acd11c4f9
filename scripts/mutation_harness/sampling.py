"""A seeded, stratified sample of mutants, and the per-mutant test selection."""
import random
from collections import defaultdict


def stratified_sample(mutants, n, seed):
    """n mutants (at least one per file that has any), files represented in proportion to
    their number of mutants (largest remainders), chosen with random.Random(seed). The same
    mutants, n and seed give the same sample; the result is sorted by id."""
    by_file = defaultdict(list)
    for m in sorted(mutants, key=lambda m: m.id):
        by_file[m.file].append(m)
    total = sum(len(v) for v in by_file.values())
    if n >= total:
        return sorted(mutants, key=lambda m: m.id)
    files = sorted(by_file)
    quota = {f: 1 for f in files}
    rest = max(0, n - len(files))
    shares = {f: rest * len(by_file[f]) / total for f in files}
    for f in files:
        quota[f] += int(shares[f])
    left = n - sum(quota.values())
    for f in sorted(files, key=lambda f: (-(shares[f] - int(shares[f])), f))[:max(0, left)]:
        quota[f] += 1
    rng = random.Random(seed)
    chosen = []
    for f in files:
        chosen += rng.sample(by_file[f], min(quota[f], len(by_file[f])))
    return sorted(chosen, key=lambda m: m.id)


def covering_tests(coverage):
    """target key -> node ids of the passing tests that execute it, most specific first
    (fewest targets executed), then shortest; with each test's estimated full time."""
    index = defaultdict(list)
    for nodeid, rec in coverage.items():
        if rec.get("failed"):
            continue
        for key in rec["targets"]:
            index[key].append((len(rec["targets"]), rec["estimate"], nodeid))
    return {key: [(nodeid, est) for _, est, nodeid in sorted(tests)]
            for key, tests in index.items()}


def within_budget(tests, budget):
    """The first tests whose estimated times add up to at most `budget` seconds (at least
    one); every test when budget is 0."""
    if not budget:
        return [n for n, _ in tests], sum(e for _, e in tests)
    chosen, spent = [], 0.0
    for nodeid, est in tests:
        if chosen and spent + est > budget:
            continue
        chosen.append(nodeid)
        spent += est
    return chosen, spent
