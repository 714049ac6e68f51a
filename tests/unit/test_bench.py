"""benchmarks.bench: the pure statistics behind `make bench` (no timing is run here)."""

import pytest

from benchmarks import bench


def test_summarise_medians_minimums_counts_and_drops_empty_figures():
    assert bench.summarise({"floor": [3.0, 1.0, 2.0], "feedback": [4.0, 6.0], "never_ran": []}) == {
        "floor": {"median": 2.0, "min": 1.0, "n": 3},
        "feedback": {"median": 5.0, "min": 4.0, "n": 2},
    }


@pytest.fixture
def stats():
    return bench.summarise({
        "floor": [2.0, 2.0, 4.0],           # median 2, min 2
        "execute_worked": [6.0, 10.0, 4.0],  # median 6, min 4
        "batch_serial": [10.0, 12.0],        # median 11, min 10
        "batch_parallel": [10.0, 10.0],      # median 10, min 10
    })


def test_ratios_to_the_floor(stats):
    to_floor, _targets = bench.ratios(stats)
    assert to_floor["floor"] == {"median": 1.0, "min": 1.0}
    assert to_floor["execute_worked"] == {"median": 3.0, "min": 2.0}


def test_ratios_targets_pass_miss_and_missing_figures(stats):
    _to_floor, targets = bench.ratios(stats)
    assert set(targets) == {"worked_over_floor", "parallel_speedup"}  # autograde_one never measured
    worked = targets["worked_over_floor"]
    limit = bench.TARGETS["worked_over_floor"][3]
    assert worked == {"value": 3.0, "value_from_min": 2.0, "target": f"<= {limit:g}", "verdict": "PASS"}
    speedup = targets["parallel_speedup"]
    assert speedup["value"] == pytest.approx(1.1) and speedup["value_from_min"] == 1.0
    assert speedup["target"] == ">= 1.7" and speedup["verdict"] == "MISS"
