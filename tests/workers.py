"""How `make test` shares the test files between its two pytest-xdist workers: each file is one unit
of work (so its module fixtures are made once, and a notebook's nbval cells run in order in one
kernel), the files that use the same class-grading session fixture are one unit (so that class is
graded once, not once in each worker), and the longest units start first.

tests/conftest.py hands xdist a scheduler that reads units from here (`group_of`; xdist's own
`--dist loadgroup` marks do not reach the node ids under pytest 9) and, at collection, checks that
SAME_WORKER still holds every file that uses one of SHARED_CLASSES. Imported by name (never
`from conftest import`).
"""

from collections.abc import Iterable, Sequence

# The session fixtures that grade a whole class (tests/conftest.py).
SHARED_CLASSES = ("graded_class", "robust_class")
# Files that run in the worker of another file: the users of robust_class run with test_browser.py.
SAME_WORKER = {"tests/test_class_grading.py": "tests/test_browser.py", "tests/test_trust.py": "tests/test_browser.py"}
# The units that take longest, started first so that the other worker fills the gaps (seconds on
# 2 cores, one worker: the grader suite ~250, the robust_class users ~300, Dask ~90, the boundary
# ~95, the sandbox ~70, make course in a clone ~60, PostgreSQL ~45).
LONGEST_FIRST = ("tests/test_grader_suite.py", "tests/test_browser.py", "tests/test_distributed.py",
                 "tests/test_boundary.py", "tests/test_sandbox.py", "tests/test_generated.py", "tests/test_postgres.py")


def file_of(nodeid: str) -> str:
    """The test's file, as its node id names it (relative to the repository root)."""
    return nodeid.split("::", 1)[0]


def group_of(path: str) -> str:
    """The unit of work `path` (a test file) belongs to."""
    return SAME_WORKER.get(path, path)


def split_classes(items: Iterable) -> list[str]:
    """Why the collected `items` would grade a shared class in both workers: one line per
    SHARED_CLASSES fixture whose users are in more than one unit ([] when none is)."""
    users = {}
    for item in items:
        for fixture in SHARED_CLASSES:
            if fixture in getattr(item, "fixturenames", ()):
                users.setdefault(fixture, set()).add(file_of(item.nodeid))
    return [f"{fixture} is used by {', '.join(sorted(paths))}: list them together in tests/workers.py SAME_WORKER"
            for fixture, paths in sorted(users.items()) if len({group_of(p) for p in paths}) > 1]


def _rank(path: str) -> int:
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def worker_order(files: Sequence[str]) -> list[str]:
    """`files` with each unit's files together, the units by LONGEST_FIRST (a unit ranks as its
    highest-ranked file) and otherwise in the given order."""
    first_seen = {}
    for path in files:
        first_seen.setdefault(group_of(path), len(first_seen))
    rank = {g: min(_rank(p) for p in files if group_of(p) == g) for g in first_seen}
    return sorted(files, key=lambda p: (rank[group_of(p)], first_seen[group_of(p)]))
