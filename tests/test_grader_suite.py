"""The grader, proven with real `nbgrader autograde` runs of crafted submissions.

Every sample in sample_submissions.ALL is graded once (the `graded_class`
fixture); the table of expected vs got is printed at the end of the run.
"""

import html
import json
import re
from pathlib import Path

import pytest
from limits import AUTO_MAX
from hidden_lines import hidden_lines as _hidden_lines

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, grading
from sample_submissions import harness
from coursetools import notebooks as nbs

import sample_submissions

SAMPLES = {s.student: s for s in sample_submissions.ALL}


@pytest.mark.parametrize("student", list(SAMPLES))
def test_sample_gets_the_expected_grade(graded_class, student):
    results = graded_class.results
    assert harness.problems(SAMPLES[student], results[student]) == []


def test_reference_gets_every_autograded_point(graded_class):
    results = graded_class.results
    ref = results["reference"]
    assert ref.maximum == AUTO_MAX  # the release's points, but the written answer's (graded by hand)
    assert ref.total == AUTO_MAX, ref.failures


def test_untouched_release_gets_zero(graded_class):
    results = graded_class.results
    assert results["untouched_release"].total == 0


def test_every_mistake_explains_itself_in_one_line(graded_class):
    """A failing check shows a one-line reason, not a traceback through autograder/."""
    workdir = graded_class.course
    results = graded_class.results
    for student, result in results.items():
        for gid, message in result.failures.items():
            assert "\n" not in message and len(message) < 450, (student, gid, message)
        nb = nbs.read(workdir / "autograded" / student / ASSIGNMENT / NOTEBOOK)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.output_type == "error" and output.ename == "CheckFailed":
                    assert len(output.traceback) == 1, (student, output.traceback)
                    assert "autograder" not in output.traceback[0] and "week13_checks" not in output.traceback[0]


def test_regrading_gives_the_same_grades(graded_class):
    workdir = graded_class.course
    results = graded_class.results
    again = ["reference", "ex1_sample_std"]
    grading.autograde(workdir, again, workers=1)
    regraded = grading.read_results(workdir, again)
    for student in again:
        assert regraded[student].parts == results[student].parts
        assert regraded[student].failures == results[student].failures


def test_feedback_and_release_never_show_hidden_tests(graded_class):
    workdir = graded_class.course
    grading.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], workdir)
    feedback = sorted((workdir / "feedback").rglob("*.html"))
    assert len(feedback) == len(SAMPLES)
    release_texts = [p.read_text() for p in (REPO / "release").rglob("*") if p.is_file()]
    hidden = _hidden_lines()
    assert len(hidden) > 100
    for path in feedback:
        student = path.relative_to(workdir / "feedback").parts[0]
        # The student's own code may coincide with a reference line; that is not a leak.
        own = (workdir / "submitted" / student / ASSIGNMENT / NOTEBOOK).read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
        for marker in ("week13_checks", "BEGIN HIDDEN TESTS", "autograder/"):
            assert marker not in text, (path, marker)
        leaked = [line for line in hidden if line in text and json.dumps(line)[1:-1] not in own]
        assert leaked == [], (path, leaked[:3])
    for text in release_texts:
        assert "week13_checks" not in text and "BEGIN HIDDEN TESTS" not in text
        assert [line for line in hidden if line in text] == []


def _error_outputs(page: str) -> str:
    """The text of a feedback page's error outputs only (not the notebook's code, which the release
    shows everyone)."""
    from html.parser import HTMLParser

    class Errors(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth, self.text = 0, []

        def handle_starttag(self, tag, attrs):
            if self.depth:
                self.depth += tag == "div"
            elif tag == "div" and "output_error" in (dict(attrs).get("class") or ""):
                self.depth = 1

        def handle_endtag(self, tag):
            if self.depth and tag == "div":
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.text.append(data)

    parser = Errors()
    parser.feed(page)
    return "".join(parser.text)


def test_feedback_shows_the_reason_for_lost_points(graded_class):
    """The student's feedback shows each failing check's own message in that check's error output;
    the reference's feedback shows no error at all."""
    workdir = graded_class.course
    pages = {}
    for student in ("ex1_sample_std", "reference"):
        path = workdir / "feedback" / student / ASSIGNMENT / Path(NOTEBOOK).with_suffix(".html")
        if not path.exists():
            grading.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], workdir)
        pages[student] = _error_outputs(path.read_text())
    failures = graded_class.results["ex1_sample_std"].failures
    assert failures
    for gid, message in failures.items():
        assert message.split(": ", 1)[-1][:60] in pages["ex1_sample_std"], (gid, message)
    assert pages["reference"].strip() == ""


@pytest.mark.parametrize("student", [s.student for s in sample_submissions.ALL if s.answered and not s.loses])
def test_every_cell_of_a_correct_answer_runs(graded_class, student):
    """Restart & Run All works for every correct answer: no cell of the graded notebook, graded or
    not (demos, plots, the notebook's own runs), ends in an error."""
    workdir = graded_class.course
    nb = nbs.read(workdir / "autograded" / student / ASSIGNMENT / NOTEBOOK)
    errors = [(cell.get("id"), o.ename, o.evalue[:120]) for cell in nb.cells if cell.cell_type == "code"
              for o in cell.outputs if o.output_type == "error"]
    assert errors == [], errors
