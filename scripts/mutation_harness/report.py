"""Results: statuses, the equivalents list, per-file scores, the Markdown and JSON reports."""
from collections import Counter, defaultdict

STATUSES = ("killed", "timeout", "survived", "equivalent", "error")


def load_equivalents(path):
    """{mutant id: {"mutation": "a -> b", "reason": ...}} from the TOML list."""
    import tomllib  # (Python 3.11+: the harness is a developer's tool, not the library)
    with open(path, "rb") as f:
        data = tomllib.load(f)
    out = {}
    for entry in data.get("equivalent", []):
        missing = {"id", "mutation", "reason"} - set(entry)
        if missing:
            raise ValueError(f"{path}: an [[equivalent]] entry lacks {sorted(missing)}: {entry}")
        out[entry["id"]] = entry
    return out


def equivalent_entry(mutant, equivalents):
    """The list's entry for this mutant if it still describes the same change, else None
    (a stale entry - the code moved - is reported, and the mutant runs)."""
    entry = equivalents.get(mutant.id)
    if entry is not None and entry["mutation"] == mutant.description:
        return entry
    return None


def status_of(result):
    """The status of one run result (the child's dict)."""
    if result.get("equivalent"):
        return "equivalent"
    if result.get("timeout"):
        return "timeout"
    if "error" in result:
        return "error"
    if "crash" in result:
        return "killed"  # the tests crashed the interpreter: the mutant was noticed
    if result.get("rc") == 0 and result.get("ran", 0) > 0:
        return "survived"
    if result.get("rc") == 1:
        return "killed"
    if result.get("not_covered"):
        return "survived"
    return "error"  # no test ran, or pytest itself failed: not a verdict


def score(counts):
    """(killed + timed out) / (total - equivalent - harness errors); None when nothing counts."""
    denominator = sum(counts.values()) - counts["equivalent"] - counts["error"]
    if denominator <= 0:
        return None
    return (counts["killed"] + counts["timeout"]) / denominator


def aggregate(records):
    """records: dicts with "file" and "status". -> ({file: Counter}, overall Counter)."""
    per_file = defaultdict(Counter)
    for r in records:
        per_file[r["file"]][r["status"]] += 1
    overall = Counter()
    for c in per_file.values():
        overall.update(c)
    for c in list(per_file.values()) + [overall]:
        for s in STATUSES:
            c.setdefault(s, 0)
    return dict(sorted(per_file.items())), overall


def _pct(value):
    return "-" if value is None else f"{100 * value:.1f}%"


def markdown(records, meta):
    per_file, overall = aggregate(records)
    lines = [f"# Mutation testing: {meta['date']}", "",
             f"Snapshot {meta['snapshot']} of {meta['source']}; {meta['selection']}; "
             f"{meta['jobs']} jobs; {meta['wall_seconds']:.0f} s wall.", "",
             f"**Score {_pct(score(overall))}** ({overall['killed']} killed + "
             f"{overall['timeout']} timed out of {sum(overall.values())} mutants, "
             f"{overall['equivalent']} equivalent and {overall['error']} harness errors "
             f"excluded)", "",
             "| file | mutants | killed | timed out | survived | equivalent | error | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for f, c in per_file.items():
        lines.append(f"| {f} | {sum(c.values())} | {c['killed']} | {c['timeout']} | "
                     f"{c['survived']} | {c['equivalent']} | {c['error']} | {_pct(score(c))} |")
    lines.append(f"| **all** | {sum(overall.values())} | {overall['killed']} | "
                 f"{overall['timeout']} | {overall['survived']} | {overall['equivalent']} | "
                 f"{overall['error']} | {_pct(score(overall))} |")
    survivors = [r for r in records if r["status"] == "survived"]
    lines += ["", f"## Survivors ({len(survivors)})", ""]
    for r in survivors:
        lines.append(f"- `{r['id']}` (line {r['line']}): `{r['description']}`  ")
        lines.append(f"  ran {r.get('ran', 0)} tests ({r.get('tests_note', '')}); "
                     f"rerun: `{r['rerun']}`")
    errors = [r for r in records if r["status"] == "error"]
    if errors:
        lines += ["", f"## Harness errors ({len(errors)})", ""]
        lines += [f"- `{r['id']}`: {r.get('error') or r.get('rc')}" for r in errors]
    stale = meta.get("stale_equivalents") or []
    if stale:
        lines += ["", "## Stale equivalents (the id now names another change: update the list)",
                  ""] + [f"- `{s}`" for s in stale]
    return "\n".join(lines) + "\n"
