"""Shared fixtures: one real nbgrader grading run of every sample submission, and one of the
instructor's class-grading command over the submissions that attack the grading process."""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

import sample_submissions
from coursetools import classgrade
from courses import make_course
from coursetools.grading import Result
from environ import NbvalKernelsUntraced, untraced
from limits import CLASS_CELL_TIMEOUT_S
from run_summary import SECTIONS as _SUMMARY  # printed at the end of the run
from sample_submissions import harness
import workers


@dataclass(frozen=True)
class GradedSamples:
    """`graded_class`: every sample graded by plain nbgrader in one scratch course."""

    course: Path
    results: dict[str, Result]
    seconds: float


@dataclass(frozen=True)
class GradedClass:
    """`robust_class`: the class grader's run over the robustness samples."""

    course: Path
    samples: dict[str, harness.Sample]  # by student
    statuses: dict[str, classgrade.Status]
    results: dict[str, Result]
    seconds: float


@pytest.fixture(scope="session", autouse=True)
def _course_template(tmp_path_factory):
    """Scratch courses are copies of one generated in this session's folder (tests/courses.py)."""
    import courses

    courses.BASE = tmp_path_factory.getbasetemp()


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Every sample in sample_submissions.ALL, in the notebooks catalogue.packed() puts them in,
    graded by `week13 grade-class` (classgrade.grade_class: one `nbgrader autograde --student`
    process per core, then feedback for every notebook) in a scratch course."""
    from sample_submissions.catalogue import packed

    workdir = make_course(tmp_path_factory.mktemp("course") / "course")
    harness.submit(workdir, packed())
    with untraced():  # the class suites measure the grading code; these 50-odd notebooks repeat it
        statuses, results, seconds = classgrade.grade_class(workdir, workers=2, quiet=True)
    assert all(s.graded and not s.feedback_failed for s in statuses.values()), classgrade.summary(statuses, results)
    _SUMMARY["grader suite: sample submissions (expected vs got)"] = [
        harness.expectation_table(packed(), results),
        f"{len(sample_submissions.ALL)} samples in {len(results)} notebooks autograded in {seconds:.1f} s"]
    return GradedSamples(workdir, results, seconds)


@pytest.fixture(scope="session")
def robust_class(tmp_path_factory):
    """The reference and every submission of sample_submissions.robustness, graded by
    `week13 grade-class` (classgrade.grade_class) in a scratch course."""
    from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE
    from sample_submissions.robustness import SAMPLES

    samples = [REFERENCE, *SAMPLES]
    root = make_course(tmp_path_factory.mktemp("class") / "course")
    harness.submit(root, samples)
    statuses, results, seconds = classgrade.grade_class(root, workers=2, quiet=True, cell_timeout=CLASS_CELL_TIMEOUT_S)
    _SUMMARY["grade-class: submissions that attack the grader"] = [
        classgrade.summary(statuses, results),
        f"{len(results)} graded, {sum(not s.graded for s in statuses.values())} not graded; "
        f"autograding took {seconds:.1f} s with 2 workers"]
    return GradedClass(root, {s.student: s for s in samples}, statuses, results, seconds)


def pytest_configure(config):
    config.pluginmanager.register(NbvalKernelsUntraced(), "week13-nbval-kernels-untraced")


def pytest_addoption(parser):
    parser.addoption("--reverse", action="store_true",
                     help="run the tests in reverse order (every suite must pass in any order)")


def pytest_collection_modifyitems(config, items):
    """The files in the order tests/workers.py gives (each worker's units together, the longest
    first); --reverse: that order reversed, and the tests of each file reversed too, but a notebook's
    cells (nbval items) in their own order: a notebook runs top to bottom in one kernel. A shared
    class whose users would land in two workers stops the run (workers.split_classes)."""
    problems = workers.split_classes(items)
    if problems:
        raise pytest.UsageError("; ".join(problems))
    files = {}
    for item in items:
        files.setdefault(workers.file_of(item.nodeid), []).append(item)
    order = workers.worker_order(list(files))
    if config.getoption("--reverse"):
        order.reverse()
        files = {path: (tests if path.endswith(".ipynb") else tests[::-1]) for path, tests in files.items()}
    items[:] = [item for path in order for item in files[path]]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist (make test: -n 2): whole units of tests/workers.py to each worker, in the order
    collected (with --no-loadscope-reorder), the next unit to whichever worker is free."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return workers.group_of(workers.file_of(nodeid))

    return ByUnit(config, log)


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


def pytest_sessionfinish(session):
    """In a pytest-xdist worker: hand the run summary's sections to the controller, which prints them."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["week13_summary"] = dict(_SUMMARY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """In the controller: a worker's sections join the summary printed at the end."""
    _SUMMARY.update(getattr(node, "workeroutput", {}).get("week13_summary", {}))


def pytest_terminal_summary(terminalreporter):
    for title, blocks in _SUMMARY.items():
        terminalreporter.section(title)
        for block in blocks:
            terminalreporter.write_line(block)
