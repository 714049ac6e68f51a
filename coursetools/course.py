"""What a course folder is made of, and scratch courses laid out from this repository.

A course is `nbgrader_config.py` and `source/` (nbgrader generates `release/` from them) beside
a gradebook; the tooling (`coursetools`) and the hidden checks (`week13_checks`,
`grading_guard`) are installed in the environment (`make env`), never copied into a course.
The tests, the benchmark and every Dask worker make their courses here.
"""

import shutil
from pathlib import Path

from . import ASSIGNMENT, REPO

COURSE_FILES = ("nbgrader_config.py",)
COURSE_FOLDERS = ("source",)
GENERATED_FOLDERS = ("release",)


def copy_course(dest: Path, *, source: Path = REPO, release: bool = False) -> Path:
    """Copy the course's own files from `source` into a fresh folder `dest` (removed first if
    there); with `release=True` also the generated release/ (a grading machine that must not
    regenerate it). Returns `dest`."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in COURSE_FILES:
        shutil.copy(Path(source) / name, dest / name)
    for folder in COURSE_FOLDERS + (GENERATED_FOLDERS if release else ()):
        shutil.copytree(Path(source) / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def make_course(workdir: Path, *, db_url: str | None = None) -> Path:
    """A fresh scratch course in `workdir`, with the release generated into `db_url` (default: the
    course's own gradebook.db, never an instructor's $WEEK13_DB_URL). Returns the course root."""
    from .grading import nbgrader

    workdir = copy_course(workdir)
    nbgrader(["generate_assignment", ASSIGNMENT, "--force"], workdir, db_url=db_url)
    return workdir
