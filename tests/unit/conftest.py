"""Fast unit tier: pure functions and preprocessors on tiny in-memory notebooks.

No kernels, no nbgrader processes, no network (the one Dask cluster runs in-process, inproc transport); files only under tmp_path.
The hidden checks' pure helpers are imported as installed (`week13_checks`).
"""

import copy
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _meta(gid, *, grade, solution, locked, points=None):
    meta = {"grade": grade, "grade_id": gid, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def solution(gid, source=STUB, cell_id=None):
    cell = new_code_cell(source, metadata=_meta(gid, grade=False, solution=True, locked=False))
    cell.id = cell_id or gid
    return cell


def test(gid, source, points=1, cell_id=None):
    cell = new_code_cell(source, metadata=_meta(gid, grade=True, solution=False, locked=True, points=points))
    cell.id = cell_id or gid
    return cell


def readonly_md(gid, source):
    cell = new_markdown_cell(source, metadata=_meta(gid, grade=False, solution=False, locked=True))
    cell.id = gid
    return cell


def answer_md(gid, source="YOUR ANSWER HERE", points=5):
    cell = new_markdown_cell(source, metadata=_meta(gid, grade=True, solution=True, locked=False, points=points))
    cell.id = gid
    return cell


def plain_code(source, cell_id=None, **metadata):
    cell = new_code_cell(source, metadata=metadata)
    if cell_id is not None:
        cell.id = cell_id
    return cell


def plain_md(source, cell_id=None):
    cell = new_markdown_cell(source)
    if cell_id is not None:
        cell.id = cell_id
    return cell


def notebook(*cells):
    nb = new_notebook(cells=list(cells), metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                  "language": "python"}})
    nbformat.validate(nb)
    return nb


def release_notebook():
    """A release in miniature: intro, two answered parts with tests, a read-only cell, a written answer."""
    return notebook(
        plain_md("# Week 13 (miniature)", cell_id="intro"),
        solution("sol1"),
        test("test1", "assert f() == 1"),
        readonly_md("md_ro", "## Part 2"),
        solution("sol2"),
        test("test2", "assert g() == 2", points=2),
        answer_md("ex_answer"),
    )


@pytest.fixture
def nb():
    """Builders of nbgrader cells and notebooks (a namespace of functions)."""
    return SimpleNamespace(solution=solution, test=test, readonly_md=readonly_md, answer_md=answer_md,
                           code=plain_code, md=plain_md, notebook=notebook, STUB=STUB)


@pytest.fixture
def release():
    return release_notebook()


@pytest.fixture
def answered(release):
    """The release with both code parts answered correctly (what a good student submits)."""
    student = copy.deepcopy(release)
    for cell in student.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "sol1":
            cell.source = "def f():\n    return 1"
        elif gid == "sol2":
            cell.source = "def g():\n    return 2"
        elif gid == "ex_answer":
            cell.source = "Because the gradients accumulate."
    return student


@pytest.fixture(autouse=True)
def no_alembic_process(monkeypatch):
    """nbgrader's Gradebook runs `alembic heads` in a child process when it creates a database;
    this tier starts no processes, so the version stamp is a constant instead."""
    import nbgrader.api

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "unit-tier")
