"""Scratch courses for the suites (imported by name: never `from conftest import`).

`coursetools.course.make_course` runs `nbgrader generate_assignment` (about 6 s on 2 cores); the
suites make a dozen courses, so each is a copy of one generated once per session (the same files
and gradebook.db generate_assignment writes: the course root is read from its nbgrader_config.py's
own path). A course whose gradebook is elsewhere (PostgreSQL) is generated into it every time, and
so is the course of the test that proves make_course itself never touches an instructor's gradebook.

The copies share one reference cache (their `.reference_cache` is a link to the session's
`reference-cache` folder): the grader's reference runs cost about 7 s in the first grading process
of a course, and they are the same values in every course of this machine (the cache's own key says
so). The first course graded in each pytest worker still computes them from an empty cache.
"""

import shutil
from pathlib import Path

from coursetools import course
from trees import REFERENCE_CACHE

BASE: Path | None = None  # set by tests/conftest.py to the session's temporary folder
_template: Path | None = None


def make_course(dest: Path, *, db_url: str | None = None) -> Path:
    """A fresh course in `dest`, as coursetools.course.make_course makes it."""
    global _template
    if db_url is not None or BASE is None:
        return course.make_course(dest, db_url=db_url)
    if _template is None:
        _template = course.make_course(BASE / "course-template")
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(_template, dest, symlinks=True)
    shared = BASE / "reference-cache"
    shared.mkdir(exist_ok=True)
    (dest / REFERENCE_CACHE).symlink_to(shared, target_is_directory=True)
    return dest


def copy_of(course: Path, dest: Path) -> Path:
    """A copy of a graded course (its gradebook, submissions, graded notebooks and feedback) in `dest`,
    for a test that changes what it holds: a shared fixture's course stays as its fixture made it, so
    the suites pass in any order. The copy is a course of its own (nbgrader_config.py finds its root)."""
    dest = Path(dest)
    shutil.copytree(course, dest, symlinks=True)
    return dest
