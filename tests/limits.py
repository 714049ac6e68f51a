"""Limits the end-to-end suites share (imported by name: never `from conftest import`, which finds
whichever conftest.py was imported first)."""

from coursetools.grading import autograded_maximum

# The per-cell limit (seconds) of the class-grading suites: short enough that a loop which ignores
# interrupts costs seconds, long enough for any cell of a correct notebook on a busy 2-core machine.
CLASS_CELL_TIMEOUT_S = 15

# The autograded points of a fully correct submission, read from the release's nbgrader metadata
# (never restated: a change of points in the source notebook changes it).
AUTO_MAX = autograded_maximum()
