"""Mutation testing of the gradient rules and the engine: plants one small bug at a time in
autodiff/ops/*.py's backward rules (and their helpers) and in autodiff/engine.py's gradient
flow, runs the tests that execute the mutated function, and reports what the suite missed.

    python scripts/mutation.py --sample 150 --seed 0      # a seeded sample, ~15 min on 2 cores
    python scripts/mutation.py                            # every mutant (hours)
    python scripts/mutation.py --list                     # ids and changes, nothing run
    python scripts/mutation.py --only ID [ID ...]         # rerun some mutants
    python scripts/mutation.py --show ID                  # the mutated function

The guide: docs/guides/mutation-testing.md. The equivalent mutants (changes that cannot alter
any result), each with its reason: scripts/mutation_equivalents.toml.
"""
import argparse
import datetime
import difflib
import fnmatch
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # (one core per worker; set before numpy is imported)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from mutation_harness import report, runner, sampling  # noqa: E402
from mutation_harness.mutants import generate, mutated_function_source  # noqa: E402
from mutation_harness.targets import discover  # noqa: E402

DEFAULT_TESTS = ("tests/test_catalog.py", "tests/test_rules.py", "tests/test_engine*.py",
                 "tests/test_zero_gradients.py", "tests/test_rule_branches.py",
                 "tests/test_conv.py", "tests/test_cnn_kernels.py", "tests/test_recurrent_ops.py",
                 "tests/test_batch_norm_fused.py", "tests/test_nan_semantics.py",
                 "tests/test_torch_*.py")
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.toml"
SUITE_EXAMPLES = 25  # the "ci" profile's max_examples: coverage-pass times are scaled to it


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", nargs="+", metavar="GLOB",
                   help="only targets in files matching these globs (e.g. '*conv.py')")
    p.add_argument("--sample", type=int, metavar="N",
                   help="a stratified sample of N mutants (each file represented); default: all")
    p.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    p.add_argument("--only", nargs="+", metavar="ID", help="run exactly these mutant ids")
    p.add_argument("--list", action="store_true", help="list the mutants and stop")
    p.add_argument("--show", metavar="ID", help="print the mutated function as a diff and stop")
    p.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    p.add_argument("--timeout-factor", type=float, default=3.0, metavar="F",
                   help="timeout = F x the selected tests' unmutated time + start-up (default 3)")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="per mutant, run covering tests up to this much unmutated test time, "
                        "most specific first (default 60; 0 = every covering test)")
    p.add_argument("--coverage-examples", type=int, default=3, metavar="K",
                   help="hypothesis examples per test in the coverage pass (default 3; "
                        f"{SUITE_EXAMPLES} = the suite's own)")
    p.add_argument("--tests", nargs="+", default=list(DEFAULT_TESTS), metavar="GLOB",
                   help="test files to select from (default: %(default)s)")
    p.add_argument("--workdir", default="/tmp/autodiff-mutation", type=Path,
                   help="snapshot, coverage cache, logs and reports (default %(default)s)")
    p.add_argument("--keep-snapshot", action="store_true",
                   help="reuse the workdir's snapshot (and its coverage) instead of copying the "
                        "tree again: reruns see the same code")
    p.add_argument("--json", type=Path, help="write every result here (default workdir)")
    p.add_argument("--report", type=Path, help="write the Markdown report here (default "
                                               "workdir)")
    p.add_argument("--equivalents", type=Path, default=EQUIVALENTS)
    return p.parse_args(argv)


def all_mutants(root, patterns):
    targets = [t for t in discover(root)
               if not patterns or any(fnmatch.fnmatch(t.file, g) for g in patterns)]
    if not targets:
        raise SystemExit(f"no targets in files matching {patterns}")
    return targets, [m for t in targets for m in generate(root, t)]


def show(root, mutants, mid):
    m = next((m for m in mutants if m.id == mid), None)
    if m is None:
        raise SystemExit(f"no mutant {mid} (see --list)")
    from mutation_harness.mutants import find_function, parse_file
    import ast
    before = ast.unparse(find_function(parse_file(str(root / m.file)), m.qualname))
    _, after = mutated_function_source(root, m)
    print(f"{m.id} (line {m.line}): {m.description}")
    sys.stdout.writelines(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                               m.file, m.file + " (mutant)"))


def choose(mutants, args):
    if args.only:
        by_id = {m.id: m for m in mutants}
        unknown = [i for i in args.only if i not in by_id]
        if unknown:
            raise SystemExit(f"unknown mutant ids: {unknown} (see --list)")
        return [by_id[i] for i in args.only], f"{len(args.only)} mutants chosen by id"
    if args.sample:
        chosen = sampling.stratified_sample(mutants, args.sample, args.seed)
        return chosen, (f"a stratified sample of {len(chosen)} of {len(mutants)} mutants, "
                        f"seed {args.seed}")
    return sorted(mutants, key=lambda m: m.id), f"all {len(mutants)} mutants"


def coverage_map(server, targets, args, digest, test_files):
    """{nodeid: {"targets", "seconds", "estimate", ...}}, cached per snapshot and options."""
    files = hashlib.sha256("\n".join(test_files).encode()).hexdigest()[:8]
    key = f"{digest}-{args.coverage_examples}-{files}"
    cache = args.workdir / f"coverage-{key}.json"
    if cache.exists():
        print(f"coverage: cached {cache}")
        return json.loads(cache.read_text())
    print(f"coverage pass: {len(test_files)} test files, {args.coverage_examples} examples per "
          f"test, {args.jobs} workers ...", flush=True)
    start = time.perf_counter()
    jobs = [(f"coverage-{k}", server.coverage_job(targets, args.coverage_examples, (k, args.jobs),
                                                  args.workdir / f"coverage-part{k}.json"), 7200)
            for k in range(args.jobs)]
    results = server.run(jobs, args.jobs)
    records = {}
    for name, res in sorted(results.items()):
        if "path" not in res:
            raise SystemExit(f"the coverage pass failed ({name}): {res}; see "
                             f"{args.workdir / 'logs'}")
        records.update(json.loads(Path(res["path"]).read_text()))
    scale = SUITE_EXAMPLES / args.coverage_examples
    for rec in records.values():
        rec["estimate"] = rec["seconds"] * (scale if rec["hypothesis"] else 1.0)
    failed = sorted(n for n, r in records.items() if r.get("failed"))
    shown = (": " + ", ".join(failed[:5])) if failed else ""
    print(f"coverage pass: {len(records)} tests in {time.perf_counter() - start:.0f} s; "
          f"{len(failed)} failing unmutated (never selected){shown}")
    cache.write_text(json.dumps(records))
    return records


def describe_tests(nodeids):
    files = sorted({n.split("::")[0] for n in nodeids})
    ops = sorted({n.split("[", 1)[1].rstrip("]") for n in nodeids if "[" in n})
    text = f"in {', '.join(Path(f).name for f in files)}"
    if ops:
        text += f"; ops {', '.join(ops[:8])}{' ...' if len(ops) > 8 else ''}"
    return text


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # (SIGTERM, like Ctrl-C: stop, kill the children, report)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    args.workdir.mkdir(parents=True, exist_ok=True)
    snap = args.workdir / "snapshot"
    if args.keep_snapshot and snap.is_dir():
        digest = runner.snapshot_digest(snap)
    else:
        digest = runner.snapshot(ROOT, snap)
    targets, mutants = all_mutants(snap, args.files)
    if args.list:
        for m in sorted(mutants, key=lambda m: m.id):
            print(f"{m.id}\tline {m.line}\t{m.description}")
        print(f"{len(mutants)} mutants in {len(targets)} functions", file=sys.stderr)
        return 0
    if args.show:
        show(snap, mutants, args.show)
        return 0
    chosen, selection = choose(mutants, args)
    equivalents = report.load_equivalents(args.equivalents)
    stale = sorted(m.id for m in mutants
                   if m.id in equivalents and report.equivalent_entry(m, equivalents) is None)
    test_files = sorted({str(p.relative_to(snap)) for g in args.tests for p in snap.glob(g)})
    server = runner.Server(snap, test_files, args.workdir / "logs")
    start = time.perf_counter()
    startup = server.load()
    coverage = coverage_map(server, discover(snap), args, digest, test_files)  # (all: cached)
    covering = sampling.covering_tests(coverage)
    records, jobs = {}, []
    for m in chosen:
        rec = {"id": m.id, "file": m.file, "function": m.qualname, "operator": m.operator,
               "line": m.line, "description": m.description,
               "rerun": f"python scripts/mutation.py --only '{m.id}'"}
        records[m.id] = rec
        entry = report.equivalent_entry(m, equivalents)
        if entry is not None:
            rec.update(status="equivalent", reason=entry["reason"])
            continue
        tests = covering.get(m.target_key, [])
        if not tests:
            rec.update(status="survived", ran=0, tests_note="no selected test executes it")
            continue
        nodeids, estimate = sampling.within_budget(tests, args.budget)
        timeout = args.timeout_factor * estimate + 2 * startup + 10
        rec.update(tests_selected=len(nodeids), tests_covering=len(tests),
                   estimate=round(estimate, 1), timeout=round(timeout, 1),
                   tests_note=f"{len(nodeids)} of {len(tests)} covering tests, "
                              f"{describe_tests(nodeids)}")
        jobs.append((m.id, server.mutant_job(m, nodeids), timeout))
    print(f"{selection}: {len(jobs)} to run, {len(chosen) - len(jobs)} decided without a run",
          flush=True)
    done = [0]

    def progress(name, result):
        done[0] += 1
        rec = records[name]
        rec.update({k: v for k, v in result.items() if k != "missing" or v})
        rec["status"] = report.status_of(result)
        print(f"[{done[0]}/{len(jobs)}] {rec['status']:<9} {name} ({result['seconds']:.0f} s)"
              + (f": {rec['description']}" if rec["status"] != "killed" else ""), flush=True)

    interrupted = False
    try:
        server.run(jobs, args.jobs, progress)
    except KeyboardInterrupt:  # (the children die with the process group: report what finished)
        interrupted = True
        print("interrupted: reporting the mutants that finished", flush=True)
    meta = {"date": datetime.date.today().isoformat(), "snapshot": digest, "source": str(ROOT),
            "selection": selection, "jobs": args.jobs, "budget": args.budget,
            "coverage_examples": args.coverage_examples, "timeout_factor": args.timeout_factor,
            "tests": test_files, "wall_seconds": time.perf_counter() - start,
            "stale_equivalents": stale}
    ordered = [records[m.id] for m in chosen if "status" in records[m.id]]
    if interrupted:
        meta["selection"] += f" (interrupted: {len(ordered)} finished)"
    json_path = args.json or args.workdir / "report.json"
    md_path = args.report or args.workdir / "report.md"
    per_file, overall = report.aggregate(ordered)
    json_path.write_text(json.dumps({"meta": meta, "overall": dict(overall),
                                     "score": report.score(overall),
                                     "per_file": {f: dict(c) for f, c in per_file.items()},
                                     "mutants": ordered}, indent=1))
    md_path.write_text(report.markdown(ordered, meta))
    print(report.markdown(ordered, meta))
    print(f"written: {md_path}, {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
