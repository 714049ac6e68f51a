"""coursetools.grading (the runner's pure parts: child environment, command line, grade table) and
sample_submissions.harness (the verdict on a graded sample, the expectation table)."""

import os
import sys
from pathlib import Path

from coursetools import grading
from sample_submissions import harness
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
    assert harness.problems(harness.Sample("ok", "reference"), result()) == []


def test_a_correct_sample_that_loses_points_is_a_problem():
    out = harness.problems(harness.Sample("ok", "reference"), result(ex2=5))
    assert out == ["ex2: expected full marks, got 5/10"]


def test_a_mistake_that_keeps_full_marks_is_a_problem():
    sample = harness.Sample("bad", "mistake", loses=("ex1",))
    assert harness.problems(sample, result()) == ["ex1: expected to lose points, got full marks 10/10"]
    assert harness.problems(sample, result(ex1=0)) == []


def test_a_mistake_that_costs_another_part_too_is_a_problem():
    sample = harness.Sample("bad", "mistake", loses=("ex1",))
    assert harness.problems(sample, result(ex1=0, ex4=5)) == ["ex4: expected full marks, got 5/10"]


def test_fails_a_mistake_must_fail_exactly_its_named_cells():
    sample = harness.Sample("bad", "mistake", loses=("ex1",), fails=("ex1_hidden_a",))
    right = result(ex1=5, failures={"ex1_hidden_a": "CheckFailed"})
    assert harness.problems(sample, right) == []
    too_many = result(ex1=0, failures={"ex1_hidden_a": "x", "ex1_hidden_b": "y"})
    assert harness.problems(sample, too_many) == [
        "expected exactly ['ex1_hidden_a'] to fail, got ['ex1_hidden_a', 'ex1_hidden_b']"]
    wrong_cell = result(ex1=5, failures={"ex1_hidden_b": "y"})
    assert len(harness.problems(sample, wrong_cell)) == 1


def test_without_fails_any_failing_cells_are_accepted():
    sample = harness.Sample("bad", "mistake", loses=("ex1",))
    assert harness.problems(sample, result(ex1=0, failures={"whatever": "x"})) == []


def test_an_unanswered_sample_must_score_zero():
    sample = harness.Sample("blank", "release", answered=False)
    zero = grading.Result("blank", {p: (0.0, 10.0) for p in grading.PARTS}, {})
    assert harness.problems(sample, zero) == []
    one = grading.Result("blank", {**zero.parts, "cell1": (1.0, 10.0)}, {})
    assert harness.problems(sample, one) == ["expected 0 points, got 1"]


def test_nbgrader_env_never_inherits_the_db_url(monkeypatch):
    monkeypatch.setenv(DB_URL_VARIABLE, "postgresql://instructor/gradebook")
    env = grading.nbgrader_env()
    assert DB_URL_VARIABLE not in env
    assert grading.nbgrader_env(db_url="sqlite:////tmp/x.db")[DB_URL_VARIABLE] == "sqlite:////tmp/x.db"


def test_nbgrader_env_puts_this_python_first_and_leaves_this_process_alone():
    before = dict(os.environ)
    env = grading.nbgrader_env(db_url="sqlite:////tmp/x.db")
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert dict(os.environ) == before, "configuring a child must not change this process's environment"


def test_the_cell_timeout_reaches_nbgrader_as_a_trait_flag():
    command = grading.autograde_command("alice", cell_timeout=15.7)
    assert command[-4:] == ["--force", "--student", "alice", "--RobustExecute.timeout=15"]
    assert not any(a.startswith("--RobustExecute.timeout") for a in grading.autograde_command("alice"))
    assert grading.cell_timeout_flags(None) == []


def test_grade_table_has_a_column_per_part_and_the_first_failure():
    table = grading.grade_table([result("good"), result("bad", ex1=4, failures={"ex1_hidden": "CheckFailed: no"})])
    head, rule, good, bad = table.splitlines()
    assert head.split()[1:len(grading.PARTS) + 2] == [*grading.PARTS, "auto"]
    assert set(rule) == {"-"}
    assert good.split()[len(grading.PARTS) + 1] == "100/100"
    assert bad.split()[1:len(grading.PARTS) + 2] == [*["10"] * 6, "4", *["10"] * 3, "94/100"]
    assert bad.endswith("ex1_hidden: CheckFailed: no")


def test_expectation_table():
    """One row per sample; a packed notebook's members each on their own row, judged on their parts."""
    a = harness.Sample("a", "mistake", {"ex1_solution": "x"}, loses=("ex1",))
    b = harness.Sample("b", "correct", {"ex4_solution": "y"})
    samples = [harness.Sample("good", "reference"),
               harness.Sample("bad", "mistake", loses=("ex1",)),
               harness.Sample("sneaky", "mistake", loses=("ex2",)),
               harness._packed([a, b], correct=False)]
    pack = samples[-1].student
    results = {"good": result("good"),
               "bad": result("bad", ex1=0, failures={"ex1_hidden": "CheckFailed: wrong shape"}),
               "sneaky": result("sneaky"),
               pack: result(pack, ex1=0, failures={"ex1_hidden": "CheckFailed: wrong shape"})}
    head, rule, *rows = harness.expectation_table(samples, results).splitlines()
    assert head.split()[:6] == ["submission", "graded", "in", "expected", "got", "ok"]
    assert set(rule) == {"-"}
    good, bad, sneaky, first, second = rows
    assert good.split()[:5] == ["good", "own", "full", "100/100", "yes"]
    assert bad.split()[:7] == ["bad", "own", "loses", "ex1", "90/100", "(ex1", "0/10)"]
    assert "yes" in bad.split() and bad.endswith("ex1_hidden: CheckFailed: wrong shape")
    assert sneaky.split()[:6] == ["sneaky", "own", "loses", "ex2", "100/100", "NO"]
    assert first.split()[:7] == ["a", pack, "loses", "ex1", "0/10", "(ex1", "0/10)"] and "yes" in first.split()
    assert second.split()[:5] == ["b", pack, "full", "10/10", "yes"]


def test_autograded_maximum_counts_graded_code_cells_only(tmp_path, release):
    """From the release's metadata: test cells' points (1 + 2 here), not the hand-graded answer (5)."""
    import nbformat

    path = tmp_path / "release.ipynb"
    nbformat.write(release, str(path))
    assert grading.autograded_maximum(path) == 3


def test_read_results_spells_a_bare_postgres_url_with_the_pinned_driver(monkeypatch, tmp_path):
    """The URL an instructor exports (postgresql://...) reaches nbgrader's Gradebook as psycopg2's."""
    import nbgrader.api

    seen = []

    class Stop(Exception):
        pass

    def fake_gradebook(url, *args, **kwargs):
        seen.append(url)
        raise Stop

    monkeypatch.setattr(nbgrader.api, "Gradebook", fake_gradebook)
    for given, expected in (("postgresql://grader@db/week13", "postgresql+psycopg2://grader@db/week13"),
                            (None, f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}")):
        try:
            grading.read_results(tmp_path, ["alice"], db_url=given)
        except Stop:
            pass
        assert seen[-1] == expected
