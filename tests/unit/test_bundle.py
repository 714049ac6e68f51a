"""What students get (`week13 student-bundle`): the release notebook, its data, the packages it needs,
and nothing of the instructor's repository."""

import ast
import sys
import zipfile

import nbformat

from coursetools import ASSIGNMENT, NOTEBOOK, RELEASE_NB, REPO, SOURCE_NB
from coursetools import notebooks as nbs
from coursetools.bundle import write_bundle

IMPORT_NAMES = {"sklearn": "scikit-learn"}  # import name -> package name, where they differ


def _solution_lines():
    """The lines of the source's solution and hidden-test regions long enough to be telling and not
    also in the source's public part (a line the lesson shows elsewhere is no secret)."""
    lines, public, inside = set(), [], False
    for cell in nbs.read(SOURCE_NB).cells:
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 25:
                lines.add(line.strip())
            elif not inside:
                public.append(line)
    public = "\n".join(public)  # e.g. the task text quoting the line it asks for
    return {line for line in lines if line not in public}


def test_the_bundle_holds_the_release_its_data_and_its_packages_only(tmp_path):
    archive = write_bundle(tmp_path / ASSIGNMENT)
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
        files = {name: zf.read(name) for name in names}
    data = sorted(f"{ASSIGNMENT}/data/{p.name}" for p in (RELEASE_NB.parent / "data").glob("*.csv"))
    assert names == sorted([f"{ASSIGNMENT}/{NOTEBOOK}", f"{ASSIGNMENT}/README.txt",
                            f"{ASSIGNMENT}/requirements-student.txt", *data]), names
    assert files[f"{ASSIGNMENT}/{NOTEBOOK}"] == RELEASE_NB.read_bytes(), "the notebook is the committed release"
    text = files[f"{ASSIGNMENT}/{NOTEBOOK}"].decode()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Rubric for instructors", "week13_checks", "autograder"):
        assert marker not in text, marker
    solutions = _solution_lines()
    assert len(solutions) > 50
    shown = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
    assert [line for line in solutions if line in shown] == [], "a line of a solution or hidden region"


def test_the_student_requirements_pin_what_the_notebook_imports_as_the_course_does(tmp_path):
    write_bundle(tmp_path / ASSIGNMENT)
    pins = [line for line in (tmp_path / ASSIGNMENT / "requirements-student.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    course = {line.split("#", 1)[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()}
    assert set(pins) <= course, set(pins) - course
    assert pins[0].startswith("torch=="), "torch first, as make env installs it"
    pinned = {pin.split("==")[0].lower() for pin in pins}
    imported = set()
    for cell in nbs.read(RELEASE_NB).cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
    third_party = {IMPORT_NAMES.get(name, name) for name in imported if name not in sys.stdlib_module_names}
    assert third_party and third_party <= pinned, third_party - pinned
    assert {"jupyterlab", "nbgrader"} <= pinned, "JupyterLab and its Validate button"
    assert "pytest" not in pinned and "dask" not in pinned
