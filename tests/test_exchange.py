"""The term on JupyterHub: nbgrader's exchange, round trip, with the real commands (docs/jupyterhub.md).

One scratch course configured as docs/jupyterhub.md says (`c.Exchange.root`, the course id it
ships with, a due date, `LateSubmissionPlugin.penalty_method = "zero"`), an exchange in the test's
scratch folder, and two students, each with a home of their own (their own nbgrader cache and
working folder, nothing of the course's), simulated as hub users by `--student`:

- alice saves her answers as `pytorch_fundamentals (1).ipynb` (a copy JupyterLab made) and submits
  on time; bob submits a mistake on time, then, after the due date, the right answers;
- the instructor collects, grades with `week13 grade-class`, collects bob's resubmission
  (`collect --update`) and regrades with plain `nbgrader autograde` (no --force: nbgrader regrades
  what is newer than its graded copy), hand-grades the written answer through nbgrader's API,
  generates and releases feedback and exports grades;
- carol hands in through Canvas after the due date, dan through Moodle before it: each LMS's
  archive and roster (Canvas's gradebook export, Moodle's grading worksheet) go into the course, and
  one `nbgrader zip_collect` collects carol as late (Canvas's LATE in her file name) and dan on time
  (the time Moodle recorded); their grades go back as each LMS's import reads them;
- each student fetches their own feedback and finds their own score, penalty and comment in it,
  under the name they submitted.

Five graded notebooks in all (about a minute on 2 cores).
"""

import csv
import os
import re
import subprocess
import time
import zipfile
from datetime import datetime, timedelta, UTC
from pathlib import Path

import nbformat
import pytest
from courses import make_course
from limits import AUTO_MAX

from coursetools import ASSIGNMENT, NOTEBOOK, classgrade, grading, lms
from coursetools import notebooks as nbs
from coursetools.gradebook import gradebook_url
from sample_submissions.catalogue import FLAWED_DEMO
from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE

COURSE_ID = "pytorch-fundamentals"  # c.CourseDirectory.course_id in nbgrader_config.py: what students pass
NB_NAME = NOTEBOOK.removesuffix(".ipynb")
RENAMED = "pytorch_fundamentals (1).ipynb"
# Canvas's archive names each file <sortable name>_[LATE_]<user id>_<attachment id>_<file>, "-1" added
# to a file uploaded again under the same name; its gradebook export maps user ids to login ids
CANVAS_FILE = "curiecarol_LATE_5003_880001_pytorch_fundamentals-1.ipynb"
MOODLE_FILE = "Dan Doe_1234502_assignsubmission_file_/pytorch_fundamentals.ipynb"  # "in folders"
MOODLE_WORKSHEET = ("Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
                    "Last modified (submission),Last modified (grade),Feedback comments\n"
                    'Participant 1234502,Dan Doe,dan,Submitted for grading,,10.00,Yes,"{time}",-,\n')
CANVAS_ROSTER = ("Student,ID,SIS User ID,SIS Login ID,Section,week13 (4411)\n"
                 "    Points Possible,,,,,100.00\n"
                 '"Curie, Carol",5003,S-77,carol,DL 2026\n')
MISTAKE = next(s for s in FLAWED_DEMO if s.student == "ex1_sample_std")
WRITTEN = 5.0  # ex3_answer's points, graded by hand
NBGRADER = grading.NBGRADER


def _run(args, cwd, env=None):
    proc = subprocess.run([*NBGRADER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


class Student:
    """A hub user: a home of their own (HOME, the Jupyter folders, the nbgrader cache), the course's
    exchange, and their id given as on a hub (where it is the login name) with --student."""

    def __init__(self, base: Path, name: str, exchange: Path):
        self.name, self.home = name, base / "home" / name
        self.home.mkdir(parents=True)
        self.env = {**os.environ, "HOME": str(self.home), "JUPYTER_CONFIG_DIR": str(self.home / ".jupyter"),
                    "JUPYTER_DATA_DIR": str(self.home / ".local" / "share" / "jupyter")}
        self.flags = [f"--course={COURSE_ID}", f"--student={name}", f"--Exchange.root={exchange}"]

    def nbgrader(self, *args):
        return _run([*args, *self.flags], self.home, self.env)

    @property
    def folder(self) -> Path:
        return self.home / ASSIGNMENT

    def feedback(self) -> dict[str, str]:
        """{file name: text} of every feedback page fetched, from the newest submission's folder."""
        stamps = sorted((self.folder / "feedback").iterdir())
        return {p.name: p.read_text() for p in stamps[-1].glob("*.html")}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    base = tmp_path_factory.mktemp("hub")
    exchange = base / "exchange"
    exchange.mkdir()
    root = make_course(base / "course")
    with open(root / "nbgrader_config.py", "a") as f:  # what docs/jupyterhub.md tells the instructor to add
        f.write(f'\nc.Exchange.root = "{exchange}"\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    release_nb, source_nb = (nbs.read(root / kind / ASSIGNMENT / NOTEBOOK) for kind in ("release", "source"))
    answers = REFERENCE.notebook(release_nb, source_nb)
    mistake = MISTAKE.notebook(release_nb, source_nb)

    _run(["release_assignment", ASSIGNMENT], root)
    alice, bob = (Student(base, name, exchange) for name in ("alice", "bob"))
    for student in (alice, bob):
        student.nbgrader("fetch_assignment", ASSIGNMENT)
        assert (student.folder / NOTEBOOK).is_file() and (student.folder / "data").is_dir()
    (alice.folder / NOTEBOOK).unlink()
    nbs.write(answers, alice.folder / RENAMED)
    alice.nbgrader("submit", ASSIGNMENT)
    nbs.write(mistake, bob.folder / NOTEBOOK)
    bob.nbgrader("submit", ASSIGNMENT)
    time.sleep(1.1)
    due = _now()
    _run(["db", "assignment", "add", ASSIGNMENT, f"--duedate={due}"], root)
    time.sleep(1.1)

    _run(["collect", ASSIGNMENT], root)
    first, first_results, _ = classgrade.grade_class(root, quiet=True)
    first_summary = classgrade.summary(first, first_results)

    nbs.write(answers, bob.folder / NOTEBOOK)  # the right answers, after the due date
    bob.nbgrader("submit", ASSIGNMENT)
    _run(["collect", "--update", ASSIGNMENT], root)
    # carol hands in through Canvas, after the due date: the instructor puts Canvas's "Download
    # Submissions" archive and its gradebook export in the course and runs zip_collect
    canvas = root / "downloaded" / ASSIGNMENT / "archive"
    canvas.mkdir(parents=True)
    with zipfile.ZipFile(canvas / "submissions.zip", "w") as z:
        z.writestr(CANVAS_FILE, nbformat.writes(answers))
    (root / "canvas_gradebook.csv").write_text(CANVAS_ROSTER)
    # and dan through Moodle, before the due date (its grading worksheet says when): one archive of
    # each in the same folder, the course's collector tells them apart by their names
    with zipfile.ZipFile(canvas / "moodle.zip", "w") as z:
        z.writestr(MOODLE_FILE, nbformat.writes(mistake))
    before_due = datetime.strptime(due, "%Y-%m-%d %H:%M:%S UTC") - timedelta(hours=1)
    (root / "moodle_worksheet.csv").write_text(MOODLE_WORKSHEET.format(time=before_due.strftime(lms.MOODLE_TIME)))
    with open(root / "nbgrader_config.py", "a") as f:
        f.write('c.CanvasCollector.roster = "canvas_gradebook.csv"\nc.MoodleCollector.worksheet = "moodle_worksheet.csv"\n')
    zip_log = _run(["zip_collect", ASSIGNMENT], root)
    alice_graded = root / "autograded" / "alice" / ASSIGNMENT / NOTEBOOK
    alice_before = alice_graded.stat().st_mtime_ns
    regrade_log = _run(["autograde", ASSIGNMENT], root)  # plain nbgrader, no --force
    at_autograde = grading.read_results(root, ["bob"])["bob"].late

    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url(root)) as gb:
        for name, points, comment in (("alice", 4.0, "alice: the sum of both gradients, well argued."),
                                      ("bob", 5.0, "bob: right, and the accumulation example is clear."),
                                      ("carol", 3.0, "carol: say why the gradients add up.")):
            gb.find_grade("ex3_answer", NB_NAME, ASSIGNMENT, name).manual_score = points
            gb.find_comment("ex3_answer", NB_NAME, ASSIGNMENT, name).manual_comment = comment
        gb.db.commit()
    _run(["generate_feedback", ASSIGNMENT, "--force"], root)
    release_log = _run(["release_feedback", ASSIGNMENT], root)
    for student in (alice, bob):
        student.nbgrader("fetch_feedback", ASSIGNMENT)
    _run(["export", "--to", str(base / "grades.csv")], root)
    with open(base / "grades.csv") as f:
        exported = {row["student_id"]: row for row in csv.DictReader(f)}
    canvas_log = _run(["export", "--exporter=coursetools.lms.CanvasExport", "--to", str(base / "canvas_grades.csv")], root)
    with open(base / "canvas_grades.csv") as f:
        canvas_rows = list(csv.reader(f))
    _run(["export", "--exporter=coursetools.lms.MoodleExport", "--to", str(base / "moodle_grades.csv")], root)
    with open(base / "moodle_grades.csv") as f:
        moodle_rows = list(csv.DictReader(f))
    return {"root": root, "alice": alice, "bob": bob, "first": first, "first_results": first_results,
            "first_summary": first_summary, "alice_regraded": alice_graded.stat().st_mtime_ns != alice_before,
            "regrade_log": regrade_log, "at_autograde": at_autograde, "exported": exported, "zip_log": zip_log,
            "release_log": release_log, "canvas_rows": canvas_rows, "canvas_log": canvas_log,
            "moodle_rows": moodle_rows,
            "due": due, "final": grading.read_results(root, ["alice", "bob", "carol", "dan"])}


def test_the_first_round_is_graded_from_what_collect_brought(term):
    statuses, results = term["first"], term["first_results"]
    assert statuses["alice"].graded and statuses["bob"].graded
    assert results["alice"].total == AUTO_MAX, results["alice"].failures
    assert any(f"notebook found as {RENAMED}" in note for note in statuses["alice"].notes)
    assert results["bob"].total < AUTO_MAX and "ex1_hidden_statistics" in results["bob"].failures
    # nbgrader's own exchange files are not "files beside the notebook" the student should hear about
    assert not any("timestamp.txt" in note or "submission_secret" in note
                   for st in statuses.values() for note in st.notes), [st.notes for st in statuses.values()]
    assert "penalty" not in term["first_summary"].splitlines()[0], "nobody was late: no late columns"


def test_a_late_resubmission_is_regraded_by_plain_autograde(term):
    assert not term["alice_regraded"], "alice's graded copy is as new as her submission: nbgrader skips it"
    assert re.search(r"Updating existing assignment: .*autograded/bob/week13", term["regrade_log"]), \
        term["regrade_log"][-2000:]
    bob = term["final"]["bob"]
    assert bob.total == AUTO_MAX, bob.failures
    assert term["at_autograde"].seconds > 0 and term["at_autograde"].penalty == AUTO_MAX


def test_the_late_penalty_is_the_final_score_s_after_hand_grading(term):
    """penalty_method "zero": bob's final score is 0 however many hand points he gets, and the
    gradebook, the export, the class CSV's reader and bob's feedback say the same numbers."""
    alice, bob = term["final"]["alice"].late, term["final"]["bob"].late
    assert (alice.seconds, alice.raw, alice.penalty, alice.final) == (0, AUTO_MAX + 4, 0, AUTO_MAX + 4)
    assert bob.seconds > 0 and (bob.raw, bob.penalty, bob.final) == (AUTO_MAX + WRITTEN, AUTO_MAX + WRITTEN, 0)
    rows = term["exported"]
    assert [float(rows["alice"][k]) for k in ("raw_score", "late_submission_penalty", "score")] == [99, 0, 99]
    assert [float(rows["bob"][k]) for k in ("raw_score", "late_submission_penalty", "score")] == [100, 100, 0]
    page = term["bob"].feedback()[NOTEBOOK.replace(".ipynb", ".html")]
    assert f"(Score: 0.0 / {AUTO_MAX + WRITTEN})" in page
    assert f"Late submission penalty (Score: -{AUTO_MAX + WRITTEN})" in page


def test_a_canvas_late_marker_counts_as_late_through_zip_collect(term):
    """Issue 21: carol's file from Canvas's download, LATE in its name, collected by `nbgrader
    zip_collect` with the course config as shipped (the roster maps Canvas's 5003 to carol; Canvas's
    "-1" is dropped): graded by plain autograde, one second late, penalty "zero" after her hand grade
    in the gradebook, the export and her feedback."""
    root = term["root"]
    submitted = root / "submitted" / "carol" / ASSIGNMENT
    assert sorted(p.name for p in submitted.iterdir()) == sorted([NOTEBOOK, "timestamp.txt"]), term["zip_log"][-2000:]
    carol = term["final"]["carol"]
    assert carol.total == AUTO_MAX, carol.failures
    assert carol.late.seconds == 1
    assert (carol.late.raw, carol.late.penalty, carol.late.final) == (AUTO_MAX + 3, AUTO_MAX + 3, 0)
    assert [float(term["exported"]["carol"][k]) for k in ("raw_score", "late_submission_penalty", "score")] == [98, 98, 0]
    page = (root / "feedback" / "carol" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert f"(Score: 0.0 / {AUTO_MAX + WRITTEN})" in page and f"Late submission penalty (Score: -{AUTO_MAX + 3}" in page
    assert "carol: say why" in page
    # her page goes back through Canvas: release_feedback releases the others and names her
    assert re.search(r"Not releasing feedback for 'carol' through the exchange", term["release_log"]), \
        term["release_log"][-2000:]
    assert "Releasing feedback for student 'alice'" in term["release_log"]
    # and her grade goes back into Canvas's gradebook: its import file, her Canvas ID, the final score
    header, points, *students = term["canvas_rows"]
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "week13 (4411)"]
    assert points[0].strip() == "Points Possible" and float(points[5]) == AUTO_MAX + WRITTEN
    assert students == [["Curie, Carol", "5003", "S-77", "carol", "DL 2026", "0"]]
    assert "not exported: alice, bob" in term["canvas_log"]


def test_a_moodle_download_is_collected_with_moodle_s_own_submission_time(term):
    """Issue 23: dan's Moodle file (a folder per participant), collected by the same zip_collect run
    as dan (the worksheet maps participant 1234502 to his id) with the time Moodle recorded, an hour
    before the due date: on time, graded, and his grade in the worksheet Moodle's upload reads, on
    Moodle's scale of 10."""
    root = term["root"]
    stamp = (root / "submitted" / "dan" / ASSIGNMENT / "timestamp.txt").read_text()
    due = datetime.strptime(term["due"], "%Y-%m-%d %H:%M:%S UTC")
    assert datetime.fromisoformat(stamp.strip()) == due.replace(second=0) - timedelta(hours=1)
    dan = term["final"]["dan"]
    assert dan.late.seconds == 0 and dan.total < AUTO_MAX and "ex1_hidden_statistics" in dan.failures
    (row,) = term["moodle_rows"]
    assert row["Identifier"] == "Participant 1234502" and row["Maximum Grade"] == "10.00"
    assert float(row["Grade"]) == round(dan.late.final / (AUTO_MAX + WRITTEN) * 10, 2)


def test_each_student_fetches_their_own_feedback_under_the_name_they_submitted(term):
    alice = term["alice"].feedback()
    assert list(alice) == [RENAMED.replace(".ipynb", ".html")], "alice submitted 'pytorch_fundamentals (1)'"
    page = alice[RENAMED.replace(".ipynb", ".html")]
    assert f"(Score: {float(AUTO_MAX + 4)} / {AUTO_MAX + WRITTEN})" in page
    assert "alice: the sum of both gradients" in page and "bob:" not in page
    bob = term["bob"].feedback()
    assert "bob: right, and the accumulation" in bob[NOTEBOOK.replace(".ipynb", ".html")]
    assert "alice:" not in bob[NOTEBOOK.replace(".ipynb", ".html")]


def test_feedback_holds_the_page_and_what_release_feedback_reads_nothing_else(term):
    root = term["root"]
    for student, page in (("alice", RENAMED.replace(".ipynb", ".html")), ("bob", NOTEBOOK.replace(".ipynb", ".html"))):
        folder = root / "feedback" / student / ASSIGNMENT
        assert sorted(p.name for p in folder.iterdir()) == sorted([page, "submission_secret.txt", "timestamp.txt"])
        submitted = root / "submitted" / student / ASSIGNMENT
        for name in ("submission_secret.txt", "timestamp.txt"):
            assert (folder / name).read_text() == (submitted / name).read_text()
