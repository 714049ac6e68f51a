"""What an instructor must be able to trust, proven with real nbgrader:

- one pipeline: plain `nbgrader autograde` grades the robustness samples where its path differs
  from `grade-class` (files it must refuse or find, cells it restores itself, a kernel that dies,
  a hack on the kernel) exactly like `grade-class` (every score, every failing check, every note);
- hand grades, comments and extra credit survive every regrade, through every
  entry point (grade-class for the class and for one student, plain
  `nbgrader autograde` for the class and for one student, and the API behind the
  formgrader's Autograde button); a failed regrade leaves no autograded score;
- tests never write into an instructor's gradebook ($WEEK13_DB_URL);
- a failed `generate_feedback` shows as a status in the summary and the CSV.
"""

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from environ import untraced_env
from limits import CLASS_CELL_TIMEOUT_S

from coursetools import ASSIGNMENT, NOTEBOOK, classgrade, grading
from coursetools import course
from courses import copy_of, make_course
from sample_submissions import harness
from coursetools.gradebook import DB_URL_VARIABLE, gradebook_url
from coursetools.notes import NOTES_SUFFIX, read_notes
from sample_submissions.catalogue import FLAWED_DEMO
from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE

NB_NAME = NOTEBOOK.removesuffix(".ipynb")

# What plain nbgrader's whole-class loop must handle as grade-class does; the rest of the robustness
# class runs through the same preprocessors either way (nbgrader_config.py), proven by grade-class.
PLAIN_SUBSET = (
    "reference",
    "robust_invalid_json", "robust_missing",  # files it cannot grade: no score, the batch goes on
    "robust_renamed", "robust_wrong_kernelspec",  # a notebook it must find, a kernelspec it must replace
    "robust_deleted_tests", "robust_duplicated_tests",  # test cells it restores from the gradebook
    "robust_kernel_death",  # a kernel that dies: restarted, the rest graded
    "robust_transformer_hack",  # a hack on the kernel's own machinery gains nothing
    "robust_registry_hack", "robust_frame_hack",  # registry, frames: decided outside the kernel, they gain nothing
)


def _scores(root):
    """{student: {grade id: auto score}} straight from the gradebook (None: not autograded)."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(gradebook_url(root)) as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            for notebook in submission.notebooks:
                out[submission.student.id] = {g.name: g.auto_score for g in notebook.grades}
    return out


def _notes(root, student):
    data = read_notes(Path(root) / "autograded" / student / ASSIGNMENT / (NB_NAME + NOTES_SUFFIX))
    return data.get("notes", []), data.get("review", [])


@pytest.fixture(scope="session")
def plain_class(tmp_path_factory, robust_class):
    """PLAIN_SUBSET of the robustness samples graded by plain `nbgrader autograde week13` (two
    processes, half the class each, as two instructors' terminals would), with the same cell time
    limit as robust_class."""
    samples = robust_class.samples
    root = make_course(tmp_path_factory.mktemp("plain") / "course")
    harness.submit(root, [samples[s] for s in PLAIN_SUBSET])
    students = sorted(p.name for p in (root / "submitted").iterdir())
    halves = [students[0::2], students[1::2]]
    import time

    start = time.perf_counter()
    procs = []
    for half in halves:
        others = [s for s in students if s not in half]
        procs.append(subprocess.Popen(
            [*grading.NBGRADER, "autograde", ASSIGNMENT, "--force",
             "--CourseDirectory.student_id_exclude=" + ",".join(others), *grading.cell_timeout_flags(CLASS_CELL_TIMEOUT_S)],
            cwd=root, env=untraced_env(grading.nbgrader_env()), stdout=subprocess.DEVNULL,  # robust_class measures it
            stderr=subprocess.DEVNULL))
    for proc in procs:
        proc.wait(timeout=1200)
    seconds = time.perf_counter() - start
    from run_summary import SECTIONS as _SUMMARY

    _SUMMARY["the same class by two plain `nbgrader autograde` processes (half the class each)"] = [
        f"{len(students)} submissions in {seconds:.1f} s ({seconds / len(students):.1f} s each on 2 cores); "
        "grade-class's figure for the same class is in its section above"]
    return root


def test_plain_nbgrader_grades_exactly_like_grade_class(robust_class, plain_class):
    """Compared with what grade-class recorded when it graded the class (later tests regrade some
    students of robust_class on purpose): every score per grade cell, every failing check's
    message, every note."""
    statuses = robust_class.statuses
    results = robust_class.results
    by_plain = _scores(plain_class)
    plain = grading.read_results(plain_class, [s for s in results if s in by_plain])
    compared = 0
    for student in PLAIN_SUBSET:
        status = statuses[student]
        if status.graded:
            assert plain[student].parts == results[student].parts, student
            assert plain[student].failures == results[student].failures, student
            notes, review = _notes(plain_class, student)
            assert [*notes, *review] == status.notes, student
            compared += 1
        else:  # a file nbgrader cannot grade: no autograded score either way
            assert all(v is None for v in by_plain.get(student, {}).values()), student
    assert compared == sum(statuses[s].graded for s in PLAIN_SUBSET) >= 7


@pytest.fixture
def hand_graded(tmp_path):
    """A small class graded once by grade-class, then hand-graded through nbgrader's API: the
    written answer, a comment, extra credit, and an instructor's override of an autograded cell."""
    from nbgrader.api import Gradebook

    samples = [REFERENCE, FLAWED_DEMO[0]]
    root = make_course(tmp_path / "course")
    harness.submit(root, samples)
    classgrade.grade_class(root, workers=2, quiet=True)
    with Gradebook(gradebook_url(root)) as gb:
        for student in ("reference", FLAWED_DEMO[0].student):
            answer = gb.find_grade("ex3_answer", NB_NAME, ASSIGNMENT, student)
            answer.manual_score = 4
            answer.extra_credit = 1
            gb.find_comment("ex3_answer", NB_NAME, ASSIGNMENT, student).manual_comment = "Good: the sum of gradients."
            gb.find_grade("ex1_tests_wine", NB_NAME, ASSIGNMENT, student).manual_score = 3.5
        gb.db.commit()
    return root, [s.student for s in samples]


def _hand_grades(root, student):
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(root)) as gb:
        answer = gb.find_grade("ex3_answer", NB_NAME, ASSIGNMENT, student)
        comment = gb.find_comment("ex3_answer", NB_NAME, ASSIGNMENT, student)
        wine = gb.find_grade("ex1_tests_wine", NB_NAME, ASSIGNMENT, student)
        return (answer.manual_score, answer.extra_credit, comment.manual_comment, wine.manual_score,
                wine.auto_score)


FORMGRADER_BUTTON = """
import sys
sys.modules.setdefault('rfc3987_syntax', None)
from traitlets.config.loader import PyFileConfigLoader
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
config = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()
api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
result = api.autograde('week13', sys.argv[1], force=True)
sys.exit(0 if result['success'] else 1)
"""


def test_hand_grades_survive_every_regrade(hand_graded):
    root, students = hand_graded
    kept = {s: _hand_grades(root, s) for s in students}
    assert kept["reference"][:4] == (4, 1, "Good: the sum of gradients.", 3.5)
    regrades = {
        "grade-class, whole class": lambda: classgrade.grade_class(root, workers=2, quiet=True),
        "grade-class --student": lambda: classgrade.grade_class(root, workers=1, quiet=True, only=[students[1]]),
        "nbgrader autograde": lambda: grading.nbgrader(["autograde", ASSIGNMENT, "--force"], root),
        "nbgrader autograde --student": lambda: grading.nbgrader(
            ["autograde", ASSIGNMENT, "--force", "--student", students[0]], root),
        "formgrader's Autograde button (NbGraderAPI.autograde)": lambda: subprocess.run(
            [sys.executable, "-c", FORMGRADER_BUTTON, students[1]], cwd=root, env=grading.nbgrader_env(),
            check=True, capture_output=True),
    }
    for how, regrade in regrades.items():
        regrade()
        for student in students:
            assert _hand_grades(root, student) == kept[student], (how, student)
    # A resubmission that cannot be graded: no autograded score survives, the hand grades do.
    submitted = root / "submitted" / students[1] / ASSIGNMENT / NOTEBOOK
    submitted.write_text("{ not json")
    statuses, results, _ = classgrade.grade_class(root, workers=1, quiet=True, only=[students[1]])
    assert not statuses[students[1]].graded and students[1] not in results
    assert _hand_grades(root, students[1])[:4] == kept[students[1]][:4]
    autograded = {g: v for g, v in _scores(root)[students[1]].items() if g != "ex3_answer"}
    assert set(autograded.values()) == {None}, "a failed regrade leaves no old autograded score"


def test_tests_never_touch_an_instructors_gradebook(tmp_path, monkeypatch):
    """With $WEEK13_DB_URL exported, a scratch course (tests, `make course`) still uses its own gradebook."""
    live = tmp_path / "live.db"
    monkeypatch.setenv(DB_URL_VARIABLE, f"sqlite:///{live}")
    root = course.make_course(tmp_path / "course")  # generated here: make_course itself is what is proven
    # then a write through the same child environment grading uses (grading.nbgrader_env)
    grading.nbgrader(["db", "student", "add", "alice", "--first-name", "Alice"], root)
    assert not live.exists(), "the instructor's gradebook was written"
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("SELECT first_name FROM student WHERE id = 'alice'").fetchall() == [("Alice",)]
    assert (root / "gradebook.db").exists()
    assert grading.nbgrader_env().get(DB_URL_VARIABLE) is None
    assert grading.nbgrader_env(db_url="sqlite:///x.db")[DB_URL_VARIABLE] == "sqlite:///x.db"


def test_failed_feedback_is_a_status(robust_class, tmp_path):
    """A graded notebook that feedback cannot be made from: `graded, no feedback` in the summary and CSV."""
    root = copy_of(robust_class.course, tmp_path / "course")  # the shared class keeps its feedback
    statuses = robust_class.statuses
    results = robust_class.results
    student = "reference"
    graded = root / "autograded" / student / ASSIGNMENT / NOTEBOOK
    os.chmod(graded, 0o644)
    graded.write_text("{ broken")
    fresh = {s: classgrade.Status(s, graded=st.graded) for s, st in statuses.items()}
    classgrade.generate_feedback(root, [student], fresh)
    assert fresh[student].feedback_failed and fresh[student].label == "graded, no feedback"
    path = classgrade.write_csv(root / "feedback-status.csv", fresh, results)
    with open(path, newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["student"] == student)
    assert row["status"] == "graded, no feedback" and "feedback" in row["notes"]
    assert "graded, no feedback" in classgrade.summary(fresh, results)
