"""Shared fixtures: one real nbgrader grading run of every sample submission, and one of the
instructor's class-grading command over the submissions that attack the grading process."""

import os
import shutil
import sys

import pytest

from coursetools import REPO, grading
from coursetools.gradebook import DB_URL_VARIABLE

# Tests never touch an instructor's gradebook: every scratch course keeps its own gradebook.db,
# whatever $WEEK13_DB_URL this shell exports (tests/test_class_grading.py proves it).
os.environ.pop(DB_URL_VARIABLE, None)

sys.path.insert(0, str(REPO))
import sample_submissions  # noqa: E402

from run_summary import SECTIONS as _SUMMARY  # noqa: E402  (printed at the end of the run)

# Test-run limits for the class grader: short enough that a loop which ignores interrupts
# costs seconds, long enough for any cell of a correct notebook on a busy 2-core machine.
CLASS_CELL_TIMEOUT_S = 15


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Every sample in sample_submissions.ALL, autograded by real nbgrader in a scratch course."""
    workdir = tmp_path_factory.mktemp("course") / "course"
    results, seconds = grading.grade_samples(sample_submissions.ALL, workdir)
    _SUMMARY["grader suite: sample submissions (expected vs got)"] = [
        grading.expectation_table(sample_submissions.ALL, results),
        f"{len(results)} submissions autograded in {seconds:.1f} s"]
    return workdir, results


@pytest.fixture(scope="session")
def robust_class(tmp_path_factory):
    """The reference and every submission of sample_submissions.robustness, graded by
    `python -m coursetools grade-class` (classgrade.grade_class) in a scratch course."""
    from coursetools import classgrade
    from sample_submissions.catalogue import REFERENCE
    from sample_submissions.robustness import SAMPLES

    samples = [REFERENCE, *SAMPLES]
    root = grading.make_course(tmp_path_factory.mktemp("class") / "course")
    grading.submit(root, samples)
    statuses, results, seconds = classgrade.grade_class(root, workers=2, quiet=True, cell_timeout=CLASS_CELL_TIMEOUT_S)
    _SUMMARY["grade-class: submissions that attack the grader"] = [
        classgrade.summary(statuses, results),
        f"{len(results)} graded, {sum(not s.graded for s in statuses.values())} not graded; "
        f"autograding took {seconds:.1f} s with 2 workers"]
    return root, {s.student: s for s in samples}, statuses, results


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (CI=true) a skipped test fails with its reason: CI never goes green by skipping
    (a missing Chromium, PostgreSQL or bubblewrap is a broken CI machine, not a pass)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI must not skip a test: {reason}"


def pytest_terminal_summary(terminalreporter):
    for title, blocks in _SUMMARY.items():
        terminalreporter.section(title)
        for block in blocks:
            terminalreporter.write_line(block)


@pytest.fixture
def scratch(tmp_path):
    """A copy of the files a generating command reads, for regenerating without touching the repo."""
    for name in ("nbgrader_config.py",):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("source", "autograder", "coursetools"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path
