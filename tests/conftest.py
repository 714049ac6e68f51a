"""Shared fixtures: one real nbgrader grading run of every sample submission."""

import shutil
import sys

import pytest

from coursetools import REPO, grading

sys.path.insert(0, str(REPO))
import sample_submissions  # noqa: E402

_SUMMARY = []


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Every sample in sample_submissions.ALL, autograded by real nbgrader in a scratch course."""
    workdir = tmp_path_factory.mktemp("course") / "course"
    results, seconds = grading.grade_samples(sample_submissions.ALL, workdir)
    _SUMMARY.append(grading.expectation_table(sample_submissions.ALL, results))
    _SUMMARY.append(f"{len(results)} submissions autograded in {seconds:.1f} s")
    return workdir, results


def pytest_terminal_summary(terminalreporter):
    if _SUMMARY:
        terminalreporter.section("grader suite: sample submissions (expected vs got)")
        for block in _SUMMARY:
            terminalreporter.write_line(block)


@pytest.fixture
def scratch(tmp_path):
    """A copy of the files a generating command reads, for regenerating without touching the repo."""
    for name in ("nbgrader_config.py",):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("source", "autograder", "coursetools"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path
