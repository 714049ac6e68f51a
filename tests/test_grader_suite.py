"""The grader, proven with real `nbgrader autograde` runs of crafted submissions.

Every sample in sample_submissions.ALL is graded once by `grade-class` (the `graded_class`
fixture), in the notebooks catalogue.packed() puts it in: samples whose answers
reach disjoint parts share a notebook, mistakes run without the teaching cells,
correct answers with them. The table of expected vs got is printed at the end of
the run, one row per sample.
"""

import html
import json
import re
import subprocess
from pathlib import Path

import pytest
from environ import untraced_env
from limits import AUTO_MAX
from hidden_lines import hidden_lines as _hidden_lines

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, grading
from coursetools.grading import PARTS
from sample_submissions.catalogue import packed
from sample_submissions import harness
from sample_submissions import public as public_code
from courses import copy_of
from coursetools import notebooks as nbs

import sample_submissions

SAMPLES = {s.student: s for s in sample_submissions.ALL}
PACKED = {s.student: s for s in packed()}
GRADED_IN = {m.student: p for p in PACKED.values() for m in (p.components or (p,))}
FLAWED = GRADED_IN["ex1_sample_std"].student  # the notebook that holds the std mistake


@pytest.mark.parametrize("student", list(SAMPLES))
def test_sample_gets_the_expected_grade(graded_class, student):
    """Each sample, in the parts it owns (its notebook's other parts belong to other samples)."""
    pack, sample = GRADED_IN[student], SAMPLES[student]
    parts = sorted(sample.parts) if pack.components else PARTS
    assert harness.problems(sample, graded_class.results[pack.student], parts) == []


@pytest.mark.parametrize("notebook", [p for p in PACKED if PACKED[p].components])
def test_packed_notebook_keeps_every_part_no_sample_owns(graded_class, notebook):
    assert harness.problems(PACKED[notebook], graded_class.results[notebook]) == []


def test_reference_gets_every_autograded_point(graded_class):
    results = graded_class.results
    ref = results["reference"]
    assert ref.maximum == AUTO_MAX  # the release's points, but the written answer's (graded by hand)
    assert ref.total == AUTO_MAX, ref.failures


def test_the_class_computes_each_reference_value_once(graded_class):
    """53 grading processes, one per notebook: the reference runs of Exercises 2 and 4 were kept in
    the course's .reference_cache (the sandbox never shows it) for every process after the first."""
    files = sorted((graded_class.course / ".reference_cache").glob("*/*.json"))
    assert len({f.parent for f in files}) == 1, files  # one machine, one key
    calls = sorted(json.loads(f.read_text())["key"] for f in files)
    assert any("ex2" in c and "reference" in c for c in calls) and any("_metrics_reference" in c for c in calls), calls


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
    again = [FLAWED]  # failures and all: each message the same
    grading.autograde(workdir, again, workers=1)
    regraded = grading.read_results(workdir, again)
    for student in again:
        assert regraded[student].parts == results[student].parts
        assert regraded[student].failures == results[student].failures


def test_feedback_and_release_never_show_hidden_tests(graded_class):
    workdir = graded_class.course
    # every sample's page, as grade-class generated it (nbgrader generate_feedback, half the class
    # in each of two processes)
    feedback = sorted((workdir / "feedback").rglob("*.html"))
    assert len(feedback) == len(PACKED)
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
    for student in (FLAWED, "reference"):
        path = workdir / "feedback" / student / ASSIGNMENT / Path(NOTEBOOK).with_suffix(".html")
        if not path.exists():  # not made yet by test_feedback_and_release_never_show_hidden_tests
            grading.nbgrader(["generate_feedback", ASSIGNMENT, "--force", "--student", student], workdir)
        pages[student] = _error_outputs(path.read_text())
    failures = graded_class.results[FLAWED].failures
    assert "ex1_hidden_statistics" in failures
    for gid, message in failures.items():
        assert message.split(": ", 1)[-1][:60] in pages[FLAWED], (gid, message)
    assert pages["reference"].strip() == ""


@pytest.mark.parametrize("student", [s for s, p in PACKED.items() if p.answered and not p.loses])
def test_every_cell_of_a_correct_answer_runs(graded_class, student):
    """Restart & Run All works for every correct answer: no cell of the graded notebook, graded or
    not (demos, plots, the notebook's own runs), ends in an error. Correct answers are graded with
    every teaching cell that runs them (the reference with all of them)."""
    assert PACKED[student].teaching in (True, "used")
    workdir = graded_class.course
    nb = nbs.read(workdir / "autograded" / student / ASSIGNMENT / NOTEBOOK)
    errors = [(cell.get("id"), o.ename, o.evalue[:120]) for cell in nb.cells if cell.cell_type == "code"
              for o in cell.outputs if o.output_type == "error"]
    assert errors == [], errors


def test_plain_nbgrader_autograde_grades_public_code_as_grade_class_does(graded_class, tmp_path):
    """Issue 19: the answers adapted from public code, graded by grade-class above, and again by
    plain whole-class `nbgrader autograde week13` (one process, the command an instructor types and
    the formgrader runs) in a copy of the course: the notebooks that hold the most of them, one of
    correct answers and one of mistakes, get the same points in every part and the same messages."""
    names = {s.student for s in [*public_code.CORRECT, *public_code.MISTAKES]}

    def public(packed):
        return sum(m.student in names for m in (packed.components or (packed,)))

    correct = max((p for p in PACKED.values() if p.answered and not p.loses), key=public)
    mistakes = max((p for p in PACKED.values() if p.loses), key=public)
    chosen = [correct.student, mistakes.student]
    assert public(correct) >= 3 and public(mistakes) >= 1, (public(correct), public(mistakes))
    course = copy_of(graded_class.course, tmp_path / "course")
    others = sorted(set(PACKED) - set(chosen))
    proc = subprocess.run([*grading.NBGRADER, "autograde", ASSIGNMENT, "--force",
                           "--CourseDirectory.student_id_exclude=" + ",".join(others)],
                          cwd=course, env=untraced_env(grading.nbgrader_env()), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    plain = grading.read_results(course, chosen)
    for student in chosen:
        assert plain[student].parts == graded_class.results[student].parts, student
        assert plain[student].failures == graded_class.results[student].failures, student
    assert not harness.problems(mistakes, plain[mistakes.student]) and not harness.problems(correct, plain[correct.student])


def test_the_class_report_counts_what_each_check_cost(graded_class, tmp_path):
    """Issue 23: `week13 class-report` on the graded class (its output elsewhere: the class stays as
    graded). Each check it lists cost exactly the notebooks whose samples name it among their
    failures (counted from the catalogue, not from the grades), the most costly first, and every
    part has its histogram."""
    out = tmp_path / "report"
    proc = subprocess.run([str(Path(grading.NBGRADER[0]).parent / "week13"), "class-report", "--root",
                           str(graded_class.course), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    graded_cells = {nbs.grade_id(c) for c in nbs.read(REPO / "release" / ASSIGNMENT / NOTEBOOK).cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    expected = {}
    for sample in PACKED.values():  # the untouched release fails every test cell (nbgrader validate --invert)
        for gid in set(sample.fails) if sample.answered else graded_cells:
            expected[gid] = expected.get(gid, 0) + 1
    page = (out / "index.html").read_text()
    got = {}
    for result in graded_class.results.values():  # as grade-class read them right after grading
        for gid in result.failures:
            got[gid] = got.get(gid, 0) + 1
    checks = page.split("<h2>Points per part</h2>")[0]  # the first table: the checks the class missed
    shown = [(html.unescape(g), int(n)) for g, n in re.findall(r"<tr><td>([a-z0-9_]+)</td><td>(\d+)</td>", checks)]
    assert shown and shown[0][1] == max(got.values()), shown[:3]
    assert all(got[g] == n >= expected.get(g, 0) for g, n in shown), [(g, n, got.get(g), expected.get(g)) for g, n in shown]
    assert [n for _, n in shown] == sorted((n for _, n in shown), reverse=True)
    assert f"class report: {len(graded_class.results)} graded" in proc.stdout
    for part in PARTS:
        assert (out / f"{part}.png").stat().st_size > 1000
