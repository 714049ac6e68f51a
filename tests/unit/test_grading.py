"""coursetools.grading: the verdict on a graded sample, the child environment, the expectation table."""

import os
import sys
from pathlib import Path

from coursetools import grading
from coursetools.gradebook import DB_URL_VARIABLE


def result(student="s", failures=None, **scores):
    parts = {p: (10.0, 10.0) for p in grading.PARTS}
    for part, score in scores.items():
        parts[part] = (score, 10.0)
    return grading.Result(student, parts, failures or {})


def test_result_totals():
    r = result(ex1=4)
    assert r.total == 94 and r.maximum == 100


def test_a_correct_sample_with_full_marks_has_no_problems():
    assert grading.problems(grading.Sample("ok", "reference"), result()) == []


def test_a_correct_sample_that_loses_points_is_a_problem():
    out = grading.problems(grading.Sample("ok", "reference"), result(ex2=5))
    assert out == ["ex2: expected full marks, got 5/10"]


def test_a_mistake_that_keeps_full_marks_is_a_problem():
    sample = grading.Sample("bad", "mistake", loses=("ex1",))
    assert grading.problems(sample, result()) == ["ex1: expected to lose points, got full marks 10/10"]
    assert grading.problems(sample, result(ex1=0)) == []


def test_a_mistake_that_costs_another_part_too_is_a_problem():
    sample = grading.Sample("bad", "mistake", loses=("ex1",))
    assert grading.problems(sample, result(ex1=0, ex4=5)) == ["ex4: expected full marks, got 5/10"]


def test_fails_a_mistake_must_fail_exactly_its_named_cells():
    sample = grading.Sample("bad", "mistake", loses=("ex1",), fails=("ex1_hidden_a",))
    right = result(ex1=5, failures={"ex1_hidden_a": "CheckFailed"})
    assert grading.problems(sample, right) == []
    too_many = result(ex1=0, failures={"ex1_hidden_a": "x", "ex1_hidden_b": "y"})
    assert grading.problems(sample, too_many) == [
        "expected exactly ['ex1_hidden_a'] to fail, got ['ex1_hidden_a', 'ex1_hidden_b']"]
    wrong_cell = result(ex1=5, failures={"ex1_hidden_b": "y"})
    assert len(grading.problems(sample, wrong_cell)) == 1


def test_without_fails_any_failing_cells_are_accepted():
    sample = grading.Sample("bad", "mistake", loses=("ex1",))
    assert grading.problems(sample, result(ex1=0, failures={"whatever": "x"})) == []


def test_an_unanswered_sample_must_score_zero():
    sample = grading.Sample("blank", "release", answered=False)
    zero = grading.Result("blank", {p: (0.0, 10.0) for p in grading.PARTS}, {})
    assert grading.problems(sample, zero) == []
    one = grading.Result("blank", {**zero.parts, "cell1": (1.0, 10.0)}, {})
    assert grading.problems(sample, one) == ["expected 0 points, got 1"]


def test_nbgrader_env_never_inherits_the_db_url(monkeypatch):
    monkeypatch.setenv(DB_URL_VARIABLE, "postgresql://instructor/gradebook")
    env = grading.nbgrader_env()
    assert DB_URL_VARIABLE not in env
    assert grading.nbgrader_env(db_url="sqlite:////tmp/x.db")[DB_URL_VARIABLE] == "sqlite:////tmp/x.db"


def test_nbgrader_env_threads_path_and_cell_timeout(monkeypatch):
    monkeypatch.delenv(grading.CELL_TIMEOUT_VARIABLE, raising=False)
    env = grading.nbgrader_env(threads=3, cell_timeout=15.7)
    assert env["OMP_NUM_THREADS"] == "3"
    assert env[grading.CELL_TIMEOUT_VARIABLE] == "15"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert grading.CELL_TIMEOUT_VARIABLE not in grading.nbgrader_env()


def test_expectation_table():
    samples = [grading.Sample("good", "reference"),
               grading.Sample("bad", "mistake", loses=("ex1",)),
               grading.Sample("sneaky", "mistake", loses=("ex2",))]
    results = {"good": result("good"),
               "bad": result("bad", ex1=0, failures={"ex1_hidden": "CheckFailed: wrong shape"}),
               "sneaky": result("sneaky")}
    head, *rows = grading.expectation_table(samples, results).splitlines()
    assert head.split()[:4] == ["submission", "expected", "got", "ok"]
    good, bad, sneaky = rows
    assert good.split()[:4] == ["good", "full", "100/100", "yes"]
    assert bad.split()[:6] == ["bad", "loses", "ex1", "90/100", "(ex1", "0/10)"]
    assert "yes" in bad.split() and bad.endswith("ex1_hidden: CheckFailed: wrong shape")
    assert sneaky.split()[:5] == ["sneaky", "loses", "ex2", "100/100", "NO"]
