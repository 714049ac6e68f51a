"""The grader's boundary (README, "Running student code safely"): nothing a submission brings or
leaves behind is imported, followed, trusted or served. The samples of
sample_submissions/boundary.py, one per mechanism, graded by real nbgrader in the sandbox through
`grade-class` beside the reference, and the file-level ones again by plain `nbgrader autograde`
(tests/test_distributed.py grades them on a Dask worker). Each gets exactly the grade its notebook
earns; the whole course (submissions included) and a file outside it are unchanged afterwards."""

import hashlib
import html
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from limits import AUTO_MAX
from trees import changed, checksums

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, classgrade, grading
from coursetools import notebooks as nbs
from coursetools.course import make_course
from coursetools.redact import REMOVED, hidden_lines
from coursetools.sandbox import probe
from sample_submissions import harness
from sample_submissions.boundary import FILE_LEVEL, PAYLOAD, SAMPLES, SOCKET_NAME, unix_listener
from sample_submissions.catalogue import REFERENCE

pytestmark = pytest.mark.skipif(probe("bwrap") is not None, reason=f"no sandbox here: {probe('bwrap')}")

BY_STUDENT = {s.student: s for s in [REFERENCE, *SAMPLES]}
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
    skip = own | {root / "build"}
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
    after = checksums(root, skip)
    return out, changed(before, after), outside_before == _sha(outside), reached


@pytest.fixture(scope="module")
def boundary_class(tmp_path_factory):
    """REFERENCE and every boundary sample, graded by grade-class (2 workers) with the gradebook URL
    in the grader's environment."""
    samples = [REFERENCE, *SAMPLES]
    root = make_course(tmp_path_factory.mktemp("boundary") / "course")
    harness.submit(root, samples)
    url = f"sqlite:///{root / 'gradebook.db'}"
    (statuses, results, seconds), diff, outside_same, reached = _grade(
        root, lambda: classgrade.grade_class(root, workers=2, quiet=True, db_url=url), [s.student for s in samples])
    table = classgrade.summary(statuses, results)
    from run_summary import SECTIONS as _SUMMARY

    _SUMMARY["grade-class: submissions that attack the grader's boundary"] = [
        table, f"{len(results)} graded; autograding took {seconds:.1f} s with 2 workers"]
    return dict(root=root, url=url, statuses=statuses, results=results, changed=diff, outside_same=outside_same,
                reached=reached)


def test_each_sample_gets_the_grade_its_notebook_earns(boundary_class):
    statuses, results = boundary_class["statuses"], boundary_class["results"]
    assert (results["reference"].total, results["reference"].maximum) == (AUTO_MAX, AUTO_MAX)
    for student, sample in BY_STUDENT.items():
        status = statuses[student]
        if sample.status == "not graded":
            assert not status.graded and student not in results, (student, status)
            assert REFUSED[student] in status.reason, (student, status.reason)
            continue
        assert status.graded and status.mode == "sandboxed", (student, status.reason, status.mode)
        assert harness.problems(sample, results[student]) == [], (student, results[student].failures)


def test_nothing_outside_each_students_own_result_changed(boundary_class):
    """Submissions included: a refused marker copies nothing, a linked notebook is not read."""
    assert boundary_class["changed"] == []
    assert boundary_class["outside_same"]
    root = boundary_class["root"]
    assert "SOLUTION" not in (root / "submitted" / "boundary_marker_source" / ASSIGNMENT / "Untitled.ipynb").read_text()
    assert not (root / "submitted" / "boundary_marker_source" / ASSIGNMENT / NOTEBOOK).exists()


def test_extra_files_are_never_copied_or_imported_and_are_noted(boundary_class):
    root, statuses = boundary_class["root"], boundary_class["statuses"]
    for student, extras in (("boundary_fake_guard", "grading_guard.py, week13_checks (folder)"),
                            ("boundary_fake_checks", "gradebook.db (symbolic link), notes.txt (symbolic link), "
                                                     "week13_checks.py, zeros.csv (symbolic link)")):
        assert f"not graded, only the notebook is: {extras}" in statuses[student].notes, statuses[student].notes
        graded = sorted(p.name for p in (root / "autograded" / student / ASSIGNMENT).iterdir())
        assert graded == ["data", NOTES_NAME, NOTEBOOK], graded
    assert boundary_class["results"]["boundary_fake_guard"].total == 0
    rows = {r["student"]: r for r in classgrade_csv(root)}
    assert "week13_checks.py" in rows["boundary_fake_checks"]["notes"]


def classgrade_csv(root):
    import csv

    with open(root / f"grades_{ASSIGNMENT}.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_what_the_kernel_left_is_never_followed_and_never_reaches_feedback(boundary_class):
    root, statuses = boundary_class["root"], boundary_class["statuses"]
    student = "boundary_kernel_links"
    assert "left" in _graded_text(root, student), "the payload did not run"
    review = next(n for n in statuses[student].notes if n.startswith("review by hand: the notebook left files"))
    for name in (NOTEBOOK, NOTES_NAME, HTML_NAME, "gradebook.db", "host_file.txt", "zeros.bin", "the_course"):
        assert f"{name} (symbolic link)" in review, review
    assert "pipe (named pipe)" in review and "left.sock (socket)" in review
    folder = root / "autograded" / student / ASSIGNMENT
    with zipfile.ZipFile(folder / "kernel-output.zip") as kept:
        assert sorted(kept.namelist()) == ["copy_of___init__.py", "copy_of_grading_guard.py", "evil.html"]
    assert sorted(p.name for p in folder.iterdir()) == ["data", "kernel-output.zip", NOTES_NAME, NOTEBOOK]
    for path in folder.rglob("*"):
        assert not path.is_symlink() and (path.is_file() or path.is_dir()), path
    for student_folder in (root / "feedback").iterdir():  # feedback is the HTML page only, for everyone
        assert sorted(p.name for p in (student_folder / ASSIGNMENT).iterdir()) == [HTML_NAME], student_folder
    assert grading.read_results(root, ["reference"], db_url=boundary_class["url"])["reference"].total == AUTO_MAX


def test_the_grading_notes_are_the_graders_not_the_kernels(boundary_class):
    notes = boundary_class["statuses"]["boundary_rewrites_notes"].notes
    assert any(n.startswith("review by hand: the code touches") for n in notes), notes
    rows = {r["student"]: r for r in classgrade_csv(boundary_class["root"])}
    assert "review by hand" in rows["boundary_rewrites_notes"]["notes"]


def test_a_test_cell_with_an_error_scores_zero_whatever_it_displayed(boundary_class):
    result = boundary_class["results"]["boundary_display_hook"]
    assert "every test passed" in _graded_text(boundary_class["root"], "boundary_display_hook")
    assert {"ex1_tests_wine", "ex1_hidden_statistics"} <= set(result.failures), result.failures
    assert result.parts["ex1"][0] < result.parts["ex1"][1]


def test_hidden_lines_never_reach_feedback_joined_or_escaped(boundary_class):
    root = boundary_class["root"]
    page = (root / "feedback" / "boundary_joined_hidden" / ASSIGNMENT / HTML_NAME).read_text()
    assert REMOVED in page
    reference = html.unescape((root / "feedback" / "reference" / ASSIGNMENT / HTML_NAME).read_text())
    text = html.unescape(page)
    hidden = hidden_lines(REPO / "autograder", root / "release")
    shown = sorted(line for line in hidden if line in text and line not in reference)
    assert shown == []
    assert "GradingInterference" not in _graded_text(root, "boundary_joined_hidden")


def test_the_kernel_gets_an_allow_listed_environment(boundary_class):
    root, url = boundary_class["root"], boundary_class["url"]
    text = _graded_text(root, "boundary_environment")
    assert "'PATH'" in text, "the payload did not print the environment"
    for secret in ("WEEK13_DB_URL", url, "gradebook.db", "NBGRADER_EXECUTION"):
        assert secret not in text
        assert secret not in (root / "feedback" / "boundary_environment" / ASSIGNMENT / HTML_NAME).read_text()


def test_no_host_unix_socket_is_reachable(boundary_class):
    assert boundary_class["reached"] is False, "a kernel connected to the grader's Unix socket"
    text = _graded_text(boundary_class["root"], "boundary_unix_socket")
    assert text.count("no socket:") == 3 and "connected to" not in text


def test_output_floods_are_cut_to_the_byte_limits(boundary_class):
    root, statuses = boundary_class["root"], boundary_class["statuses"]
    graded = root / "autograded" / "boundary_output_flood" / ASSIGNMENT / NOTEBOOK
    page = root / "feedback" / "boundary_output_flood" / ASSIGNMENT / HTML_NAME
    assert graded.stat().st_size < 12 * 2**20 and page.stat().st_size < 12 * 2**20, (graded.stat(), page.stat())
    assert any(n.startswith("output cut to the limits") for n in statuses["boundary_output_flood"].notes)
    assert "[output cut" in graded.read_text()


def test_student_html_is_sanitised_in_feedback(boundary_class):
    page = (boundary_class["root"] / "feedback" / "boundary_html_injection" / ASSIGNMENT / HTML_NAME).read_text()
    assert "hover me" in page and "My notes" in page, "the student's content must still be shown"
    assert f"<script>{PAYLOAD}" not in page
    # an event handler in a real tag (the notebook's code is shown too, escaped: that is text, not markup)
    assert re.findall(r"<[a-z][^<>]*\son(?:error|mouseover)\s*=", page, re.I) == []


# --- the same submissions through plain `nbgrader autograde` (no grade-class checks before it) ----------

@pytest.fixture(scope="module")
def plain_class(tmp_path_factory, boundary_class):
    samples = [BY_STUDENT[s] for s in FILE_LEVEL]
    root = make_course(tmp_path_factory.mktemp("boundary_plain") / "course")
    harness.submit(root, [REFERENCE, *samples])
    students = [s.student for s in samples]
    _, diff, outside_same, _ = _grade(
        root, lambda: grading.autograde(root, students, workers=2, check=False), students)
    graded = [s for s in students if (root / "autograded" / s / ASSIGNMENT / NOTEBOOK).is_file()]
    return dict(root=root, results=grading.read_results(root, graded), changed=diff, outside_same=outside_same,
                logs=root / "build" / "autograde-logs")


def test_plain_nbgrader_autograde_grades_the_file_level_samples_alike(plain_class, boundary_class):
    assert plain_class["changed"] == [] and plain_class["outside_same"]
    for student in FILE_LEVEL:
        if student in REFUSED:
            assert student not in plain_class["results"], student
            log = (plain_class["logs"] / f"{student}.log").read_text()
            assert f"{student}: not graded: " in log and REFUSED[student] in log, log[-2000:]
            continue
        got, via_class = plain_class["results"][student], boundary_class["results"][student]
        assert got.parts == via_class.parts, (student, got.failures, via_class.failures)
    root = plain_class["root"]
    assert sorted(os.listdir(root / "autograded" / "boundary_fake_guard" / ASSIGNMENT)) == ["data", NOTES_NAME,
                                                                                              NOTEBOOK]


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

    root = boundary_class["root"]
    with Gradebook(boundary_class["url"]) as gb:
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
