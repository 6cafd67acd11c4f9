"""The benchmark runner's arithmetic: per-library medians and ranges over process runs, ratios
of medians and the range of the paired ratios (run i of autodiff over run i of the other
library, which ran next to it in time), and the table rows that show them. Pure functions, so
they are tested without timing anything (tests/test_benchmark_runner.py)."""
import statistics

OTHERS = ("numpy", "torch")  # the libraries autodiff is compared with


def describe(values):
    """Median, min, max and the relative spread (max - min) / median of one library's runs."""
    if not values:
        raise ValueError("describe needs at least one sample")
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return {"median": med, "min": lo, "max": hi, "runs": len(values),
            "spread": (hi - lo) / med if med else 0.0}


def paired_ratios(ours, theirs):
    """ours[i] / theirs[i] for the runs of one round (runs without a partner, or whose partner
    measured 0, are left out)."""
    return [a / b for a, b in zip(ours, theirs) if b]


def summarize_case(samples, base="autodiff", others=OTHERS):
    """samples: {library: [value per process run, in round order]} -> the case's summary: each
    library's description, and for each other library present the ratio of medians and the
    median/min/max of the paired ratios."""
    row = {"libraries": {lib: describe(v) for lib, v in samples.items() if v}}
    if base not in row["libraries"]:
        return row
    ours = samples[base]
    for other in others:
        if other not in row["libraries"] or not row["libraries"][other]["median"]:
            continue
        ratio = row["libraries"][base]["median"] / row["libraries"][other]["median"]
        pairs = paired_ratios(ours, samples[other])
        row["vs_" + other] = {"ratio_of_medians": ratio,
                              "paired": describe(pairs) if pairs else None}
    return row


def _num(v):
    return f"{v:.4g}"


def format_case(name, unit, row, libs, others=OTHERS, note=""):
    """Table lines of one case: a line per library (median and [min - max] over its process
    runs); the base library's line ends with its ratios, each as the ratio of medians followed
    by the range of the paired per-run ratios in brackets."""
    lines = []
    first = True
    for lib in libs:
        d = row["libraries"].get(lib)
        if d is None:
            continue
        head = f"{name:<16} {unit:<6}" if first else f"{'':<16} {'':<6}"
        cell = f"{_num(d['median']):>9} [{_num(d['min'])} - {_num(d['max'])}]"
        line = f"{head} {lib:<9}{cell:<32}"
        if first:
            for other in others:
                vs = row.get("vs_" + other)
                if vs is None:
                    line += f" {'-':<24}"
                    continue
                p = vs["paired"]
                rng = f"[{p['min']:.2f}-{p['max']:.2f}]" if p else ""
                ratio = f"{vs['ratio_of_medians']:.2f}x"
                line += f" {ratio:<6} {rng:<17}"
            if note:
                line += f" {note}"
        lines.append(line.rstrip())
        first = False
    return lines


def header(others=OTHERS):
    cols = "".join(f" {'ad/' + o + ' [paired runs]':<24}" for o in others)
    return f"{'case':<16} {'unit':<6} {'library':<9}{'median [min - max]':<32}{cols}".rstrip()
