"""The instructor's class-grading command, proven on submissions that attack the grading process.

`robust_class` (tests/conftest.py) grades the reference and every sample of
sample_submissions/robustness.py with `classgrade.grade_class`, the code
behind `make grade-class`, using real `nbgrader autograde` in parallel.
"""

import csv
import html
import json
import re
from pathlib import Path

import nbformat
import pytest
from courses import copy_of
from limits import AUTO_MAX

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, classgrade, grading, rebuild, roster
from sample_submissions import harness
from coursetools import notebooks as nbs
from coursetools.gradebook import gradebook_url, submitted_students
from coursetools.preprocessors import RobustExecute, NotRunIsFailure
from hidden_lines import hidden_lines
from sample_submissions.robustness import SAMPLES

ROBUST = {s.student: s for s in SAMPLES}


@pytest.mark.parametrize("student", list(ROBUST))
def test_submission_gets_the_expected_status_and_grade(robust_class, student):
    samples = robust_class.samples
    statuses = robust_class.statuses
    results = robust_class.results
    sample, status = samples[student], statuses[student]
    assert ("graded" if status.graded else "not graded") == sample.status, status.reason
    if status.graded:
        assert harness.problems(sample, results[student]) == [], results[student].failures
        assert results[student].maximum == AUTO_MAX, "points come from the release's test cells only"
    else:
        assert status.reason, "a submission that is not graded says why"


def test_not_graded_submissions_say_why(robust_class):
    statuses = robust_class.statuses
    assert "cannot be read" in statuses["robust_invalid_json"].reason
    assert "no notebook" in statuses["robust_missing"].reason
    assert any("pytorch_fundamentals (1).ipynb" in n for n in statuses["robust_renamed"].notes)


def test_failures_explain_themselves(robust_class):
    """What a student reads for the grading-process cases: one line, and why."""
    results = robust_class.results
    loop = results["robust_interrupt_loop"].failures
    assert any("NameError" in m for m in loop.values()), loop  # the loop cell never defined accumulated_step
    death = results["robust_kernel_death"].failures
    assert any(m.startswith("KernelDied:") for m in death.values()), death
    assert all(gid.startswith("ex4_") for gid in death), "only the parts the dead kernel could not run"
    # The hacks are caught by the checks themselves, not by a side effect of the hack.
    for student, part, ename in (("robust_monkeypatch_hack", "ex3", "AssertionError"),
                                 ("robust_transformer_hack", "ex2", "CheckFailed"),
                                 ("robust_custom_exc_hack", "ex1", "AssertionError"),
                                 ("robust_event_hack", "ex1", "AssertionError"),
                                 ("robust_observation_hack", "cell4", "AssertionError")):
        failures = results[student].failures
        assert any(g.startswith(part) and m.startswith(ename) for g, m in failures.items()), (student, failures)
    deleted = nbs.read(robust_class.course / "autograded" / "robust_deleted_tests" / ASSIGNMENT / NOTEBOOK)
    assert {"ex1_tests_wine", "cell2_tests_count", "ex4_hidden_metrics"} <= {nbs.grade_id(c) for c in deleted.cells}


def test_test_cells_come_back_from_the_release(robust_class):
    """Deleted, duplicated, retagged and markdown-converted test cells are graded as the release has them."""
    root = robust_class.course
    release = nbs.read(root / "release" / ASSIGNMENT / NOTEBOOK)
    fixed = {nbs.grade_id(c): c for c in release.cells if nbs.grade_id(c) and not c.metadata["nbgrader"]["solution"]}
    for student in ("robust_deleted_tests", "robust_duplicated_tests", "robust_skip_tags", "robust_markdown_tests"):
        nb = nbs.read(root / "autograded" / student / ASSIGNMENT / NOTEBOOK)
        gids = [nbs.grade_id(c) for c in nb.cells if nbs.grade_id(c)]
        assert len(gids) == len(set(gids)), (student, "a grade id twice")
        assert "bonus_points" not in gids
        for cell in nb.cells:
            gid = nbs.grade_id(cell)
            if gid in fixed:
                assert cell.cell_type == fixed[gid].cell_type, (student, gid)
                assert "tags" not in cell.metadata, (student, gid)
                assert cell.metadata["nbgrader"]["points"] == fixed[gid].metadata["nbgrader"].get("points")


def test_grades_csv_tells_not_graded_from_zero(robust_class):
    root = robust_class.course
    statuses = robust_class.statuses
    results = robust_class.results
    with open(root / f"grades_{ASSIGNMENT}.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(statuses)
    for student, row in rows.items():
        if statuses[student].graded:
            assert row["status"] == "graded"
            assert float(row["autograded"]) == results[student].total
        else:
            assert row["status"] == "not graded" and row["autograded"] == "" and row["ex1"] == ""
            assert row["reason"] == statuses[student].reason


def test_feedback_per_part_without_hidden_code(robust_class):
    root = robust_class.course
    statuses = robust_class.statuses
    for student, status in statuses.items():
        path = roster.feedback_file(root, student)  # the name the student submitted (fetch_feedback's)
        assert path.exists() == status.graded, student
        if not status.graded:
            continue
        assert not list(path.parent.glob("*.grading.json")), "review flags are for the instructor, not feedback"
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
        for marker in ("week13_checks", "BEGIN HIDDEN TESTS", "autograder/", "grading_guard"):
            assert marker not in text, (student, marker)
    assert roster.feedback_file(root, "robust_renamed").name == "pytorch_fundamentals (1).html"
    feedback = (root / "feedback" / "robust_transformer_hack" / ASSIGNMENT / "pytorch_fundamentals.html").read_text()
    assert "should be 0.0190097" in html.unescape(feedback), "the failing check's message is in the feedback"


@pytest.mark.parametrize("student", ["robust_hidden_timeout", "robust_hidden_swallow", "robust_hidden_exit",
                                     "robust_kernel_death", "robust_interrupt_loop"])
def test_no_hidden_code_when_a_timeout_interrupt_or_dying_kernel_cuts_through_a_check(robust_class, student):
    root = robust_class.course
    results = robust_class.results
    failures = results[student].failures
    expected = {"robust_hidden_timeout": "CheckFailed: ex4_hidden_moves_to_device: interrupted",
                "robust_hidden_swallow": "CheckFailed: ex4_hidden_moves_to_device: interrupted",
                "robust_hidden_exit": "KernelDied"}.get(student)
    if expected:
        assert failures.get("ex4_hidden_moves_to_device", "").startswith(expected), failures
    text = html.unescape(re.sub(r"<[^>]+>", "", (root / "feedback" / student / ASSIGNMENT /
                                                 NOTEBOOK.replace(".ipynb", ".html")).read_text()))
    own = (root / "submitted" / student / ASSIGNMENT / NOTEBOOK).read_text()
    leaked = [line for line in hidden_lines() if line in text and json.dumps(line)[1:-1] not in own]
    assert leaked == [], leaked[:3]
    if expected:  # the check that was cut through is hidden: its error is one line, no frames at all
        assert "Traceback (most recent call last)" not in text and 'File "' not in text


def test_answers_count_where_students_put_them(robust_class):
    """A deleted, emptied, stub-left or moved solution cell: the answer elsewhere earns its points,
    and the student reads why in a note (feedback) and the instructor in the summary."""
    root = robust_class.course
    statuses = robust_class.statuses
    results = robust_class.results
    for student, note in (("robust_answer_in_new_cell", "ex1_solution: the solution cell was deleted"),
                          ("robust_answer_before_stub", "ex4_solution: left as the release's stub"),
                          ("robust_emptied_solution", "ex2_solution: the solution cell is empty"),
                          ("robust_moved_solution", "cell6_solution: moved")):
        assert results[student].total == AUTO_MAX, (student, results[student].failures)
        assert any(n.startswith(note) for n in statuses[student].notes), (student, statuses[student].notes)
        feedback = (root / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
        assert note.split(": ", 1)[1] in html.unescape(feedback), student


def test_no_free_points_for_flags_set_by_hand(robust_class):
    results = robust_class.results
    failures = results["robust_free_points"].failures
    assert {"cell5_tests_resume", "ex2_tests_structure"} <= set(failures), failures


def test_regrading_is_safe_and_never_keeps_a_stale_score(robust_class, tmp_path):
    root = copy_of(robust_class.course, tmp_path / "course")  # the shared class stays as graded
    statuses = robust_class.statuses
    results = robust_class.results
    again, _, _ = classgrade.grade_class(root, workers=2, quiet=True, only=["robust_warning", "robust_transformer_hack"])
    regraded = grading.read_results(root, ["robust_warning", "robust_transformer_hack"])
    for student, result in regraded.items():
        assert result.parts == results[student].parts, student
    assert again["reference"].graded, "students outside --student keep their grades"
    # The student resubmits a broken file: the old score must not survive the failed regrade.
    submitted = root / "submitted" / "robust_warning" / ASSIGNMENT / NOTEBOOK
    submitted.write_text("{ not json")
    after, results_after, _ = classgrade.grade_class(root, workers=1, quiet=True, only=["robust_warning"])
    assert not after["robust_warning"].graded and "robust_warning" not in results_after
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(root)) as gb:
        old = gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, "robust_warning")
        assert all(g.auto_score is None for g in old.grades), "no old autograded score survives a failed regrade"
    assert "reference" in submitted_students(gradebook_url(root), ASSIGNMENT)
    assert not (root / "feedback" / "robust_warning" / ASSIGNMENT).exists(), "no old feedback either"
    with open(root / f"grades_{ASSIGNMENT}.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["student"] == "robust_warning")
    assert row["status"] == "not graded" and row["autograded"] == ""
    assert statuses["robust_warning"].graded  # it had been graded before


# ------------------------------------------------------------ the notebook time limit, on a tiny notebook

def _test_cell(source, gid, points=1):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": gid, "locked": True, "points": points,
                                 "schema_version": 3, "solution": False, "task": False}
    return cell


def test_notebook_time_limit_leaves_later_cells_unrun_and_pointless(tmp_path):
    """Each cell within its own limit, the whole notebook over its limit: later test cells earn nothing."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time; time.sleep(1.5)"),
        _test_cell("time.sleep(1.5)", "first"),
        _test_cell("assert True", "second"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executor = RobustExecute(timeout=10, notebook_timeout=2, hidden_modules=["grading_guard"])
    nb, resources = executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert nb.cells[1].execution_count, "a cell that starts inside the limit runs"
    assert nb.cells[2].execution_count is None
    assert nb.cells[2].outputs[0].ename == "NotebookTimeout"
    nb.cells[2].outputs = []
    nb, _ = NotRunIsFailure().preprocess(nb, resources)
    assert nb.cells[2].outputs[0].ename == "NotRun", "a test cell that did not run never earns points"


def test_rebuild_keeps_answers_and_restores_the_skeleton():
    """classgrade.rebuild on its own: the student's cells kept in order, the release's test cells back."""
    release = nbs.read(REPO / "release" / ASSIGNMENT / NOTEBOOK)
    student = nbformat.from_dict(json.loads(json.dumps(release)))
    tests = [i for i, c in enumerate(student.cells) if nbs.grade_id(c) and not c.metadata["nbgrader"]["solution"]]
    solution = next(c for c in student.cells if nbs.grade_id(c) == "ex1_solution")
    solution.source = "class MyTabularDataset: pass  # my answer"
    student.cells[tests[0]].source = "pass  # tests edited away"
    del student.cells[tests[1]]
    student.cells.insert(3, nbformat.v4.new_code_cell("print('my own scratch cell')"))
    nb, notes = rebuild.rebuild(release, student)
    assert [nbs.grade_id(c) for c in nb.cells if nbs.grade_id(c)] == \
        [nbs.grade_id(c) for c in release.cells if nbs.grade_id(c)]
    by_gid = {nbs.grade_id(c): c for c in nb.cells if nbs.grade_id(c)}
    assert by_gid["ex1_solution"].source.endswith("# my answer")
    assert by_gid[nbs.grade_id(release.cells[tests[0]])].source == release.cells[tests[0]].source
    assert any(c.source == "print('my own scratch cell')" for c in nb.cells)
    assert notes == []


def test_code_that_reaches_into_the_kernel_is_flagged_for_review(robust_class):
    """The grader undoes hooks and patches; the summary and the CSV also tell a person to look."""
    root = robust_class.course
    statuses = robust_class.statuses
    flagged = {s for s, st in statuses.items() if any(n.startswith("review by hand") for n in st.notes)}
    assert flagged == {"robust_custom_exc_hack", "robust_transformer_hack", "robust_event_hack",
                       "robust_monkeypatch_hack", "robust_kernel_death", "robust_hidden_exit", "robust_registry_hack",
                       "robust_frame_hack", "robust_observation_hack"}
    with open(root / f"grades_{ASSIGNMENT}.csv", newline="") as f:
        notes = {row["student"]: row["notes"] for row in csv.DictReader(f)}
    assert "review by hand: the code touches IPython hooks" in notes["robust_transformer_hack"]
    assert notes["reference"] == ""


def _guard():
    import importlib.util

    spec = importlib.util.spec_from_file_location("grading_guard_under_test",
                                                  REPO / "autograder" / "grading_guard.py")
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    return guard


def test_guard_trusts_installed_hooks_only():
    """IPython's own transformers are kept; a notebook's lambda, callable object, AST transformer
    subclass or function compiled under a forged installed file name are not."""
    import ast

    from IPython.core.interactiveshell import InteractiveShell

    guard = _guard()
    shell = InteractiveShell.instance()
    assert all(guard._trusted(f) for f in shell.input_transformers_cleanup + shell.input_transformers_post)
    assert guard._trusted(ast.NodeTransformer())

    class Blank:
        def __call__(self, lines):
            return ["pass\n"]

    class Rewriter(ast.NodeTransformer):
        pass

    forged = {}
    exec(compile("def blank(lines):\n    return ['pass\\n']",
                 str(Path(ast.__file__)), "exec"), forged)  # a file name of the standard library
    for hook in (lambda lines: ["pass\n"], Blank(), Rewriter(), forged["blank"]):
        assert not guard._trusted(hook), hook


def test_every_student_was_graded_in_the_sandbox(robust_class):
    """The grading notes say how each kernel ran; the CSV's mode column shows it."""
    root = robust_class.course
    statuses = robust_class.statuses
    results = robust_class.results
    assert results and all(statuses[student].mode == "sandboxed" for student in results)
    with open(root / f"grades_{ASSIGNMENT}.csv", newline="") as f:  # rewritten by the regrade tests above
        rows = [row for row in csv.DictReader(f) if row["status"] == "graded"]
    assert rows and all(row["mode"] == "sandboxed" for row in rows), rows
