"""Running mutants: a fork server over a snapshot of the repository.

The server process imports autodiff, pytest and the test modules once (a warm-up collection),
from a snapshot copy of the tree (the working tree is never touched; the snapshot is never
written either). Each mutant then runs in a forked child that replaces the `__code__` of the
mutated function - the one function object that every bound method, `staticmethod` forward and
imported name refers to - and runs `pytest.main` on the tests selected for it, stopping at the
first failure. A child that outlives its timeout is killed (counted as timed out).

Test selection comes from a coverage pass: the chosen test files run once, unmutated, with
every target function instrumented to record that it ran (a first statement adding its key
to a set: no cost to any other call), giving which targets each test executes (with fewer hypothesis
examples than the suite's, `examples`, so the pass is quick). A mutant can only be caught by a
test that executes its function; those tests run most specific first (fewest targets
executed, then shortest), up to a time budget.
"""
import hashlib
import importlib
import inspect
import json
import os
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

PROFILE = "mutation"  # the suite's "ci" profile (derandomized), without shrinking
SNAPSHOT_PARTS = ("autodiff", "nn", "tests", "setup.cfg", "pyproject.toml")
PYTEST_ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:xdist",
               "-W", "ignore", "--no-header", "-o", "addopts=")
SCRATCH = {"__pycache__", ".hypothesis", ".pytest_cache"}  # not part of a snapshot's content
MEMORY_LIMIT = 6 << 30  # per child: a mutant that allocates without end fails, not the machine


def snapshot(src, dst):
    """Copies the parts of the tree the tests need from src to dst (replacing it) and returns
    a hash of their content."""
    src, dst = Path(src), Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    ignore = shutil.ignore_patterns(*SCRATCH, "*.pyc")
    for part in SNAPSHOT_PARTS:
        p = src / part
        if p.is_dir():
            shutil.copytree(p, dst / part, ignore=ignore)
        elif p.is_file():
            shutil.copy2(p, dst / part)
    return snapshot_digest(dst)


def snapshot_digest(dst):
    """A hash of the snapshot's content (names and bytes)."""
    dst = Path(dst)
    digest = hashlib.sha256()
    for p in sorted(dst.rglob("*")):
        if p.is_file() and not SCRATCH.intersection(p.relative_to(dst).parts) and \
                p.suffix != ".pyc":
            digest.update(str(p.relative_to(dst)).encode())
            digest.update(p.read_bytes())
    return digest.hexdigest()[:16]


def module_name(file):
    return file[:-3].replace("/", ".")


def resolve(module, qualname):
    """The plain function object behind `qualname` in module (through staticmethod,
    classmethod, property and functools.wraps)."""
    obj = module
    for part in qualname.split("."):
        obj = vars(obj)[part]
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        elif isinstance(obj, property):
            obj = obj.fget
    return inspect.unwrap(obj)


def apply_mutant(root, mutant):
    """Replaces the function's code with the mutant's, in this process."""
    from .mutants import compile_mutant
    module = importlib.import_module(module_name(mutant.file))
    fn = resolve(module, mutant.qualname)
    fn.__code__ = compile_function_checked(fn, compile_mutant(root, mutant, vars(module)))
    return fn


class Selector:
    """pytest plugin: runs the given node ids in the given order (all items if None, or one
    shard of them), and records the first failure and how many tests ran."""

    def __init__(self, order=None, shard=None):
        self.order, self.shard = order, shard
        self.first_failure = None
        self.failed = set()
        self.ran = 0
        self.missing = []

    def pytest_collection_modifyitems(self, session, config, items):
        if self.order is not None:
            by_id = {item.nodeid: item for item in items}
            keep = [by_id[n] for n in self.order if n in by_id]
            self.missing = [n for n in self.order if n not in by_id]
        else:
            keep = list(items)
        if self.shard is not None:
            k, n = self.shard
            keep = keep[k::n]
        chosen = set(map(id, keep))
        config.hook.pytest_deselected(items=[i for i in items if id(i) not in chosen])
        items[:] = keep

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.failed.add(report.nodeid)
            if self.first_failure is None:
                self.first_failure = report.nodeid
        if report.when == "call":
            self.ran += 1


class Coverage(Selector):
    """Selector that also records, per test, which targets it executes (the targets' code is
    instrumented, see instrument()) and how long it runs."""

    def __init__(self, hits, shard=None):
        super().__init__(None, shard)
        self.hits = hits
        self.records = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.hits.clear()
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            self.records[item.nodeid] = {
                "targets": sorted(self.hits),
                "seconds": round(time.perf_counter() - start, 4),
                "hypothesis": bool(getattr(getattr(item, "obj", None), "is_hypothesis_test",
                                           False)),
            }


def instrument(root, targets):
    """Makes every target add its key to a set when called (in this process); returns the set."""
    import builtins

    from .mutants import HITS, compile_instrumented
    hits = set()
    setattr(builtins, HITS, hits)
    for t in targets:
        fn = resolve(importlib.import_module(module_name(t.file)), t.qualname)
        fn.__code__ = compile_function_checked(fn, compile_instrumented(root, t.file, t.qualname))
    return hits


def compile_function_checked(fn, code):
    if code.co_freevars != fn.__code__.co_freevars:
        raise RuntimeError(f"{fn.__qualname__}: cannot swap the code of a closure "
                           f"({fn.__code__.co_freevars} vs {code.co_freevars})")
    if Path(fn.__code__.co_filename).resolve() != Path(code.co_filename).resolve():
        raise RuntimeError(f"{fn.__qualname__}: resolved {fn.__code__.co_filename}, not "
                           f"{code.co_filename}")
    return code


class Server:
    """The warm process that forks one child per job."""

    def __init__(self, root, test_files, log_dir):
        self.root = Path(root).resolve()
        self.test_files = list(test_files)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def load(self):
        """Imports everything from the snapshot and collects the tests once."""
        os.chdir(self.root)
        sys.dont_write_bytecode = True  # (the snapshot stays as copied)
        for p in (str(self.root / "tests"), str(self.root)):
            if p in sys.path:
                sys.path.remove(p)
            sys.path.insert(0, p)
        import autodiff
        if not Path(autodiff.__file__).resolve().is_relative_to(self.root):
            raise RuntimeError(f"autodiff was imported from {autodiff.__file__}, not from the "
                               f"snapshot {self.root}: run with a fresh interpreter")
        from hypothesis import Phase, settings

        from autodiff.testing import register_profiles
        register_profiles(load=None)
        settings.register_profile(PROFILE, parent=settings.get_profile("ci"),
                                  phases=(Phase.explicit, Phase.reuse, Phase.generate),
                                  print_blob=False)
        os.environ["HYPOTHESIS_PROFILE"] = PROFILE
        settings.load_profile(PROFILE)
        start = time.perf_counter()
        with _quiet(self.log_dir / "warmup.log"):
            rc = pytest.main([*self.test_files, "--collect-only", *PYTEST_ARGS])
        if rc != 0:
            raise RuntimeError(f"collecting {self.test_files} failed (exit {rc}); see "
                               f"{self.log_dir / 'warmup.log'}")
        return time.perf_counter() - start

    def files_of(self, nodeids):
        return sorted({n.split("::")[0] for n in nodeids})

    def coverage_job(self, targets, examples, shard, out_path):
        def job():
            from hypothesis import settings
            settings.register_profile(PROFILE + "-coverage", parent=settings.get_profile(PROFILE),
                                      max_examples=examples)
            settings.load_profile(PROFILE + "-coverage")
            os.environ["HYPOTHESIS_PROFILE"] = PROFILE + "-coverage"  # (conftest reloads it)
            plugin = Coverage(instrument(self.root, targets), shard)
            rc = pytest.main([*self.test_files, *PYTEST_ARGS], plugins=[plugin])
            for nodeid in plugin.failed:
                if nodeid in plugin.records:
                    plugin.records[nodeid]["failed"] = True
            Path(out_path).write_text(json.dumps(plugin.records))
            return {"rc": int(rc), "path": str(out_path)}
        return job

    def mutant_job(self, mutant, nodeids):
        def job():
            apply_mutant(self.root, mutant)
            plugin = Selector(nodeids)
            rc = pytest.main([*self.files_of(nodeids), "-x", *PYTEST_ARGS], plugins=[plugin])
            return {"rc": int(rc), "killer": plugin.first_failure, "ran": plugin.ran,
                    "missing": plugin.missing[:5]}
        return job

    def run(self, jobs, workers, on_result=None):
        """Runs (name, job, timeout) triples, `workers` children at a time; returns
        {name: result dict}, with {"timeout": True} for a killed child and {"crash": ...}
        for one that died without a result."""
        pending = list(jobs)
        running = {}  # fd -> (name, pid, deadline, chunks, start)
        results = {}
        try:
            self._loop(pending, running, results, workers, on_result)
        except BaseException:  # (Ctrl-C: leave no child behind)
            for fd, (name, pid, *_) in running.items():
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(fd)
            raise
        return results

    def _loop(self, pending, running, results, workers, on_result):
        while pending or running:
            while pending and len(running) < workers:
                name, job, timeout = pending.pop(0)
                fd, pid = self._fork(job, self.log_dir / f"{_safe(name)}.log")
                running[fd] = (name, pid, time.monotonic() + timeout, [], time.monotonic())
            now = time.monotonic()
            wait = max(0.0, min(r[2] for r in running.values()) - now)
            ready, _, _ = select.select(list(running), [], [], min(wait, 5.0))
            for fd in ready:
                name, pid, deadline, chunks, start = running[fd]
                data = os.read(fd, 1 << 16)
                if data:
                    chunks.append(data)
                    continue
                os.close(fd)
                del running[fd]
                _, status = os.waitpid(pid, 0)
                text = b"".join(chunks).decode()
                result = json.loads(text) if text else {"crash": _status(status)}
                result["seconds"] = round(time.monotonic() - start, 2)
                results[name] = result
                if on_result:
                    on_result(name, result)
            now = time.monotonic()
            for fd in [fd for fd, r in running.items() if r[2] < now]:
                name, pid, deadline, chunks, start = running.pop(fd)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(fd)
                results[name] = {"timeout": True, "seconds": round(time.monotonic() - start, 2)}
                if on_result:
                    on_result(name, results[name])

    def _fork(self, job, log_path):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run the job, write its result, leave without cleanup
            os.close(r)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                import resource
                resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
                log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(log, 1)
                os.dup2(log, 2)
                result = job()
            except BaseException as e:  # the harness's own failure, not the mutant's
                result = {"error": f"{type(e).__name__}: {e}"}
            sys.stdout.flush()
            sys.stderr.flush()
            data = json.dumps(result).encode()
            while data:
                data = data[os.write(w, data):]
            os._exit(0)
        os.close(w)
        return r, pid


def _status(status):
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit {os.WEXITSTATUS(status)}"


def _safe(name):
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:150]


class _quiet:
    """Sends this process's stdout and stderr (file descriptors included) to a file."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = os.dup(1), os.dup(2)
        log = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        os.close(self.saved[0])
        os.close(self.saved[1])
        return False
