"""The benchmark runner's aggregation (benchmarks/spread.py) and argument handling
(benchmarks/run.py): medians, ranges and paired ratios over process runs. Nothing is timed."""
import os
import statistics
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)
import spread  # noqa: E402


def test_describe_gives_median_range_and_relative_spread():
    d = spread.describe([0.91, 0.49, 0.50, 0.52, 0.90])
    assert d["median"] == 0.52
    assert (d["min"], d["max"], d["runs"]) == (0.49, 0.91, 5)
    assert d["spread"] == pytest.approx((0.91 - 0.49) / 0.52)


def test_describe_of_an_even_count_takes_the_middle_mean():
    assert spread.describe([4.0, 1.0, 3.0, 2.0])["median"] == 2.5


def test_describe_refuses_no_samples():
    with pytest.raises(ValueError, match="at least one sample"):
        spread.describe([])


def test_paired_ratios_pair_runs_of_one_round_and_skip_zero_partners():
    assert spread.paired_ratios([1.0, 2.0, 3.0], [2.0, 0.0, 1.5]) == [0.5, 2.0]
    assert spread.paired_ratios([1.0, 2.0, 3.0], [4.0]) == [0.25]  # no partner: left out


def test_summarize_case_ratio_of_medians_differs_from_the_paired_ratios():
    # a bimodal autodiff against a steady torch: the median ratio hides the slow runs
    ad = [0.49, 0.91, 0.50, 0.90, 0.49, 0.92, 0.50, 0.49, 0.51, 0.50]
    torch = [0.60, 0.58, 0.62, 0.61, 0.59, 0.60, 0.63, 0.57, 0.60, 0.60]
    row = spread.summarize_case({"autodiff": ad, "torch": torch})
    vs = row["vs_torch"]
    assert vs["ratio_of_medians"] == pytest.approx(statistics.median(ad) / 0.60)
    pairs = [a / t for a, t in zip(ad, torch)]
    assert vs["paired"]["min"] == pytest.approx(min(pairs))
    assert vs["paired"]["max"] == pytest.approx(max(pairs)) and max(pairs) > 1.5
    assert vs["paired"]["median"] == pytest.approx(statistics.median(pairs))
    assert "vs_numpy" not in row  # numpy did not run
    assert row["libraries"]["torch"]["runs"] == 10


def test_summarize_case_without_autodiff_has_no_ratios():
    row = spread.summarize_case({"torch": [1.0, 2.0]})
    assert list(row) == ["libraries"]


def test_summarize_case_skips_a_library_whose_median_is_zero():
    row = spread.summarize_case({"autodiff": [1.0], "numpy": [0.0], "torch": [2.0]})
    assert "vs_numpy" not in row
    assert row["vs_torch"]["ratio_of_medians"] == 0.5


def test_format_case_shows_every_library_and_the_ratios_on_the_first_line():
    row = spread.summarize_case({"autodiff": [1.0, 3.0, 2.0], "torch": [2.0, 2.0, 4.0]})
    lines = spread.format_case("mlp_small", "ms", row, ["autodiff", "numpy", "torch"],
                               note="(3 process runs)")
    assert len(lines) == 2  # numpy did not run: no line for it
    first, second = lines
    assert first.split()[:3] == ["mlp_small", "ms", "autodiff"]
    assert "2 [1 - 3]" in first
    assert "1.00x  [0.50-1.50]" in first  # 2/2 of the medians; paired 1/2, 3/2, 2/4
    assert first.endswith("(3 process runs)")
    assert second.split()[:2] == ["torch", "2"] and "[2 - 4]" in second
    # the columns line up under the header
    assert spread.header().index("ad/torch") == first.index("1.00x")


def test_runner_alternates_the_library_order_and_accepts_the_old_rounds_flag():
    import run
    assert run.round_orders(["autodiff", "numpy", "torch"], 3) == [
        ["autodiff", "numpy", "torch"], ["torch", "numpy", "autodiff"],
        ["autodiff", "numpy", "torch"]]
    assert run.parse_args(["--rounds", "4"]).processes == 4
    args = run.parse_args(["--cases", "mlp_small"])
    assert (args.processes, args.case_names) == (10, ["mlp_small"])
    with pytest.raises(SystemExit):
        run.parse_args(["--processes", "0"])
    with pytest.raises(SystemExit):
        run.parse_args(["--cases", "no_such_case"])
