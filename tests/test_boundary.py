"""The grader's boundary (docs/sandbox.md): nothing a submission brings or
leaves behind is imported, followed, trusted or served. The samples of
sample_submissions/boundary.py, one per mechanism, graded by real nbgrader in the sandbox beside the
reference, each time in its own course: all of them through `grade-class`, and those whose path
differs by entry point (files beside the notebook, markers, links, what the kernel leaves, the notes,
the grader's environment) through plain `nbgrader autograde --student` processes too (what the
formgrader's button runs); tests/test_distributed.py sends some to Dask workers. Each gets exactly the grade its notebook
earns; the whole course (submissions included) and a file outside it are unchanged afterwards."""

import hashlib
import html
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from limits import AUTO_MAX
from trees import REFERENCE_CACHE, changed, checksums, stale_references

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, classgrade, grading
from coursetools import notebooks as nbs
from courses import make_course
from coursetools.notes import read_notes
from coursetools.redact import REMOVED, hidden_lines
from coursetools.sandbox import probe
from sample_submissions import harness
from sample_submissions.boundary import PAYLOAD, SAMPLES, SOCKET_NAME, unix_listener
from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE

pytestmark = pytest.mark.skipif(probe("bwrap") is not None, reason=f"no sandbox here: {probe('bwrap')}")

BY_STUDENT = {s.student: s for s in [REFERENCE, *SAMPLES]}
# What plain nbgrader must handle in its own way (the hook before it, its own process's environment);
# the other mechanisms live in the preprocessors and the sandbox that both entry points configure
# from nbgrader_config.py, and are proven through grade-class.
PLAIN = ("reference", "boundary_fake_guard", "boundary_fake_checks", "boundary_marker_source",
         "boundary_marker_other", "boundary_notebook_link", "boundary_kernel_links", "boundary_rewrites_notes",
         "boundary_environment")
HTML_NAME = NOTEBOOK.replace(".ipynb", ".html")
NOTES_NAME = NOTEBOOK.replace(".ipynb", ".grading.json")
REFUSED = {"boundary_marker_source": "must name a notebook file in the same folder",
           "boundary_marker_other": "must name a notebook file in the same folder",
           "boundary_notebook_link": "is a symbolic link"}


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _graded_text(root, student):
    nb = nbs.read(root / "autograded" / student / ASSIGNMENT / NOTEBOOK)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def _grade(root, grade, students):
    """Grade with `grade()`, and the checksums of everything that must not change around it."""
    outside = root.parent / "outside.txt"
    outside.write_text("a file beside the course\n")
    own = {root / folder / s for s in students for folder in ("autograded", "feedback")}
    skip = own | {root / "build", root / REFERENCE_CACHE}  # the grader's reference values: recomputed below
    for folder in ("autograded", "feedback"):
        (root / folder).mkdir(exist_ok=True)
    listener = unix_listener(root / "build" / SOCKET_NAME)
    before, outside_before = checksums(root, skip), _sha(outside)
    try:
        out = grade()
        try:
            listener.accept()
            reached = True
        except BlockingIOError:
            reached = False
    finally:
        listener.close()
    after = {**checksums(root, skip), **stale_references(root)}
    return out, changed(before, after), outside_before == _sha(outside), reached


@dataclass
class Graded:
    """One grading of REFERENCE and every boundary sample, in a course of its own."""

    via: str
    root: Path
    url: str
    results: dict
    changed: list
    outside_same: bool
    reached: bool
    students: list = ()  # the students of this course
    statuses: dict | None = None  # grade-class's
    logs: Path | None = None  # plain nbgrader's, one per student

    def notes(self, student):
        if self.statuses is not None:
            return self.statuses[student].notes
        notes = read_notes(self.root / "autograded" / student / ASSIGNMENT / NOTES_NAME)
        return [*notes.get("notes", []), *notes.get("review", [])]

    def refused(self, student):
        """Why the student was not graded ("" when graded)."""
        if self.statuses is not None:
            return "" if self.statuses[student].graded else self.statuses[student].reason
        log = (self.logs / f"{student}.log").read_text()
        return "" if student in self.results else next(
            (line for line in log.splitlines() if f"{student}: not graded: " in line), log[-2000:])


def _class(tmp_path_factory, via):
    samples = [s for s in BY_STUDENT.values() if via == "grade-class" or s.student in PLAIN]
    root = make_course(tmp_path_factory.mktemp("boundary") / "course")
    harness.submit(root, samples)
    url = f"sqlite:///{root / 'gradebook.db'}"
    students = [s.student for s in samples]
    if via == "grade-class":
        (statuses, results, seconds), diff, same, reached = _grade(
            root, lambda: classgrade.grade_class(root, workers=2, quiet=True, db_url=url), students)
        from run_summary import SECTIONS as _SUMMARY

        _SUMMARY["grade-class: submissions that attack the grader's boundary"] = [
            classgrade.summary(statuses, results), f"{len(results)} graded; autograding took {seconds:.1f} s with 2 workers"]
        return Graded(via, root, url, results, diff, same, reached, statuses=statuses, students=students)
    seconds, diff, same, reached = _grade(
        root, lambda: grading.autograde(root, students, workers=2, check=False, db_url=url), students)
    graded = [s for s in students if (root / "autograded" / s / ASSIGNMENT / NOTEBOOK).is_file()]
    grading.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], root, db_url=url)
    return Graded(via, root, url, grading.read_results(root, graded, db_url=url), diff, same, reached,
                  logs=root / "build" / "autograde-logs", students=students)


@pytest.fixture(scope="module")
def boundary_class(tmp_path_factory):
    """REFERENCE and every boundary sample, graded by grade-class (2 workers) with the gradebook URL
    in the grader's environment."""
    return _class(tmp_path_factory, "grade-class")


@pytest.fixture(scope="module")
def plain_class(tmp_path_factory):
    """PLAIN, graded by plain `nbgrader autograde --student` processes (no grade-class checks before
    them), then `nbgrader generate_feedback`."""
    return _class(tmp_path_factory, "nbgrader autograde")


@pytest.fixture(params=["grade-class", "nbgrader autograde"])
def graded(request):
    return request.getfixturevalue("boundary_class" if request.param == "grade-class" else "plain_class")


def test_each_sample_gets_the_grade_its_notebook_earns(graded):
    results = graded.results
    assert (results["reference"].total, results["reference"].maximum) == (AUTO_MAX, AUTO_MAX)
    for student in graded.students:
        sample = BY_STUDENT[student]
        if sample.status == "not graded":
            assert student not in results, (graded.via, student)
            assert REFUSED[student] in graded.refused(student), (graded.via, student, graded.refused(student))
            continue
        assert harness.problems(sample, results[student]) == [], (graded.via, student, results[student].failures)
        assert read_notes(graded.root / "autograded" / student / ASSIGNMENT / NOTES_NAME)["mode"] == "sandboxed"


def test_grade_class_and_plain_nbgrader_give_the_same_scores(boundary_class, plain_class):
    assert sorted(plain_class.results) == sorted(s for s in boundary_class.results if s in PLAIN)
    for student, result in plain_class.results.items():
        assert boundary_class.results[student].parts == result.parts, student


def test_nothing_outside_each_students_own_result_changed(graded):
    """Submissions included: a refused marker copies nothing, a linked notebook is not read."""
    assert graded.changed == []
    assert graded.outside_same
    folder = graded.root / "submitted" / "boundary_marker_source" / ASSIGNMENT
    assert "SOLUTION" not in (folder / "Untitled.ipynb").read_text()
    assert not (folder / NOTEBOOK).exists()


def test_extra_files_are_never_copied_or_imported_and_are_noted(graded):
    for student, extras in (("boundary_fake_guard", "grading_guard.py, week13_checks (folder)"),
                            ("boundary_fake_checks", "gradebook.db (symbolic link), notes.txt (symbolic link), "
                                                     "week13_checks.py, zeros.csv (symbolic link)")):
        assert f"not graded, only the notebook is: {extras}" in graded.notes(student), graded.notes(student)
        files = sorted(p.name for p in (graded.root / "autograded" / student / ASSIGNMENT).iterdir())
        assert files == ["data", NOTES_NAME, NOTEBOOK], files
    assert graded.results["boundary_fake_guard"].total == 0


def classgrade_csv(root):
    import csv

    with open(root / f"grades_{ASSIGNMENT}.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_the_csv_carries_the_notes_and_review_flags(boundary_class):
    rows = {r["student"]: r for r in classgrade_csv(boundary_class.root)}
    assert "week13_checks.py" in rows["boundary_fake_checks"]["notes"]
    assert "review by hand" in rows["boundary_rewrites_notes"]["notes"]
    assert "gradebook.db (symbolic link)" in rows["boundary_kernel_links"]["notes"]


def test_what_the_kernel_left_is_never_followed_and_never_reaches_feedback(graded):
    root, student = graded.root, "boundary_kernel_links"
    assert "left" in _graded_text(root, student), "the payload did not run"
    review = next(n for n in graded.notes(student) if n.startswith("review by hand: the notebook left files"))
    for name in (NOTEBOOK, NOTES_NAME, HTML_NAME, "gradebook.db", "host_file.txt", "zeros.bin", "the_course"):
        assert f"{name} (symbolic link)" in review, review
    assert "pipe (named pipe)" in review and "left.sock (socket)" in review
    folder = root / "autograded" / student / ASSIGNMENT
    with zipfile.ZipFile(folder / "kernel-output.zip") as kept:
        assert sorted(kept.namelist()) == ["copy_of_grading_guard.py", "evil.html"]  # the guard: the one grading module the kernel has
    assert sorted(p.name for p in folder.iterdir()) == ["data", "kernel-output.zip", NOTES_NAME, NOTEBOOK]
    for path in folder.rglob("*"):
        assert not path.is_symlink() and (path.is_file() or path.is_dir()), path
    for student_folder in (root / "feedback").iterdir():  # feedback is the HTML page only, for everyone
        assert sorted(p.name for p in (student_folder / ASSIGNMENT).iterdir()) == [HTML_NAME], student_folder
    assert grading.read_results(root, ["reference"], db_url=graded.url)["reference"].total == AUTO_MAX


def test_the_grading_notes_are_the_graders_not_the_kernels(graded):
    notes = graded.notes("boundary_rewrites_notes")
    assert any(n.startswith("review by hand: the code touches") for n in notes), notes


def test_what_student_code_displays_never_reaches_a_test_cell(boundary_class):
    """train_epoch shows a value through the display hook while the twin of its visible test calls it
    (nbgrader once read a value shown in a test cell as its score): the test cell holds the grader's
    verdict alone, and the mistake costs Cell 4."""
    graded = boundary_class
    result = graded.results["boundary_display_hook"]
    nb = nbs.read(graded.root / "autograded" / "boundary_display_hook" / ASSIGNMENT / NOTEBOOK)
    cell = next(c for c in nb.cells if nbs.grade_id(c) == "cell4_tests_train_epoch")
    assert [o.output_type for o in cell.outputs] == ["error"], cell.outputs
    assert "every test passed" not in json.dumps(cell.outputs)
    assert "cell4_tests_train_epoch" in result.failures, result.failures
    assert result.parts["cell4"][0] < result.parts["cell4"][1]


def test_hidden_lines_never_reach_feedback_joined_or_escaped(boundary_class):
    graded = boundary_class
    root = graded.root
    page = (root / "feedback" / "boundary_joined_hidden" / ASSIGNMENT / HTML_NAME).read_text()
    assert REMOVED in page
    reference = html.unescape((root / "feedback" / "reference" / ASSIGNMENT / HTML_NAME).read_text())
    text = html.unescape(page)
    hidden = hidden_lines(REPO / "autograder", root / "release")
    shown = sorted(line for line in hidden if line in text and line not in reference)
    assert shown == []
    assert "GradingInterference" not in _graded_text(root, "boundary_joined_hidden")


def test_the_kernel_gets_an_allow_listed_environment(graded):
    root, url = graded.root, graded.url
    text = _graded_text(root, "boundary_environment")
    assert "'PATH'" in text, "the payload did not print the environment"
    for secret in ("WEEK13_DB_URL", url, "gradebook.db", "NBGRADER_EXECUTION"):
        assert secret not in text
        assert secret not in (root / "feedback" / "boundary_environment" / ASSIGNMENT / HTML_NAME).read_text()


def test_no_host_unix_socket_is_reachable(boundary_class):
    graded = boundary_class
    assert graded.reached is False, "a kernel connected to the grader's Unix socket"
    text = _graded_text(graded.root, "boundary_unix_socket")
    assert text.count("no socket:") == 3 and "connected to" not in text


def test_output_floods_are_cut_to_the_byte_limits(boundary_class):
    graded = boundary_class
    notebook = graded.root / "autograded" / "boundary_output_flood" / ASSIGNMENT / NOTEBOOK
    page = graded.root / "feedback" / "boundary_output_flood" / ASSIGNMENT / HTML_NAME
    assert notebook.stat().st_size < 12 * 2**20 and page.stat().st_size < 12 * 2**20, (notebook.stat(), page.stat())
    assert any(n.startswith("output cut to the limits") for n in graded.notes("boundary_output_flood"))
    assert "[output cut" in notebook.read_text()


def test_student_html_is_sanitised_in_feedback(boundary_class):
    graded = boundary_class
    page = (graded.root / "feedback" / "boundary_html_injection" / ASSIGNMENT / HTML_NAME).read_text()
    assert "hover me" in page and "My notes" in page, "the student's content must still be shown"
    assert f"<script>{PAYLOAD}" not in page
    # an event handler in a real tag (the notebook's code is shown too, escaped: that is text, not markup)
    assert re.findall(r"<[a-z][^<>]*\son(?:error|mouseover)\s*=", page, re.I) == []


def test_the_formgrader_serves_student_html_sanitised(boundary_class, tmp_path):
    """The instructor's view of the submission, as the formgrader serves it over HTTP (a real Jupyter
    server over the graded course): the student's markup is shown, its script and handlers are not."""
    import secrets
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from nbgrader.api import Gradebook

    root = boundary_class.root
    with Gradebook(boundary_class.url) as gb:
        ids = {s: gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, s).id
               for s in ("boundary_html_injection", "boundary_kernel_links")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token, base = secrets.token_hex(16), f"http://127.0.0.1:{port}"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "IPYTHONDIR": str(tmp_path / "ipython")}
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                             f"--port={port}", f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    def get(path):
        """(status, content type, text) of a GET with the token (the instructor's login)."""
        try:
            with urllib.request.urlopen(f"{base}{path}?token={token}", timeout=30) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, "", ""

    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-3000:]
            try:
                status, _, page = get(f"/formgrader/submissions/{ids['boundary_html_injection']}/")
                break
            except OSError:
                time.sleep(0.5)
        kernel_files = f"/formgrader/submissions/{ids['boundary_kernel_links']}/"
        served_html = get(kernel_files + "evil.html")[0]
        served_zip = get(kernel_files + "kernel-output.zip")[:2]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    assert status == 200 and "hover me" in page and "My notes" in page, (status, page[:2000])
    assert f"<script>{PAYLOAD}" not in page
    assert re.findall(r"<[a-z][^<>]*\son(?:error|mouseover)\s*=", page, re.I) == []
    # what the kernel wrote is never served as a page: only as a download of its zip archive
    assert served_html == 404
    assert served_zip[0] == 200 and served_zip[1].startswith("application/zip"), served_zip
