"""The environment of processes the suites start (imported by name: never `from conftest import`).

coverage's subprocess patch (pyproject.toml, [tool.coverage.run]) measures every Python process
started while its variable is set. A kernel must not be: tracing torch's import and the notebook
makes it several times slower and measures no course code (grading kernels in the sandbox get an
allow-listed environment anyway). The grader suite's bulk run is not either (`untraced`): the class
suites measure the same grading code."""

import contextlib
import os

import pytest

COVERAGE_VARIABLE = "COVERAGE_PROCESS_CONFIG"


def untraced_env(env=None) -> dict:
    """`env` (default: this process's) without coverage's variables, for processes that start kernels."""
    return {k: v for k, v in (os.environ if env is None else env).items() if not k.startswith("COVERAGE_")}


@contextlib.contextmanager
def untraced():
    """No process started inside the block is measured by coverage: for the bulk grading runs that
    repeat code paths other suites measure (a traced nbgrader process grades 10-15 % slower)."""
    saved = os.environ.pop(COVERAGE_VARIABLE, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[COVERAGE_VARIABLE] = saved


class NbvalKernelsUntraced:
    """A pytest plugin (tests/conftest.py registers it). nbval starts its kernel in the setup of a
    notebook's first cell, from this process's environment and nothing else: the one place the
    suites edit os.environ (tests/unit/test_layout.py allows this file only). Without coverage's
    variable for that setup, and without nbval's own coverage start-up code in the kernel (which it
    runs whenever pytest-cov has a source: the kernel times out under coverage 7)."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        if not type(item).__module__.startswith("nbval"):
            yield
            return
        saved, source = os.environ.pop(COVERAGE_VARIABLE, None), getattr(item.config.option, "cov_source", None)
        item.config.option.cov_source = None
        try:
            yield
        finally:
            item.config.option.cov_source = source
            if saved is not None:
                os.environ[COVERAGE_VARIABLE] = saved
