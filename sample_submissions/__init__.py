"""Sample submissions, graded by real nbgrader.

Each sample is the reference solution with a few edits (text replacements
in named solution cells, or a whole new cell), so the samples follow the
source notebook instead of drifting from it. `DEMO` is what `make course`
grades; `ALL` is what the grader test suite grades.
"""

from .catalogue import ALL, DEMO

__all__ = ["ALL", "DEMO"]
