"""The autograde pipeline's pieces: the pre-convert hook (coursetools/hook.py), the notes file
(coursetools/notes.py) and the preprocessors (coursetools/preprocessors/), run directly on
in-memory notebooks, no kernel."""

import json
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from traitlets.config import Config

from coursetools import rebuild as rb
from coursetools.hook import prepare_submission
from coursetools.notes import NOTES_SUFFIX, add_notes, read_notes
from coursetools.preprocessors import ErrorsScoreZero, NotRunIsFailure, RebuildFromRelease, StderrIsNotFailure

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

NB = "pytorch_fundamentals"


# --- notes file -------------------------------------------------------------------------------

def test_add_notes_creates_the_file_and_read_notes_reads_it(tmp_path):
    path = tmp_path / "deep" / "nb.grading.json"
    assert read_notes(path) == {}
    add_notes(path, notes=["a"], mode="sandboxed")
    assert read_notes(path) == {"notes": ["a"], "mode": "sandboxed"}


def test_add_notes_extends_lists_without_duplicates_and_replaces_other_values(tmp_path):
    path = tmp_path / "nb.grading.json"
    add_notes(path, notes=["a", "b"], review=[], mode="plain kernel")
    add_notes(path, notes=["b", "c"], review=["look"], mode="sandboxed")
    assert read_notes(path) == {"notes": ["a", "b", "c"], "review": ["look"], "mode": "sandboxed"}


# --- prepare_submission (Autograde.pre_convert_hook) -----------------------------------------

@pytest.fixture
def course(tmp_path, nb):
    """A course root with a gradebook where alice has an autograded score, and her submission folder."""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("week13")
        gb.add_notebook(NB, "week13")
        gb.add_grade_cell("test1", NB, "week13", max_score=1, cell_type="code")
        gb.add_student("alice")
        gb.add_submission("week13", "alice")
        grade = gb.find_grade("test1", NB, "week13", "alice")
        grade.auto_score, grade.manual_score = 1, 0.5
        gb.db.commit()
    folder = tmp_path / "submitted" / "alice" / "week13"
    folder.mkdir(parents=True)
    return SimpleNamespace(root=tmp_path, url=url, folder=folder)


def alice_grade(course):
    with Gradebook(course.url) as gb:
        grade = gb.find_grade("test1", NB, "week13", "alice")
        return SimpleNamespace(auto=grade.auto_score, manual=grade.manual_score)


def test_prepare_submission_points_nbgrader_at_a_lone_renamed_notebook(course, nb):
    mine = course.folder / "my work (1).ipynb"
    nbformat.write(nb.notebook(nb.code("x = 1")), str(mine))
    notebooks = [str(mine)]
    prepare_submission(assignment="week13", student="*", notebooks=notebooks, db_url=course.url,
                       notebook_name=NB + ".ipynb")
    expected = course.folder / (NB + ".ipynb")
    assert notebooks == [str(expected)]  # nbgrader's own list, changed in place
    assert expected.read_bytes() == mine.read_bytes()
    assert mine.exists()  # the student's file stays
    assert (course.folder / (NB + ".ipynb.renamed-from")).read_text().splitlines()[0] == "my work (1).ipynb"


def test_prepare_submission_leaves_a_correctly_named_notebook_alone(course, nb):
    right = course.folder / (NB + ".ipynb")
    nbformat.write(nb.notebook(nb.code("x = 1")), str(right))
    notebooks = [str(right)]
    prepare_submission(assignment="week13", student="alice", notebooks=notebooks, db_url=course.url,
                       notebook_name=NB + ".ipynb")
    assert notebooks == [str(right)]
    assert not (course.folder / (NB + ".ipynb.renamed-from")).exists()


def test_prepare_submission_clears_the_student_s_auto_scores_only(course, nb):
    right = course.folder / (NB + ".ipynb")
    nbformat.write(nb.notebook(nb.code("x = 1")), str(right))
    assert alice_grade(course).auto == 1
    prepare_submission(assignment="week13", student="*", notebooks=[str(right)], db_url=course.url,
                       notebook_name=NB + ".ipynb")
    after = alice_grade(course)
    assert after.auto is None and after.manual == 0.5


def test_prepare_submission_with_no_notebooks_does_nothing(course):
    prepare_submission(assignment="week13", student="alice", notebooks=[], db_url=course.url,
                       notebook_name=NB + ".ipynb")
    assert alice_grade(course).auto == 1


# --- StderrIsNotFailure, NotRunIsFailure --------------------------------------------------------

def test_stderr_becomes_stdout_and_errors_stay(nb):
    cell = nb.test("t", "import warnings; warnings.warn('x')")
    cell.outputs = [new_output("stream", name="stderr", text="UserWarning: x\n"),
                    new_output("error", ename="ValueError", evalue="bad", traceback=[])]
    cell, _ = StderrIsNotFailure().preprocess_cell(cell, {}, 0)
    assert [o.output_type for o in cell.outputs] == ["stream", "error"]
    assert cell.outputs[0].name == "stdout" and cell.outputs[0].text == "UserWarning: x\n"


def test_a_test_cell_that_did_not_run_gets_an_error(nb):
    cell = nb.test("t", "assert True")
    cell.execution_count = None
    cell, _ = NotRunIsFailure().preprocess_cell(cell, {}, 0)
    assert [(o.output_type, o.ename) for o in cell.outputs] == [("error", "NotRun")]


def test_a_test_cell_that_ran_is_left_alone(nb):
    cell = nb.test("t", "assert True")
    cell.execution_count = 7
    cell, _ = NotRunIsFailure().preprocess_cell(cell, {}, 0)
    assert cell.outputs == []


def test_a_test_cell_already_failing_gets_no_second_error(nb):
    cell = nb.test("t", "assert False")
    cell.outputs = [new_output("error", ename="NotebookTimeout", evalue="not run", traceback=[])]
    cell, _ = NotRunIsFailure().preprocess_cell(cell, {}, 0)
    assert [o.ename for o in cell.outputs] == ["NotebookTimeout"]


def test_a_solution_cell_that_did_not_run_is_not_marked(nb):
    cell = nb.solution("s", "x = 1")
    cell, _ = NotRunIsFailure().preprocess_cell(cell, {}, 0)
    assert cell.outputs == []


# --- RebuildFromRelease -------------------------------------------------------------------------

@pytest.fixture
def rebuild_step(tmp_path, release):
    """RebuildFromRelease configured on a course root in tmp_path, with the release written there."""
    release_path = tmp_path / "release" / "week13" / (NB + ".ipynb")
    release_path.parent.mkdir(parents=True)
    nbformat.write(release, str(release_path))
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    resources = {"nbgrader": {"student": "alice", "assignment": "week13", "notebook": NB,
                              "db_url": f"sqlite:///{tmp_path / 'gradebook.db'}"}}
    notes_file = tmp_path / "autograded" / "alice" / "week13" / (NB + NOTES_SUFFIX)
    return SimpleNamespace(step=RebuildFromRelease(config=config), resources=resources,
                           notes_file=notes_file, root=tmp_path)


def test_rebuild_step_without_repairs_writes_empty_notes_and_adds_no_cell(rebuild_step, answered):
    out, _ = rebuild_step.step.preprocess(answered, rebuild_step.resources)
    assert json.loads(rebuild_step.notes_file.read_text()) == {"notes": [], "review": []}
    assert out.cells[0].id != "grading-notes"


def test_rebuild_step_writes_notes_and_shows_them_to_the_student(rebuild_step, answered, nb):
    answered.cells = [c for c in answered.cells if rb.grade_id(c) != "test1"]
    answered.cells[1].source = ""
    out, _ = rebuild_step.step.preprocess(answered, rebuild_step.resources)
    assert rb.grade_id(out.cells[3]) == "test1"  # rebuilt (after the notes cell)
    notes = read_notes(rebuild_step.notes_file)
    assert notes["notes"] == ["sol1: the solution cell is empty"]
    assert out.cells[0].id == "grading-notes" and out.cells[0].cell_type == "markdown"
    assert "sol1: the solution cell is empty" in out.cells[0].source
    nbformat.validate(out)


def test_rebuild_step_replaces_a_previous_notes_file(rebuild_step, answered):
    add_notes(rebuild_step.notes_file, notes=["stale note from the last grading"], mode="sandboxed")
    rebuild_step.step.preprocess(answered, rebuild_step.resources)
    assert read_notes(rebuild_step.notes_file) == {"notes": [], "review": []}


def test_rebuild_step_writes_review_flags_but_does_not_show_them(rebuild_step, answered):
    answered.cells[1].source = "import sys\nsys.modules['x'] = None\ndef f():\n    return 1"
    out, _ = rebuild_step.step.preprocess(answered, rebuild_step.resources)
    notes = read_notes(rebuild_step.notes_file)
    assert notes["review"] == ["review by hand: the code touches the interpreter"]
    assert notes["notes"] == []
    assert not any("review" in c.source for c in out.cells if c.cell_type == "markdown")
    assert out.cells[0].id != "grading-notes"


def test_rebuild_step_notes_a_renamed_notebook_first(rebuild_step, answered):
    submitted = rebuild_step.root / "submitted" / "alice" / "week13"
    submitted.mkdir(parents=True)
    (submitted / (NB + ".ipynb.renamed-from")).write_text("Untitled.ipynb\n")
    answered.cells[1].source = ""
    out, _ = rebuild_step.step.preprocess(answered, rebuild_step.resources)
    assert read_notes(rebuild_step.notes_file)["notes"] == [
        "notebook found as Untitled.ipynb", "sol1: the solution cell is empty"]
    assert "notebook found as Untitled.ipynb" in out.cells[0].source


def test_prepare_submission_regrade_after_the_renamed_file_changed_grades_the_new_file(course, nb):
    mine = course.folder / "Untitled.ipynb"
    nbformat.write(nb.notebook(nb.code("first = 1")), str(mine))
    prepare_submission(assignment="week13", student="*", notebooks=[str(mine)], db_url=course.url,
                       notebook_name=NB + ".ipynb")
    nbformat.write(nb.notebook(nb.code("late_fix = 2")), str(mine))  # a corrected resubmission, same name
    notebooks = [str(course.folder / (NB + ".ipynb")), str(mine)]  # nbgrader now lists both
    prepare_submission(assignment="week13", student="*", notebooks=notebooks, db_url=course.url,
                       notebook_name=NB + ".ipynb")
    graded = nbformat.read(notebooks[0], as_version=4)
    assert graded.cells[0].source == "late_fix = 2"


# --- the boundary: nothing in the submission folder is followed ------------------------------------

def _grade(course, notebooks):
    prepare_submission(assignment="week13", student="*", notebooks=notebooks, db_url=course.url,
                       notebook_name=NB + ".ipynb")
    return notebooks


def test_a_marker_that_holds_a_path_refuses_the_submission_and_copies_nothing(course, nb, tmp_path):
    """The marker `../../../source/week13/<nb>` once made the instructor's source the student's notebook."""
    secret = tmp_path / "source" / "week13" / (NB + ".ipynb")
    secret.parent.mkdir(parents=True)
    nbformat.write(nb.notebook(nb.code("SOLUTION = 42")), str(secret))
    stub = course.folder / "Untitled.ipynb"
    nbformat.write(nb.notebook(nb.code("raise NotImplementedError()")), str(stub))
    for text in ("../../../source/week13/" + NB + ".ipynb", str(secret), "../bob/week13/" + NB + ".ipynb"):
        (course.folder / (NB + ".ipynb.renamed-from")).write_text(text + "\n")
        assert _grade(course, [str(stub)]) == [], text
        assert not (course.folder / (NB + ".ipynb")).exists(), "nothing may be copied from a path in the marker"
    assert "SOLUTION" in secret.read_text()


def test_a_notebook_that_is_a_link_refuses_the_submission(course, nb, tmp_path):
    other = tmp_path / "submitted" / "bob" / "week13" / (NB + ".ipynb")
    other.parent.mkdir(parents=True)
    nbformat.write(nb.notebook(nb.code("bob = 1")), str(other))
    (course.folder / (NB + ".ipynb")).symlink_to(other)
    assert _grade(course, [str(course.folder / (NB + ".ipynb"))]) == []
    (course.folder / (NB + ".ipynb")).unlink()
    lone = course.folder / "Untitled.ipynb"
    lone.symlink_to(other)  # a lone renamed notebook that is a link is not copied either
    assert _grade(course, [str(lone)]) == []
    assert not (course.folder / (NB + ".ipynb")).exists()
    import os
    os.mkfifo(course.folder / (NB + ".ipynb"))  # a pipe would block a reader forever
    assert _grade(course, [str(course.folder / (NB + ".ipynb"))]) == []


def test_a_stale_marker_never_overwrites_the_student_s_own_notebook(course, nb):
    mine = course.folder / "Untitled.ipynb"
    nbformat.write(nb.notebook(nb.code("old = 1")), str(mine))
    _grade(course, [str(mine)])
    expected = course.folder / (NB + ".ipynb")
    nbformat.write(nb.notebook(nb.code("my_real_work = 1")), str(expected))  # the student saved it properly now
    notebooks = _grade(course, [str(expected), str(mine)])
    assert nbformat.read(str(expected), as_version=4).cells[0].source == "my_real_work = 1"
    assert not (course.folder / (NB + ".ipynb.renamed-from")).exists()
    assert notebooks[0] == str(expected)


def test_rebuild_step_lists_extra_files_and_links_as_not_graded(rebuild_step, answered):
    submitted = rebuild_step.root / "submitted" / "alice" / "week13"
    submitted.mkdir(parents=True)
    (submitted / "grading_guard.py").write_text("def restore(*a): pass\n")
    (submitted / "gradebook.db").symlink_to("/nonexistent/gradebook.db")
    (submitted / ".ipynb_checkpoints").mkdir()
    (rebuild_step.root / "release" / "week13" / "data").mkdir()
    (submitted / "data").mkdir()  # the release ships data/: the student's copy is not used, and not noise
    rebuild_step.step.preprocess(answered, rebuild_step.resources)
    assert read_notes(rebuild_step.notes_file)["notes"] == [
        "not graded, only the notebook is: gradebook.db (symbolic link), grading_guard.py"]


def test_a_test_cell_with_an_error_scores_zero_whatever_it_displayed(nb):
    from nbgrader.utils import determine_grade

    cell = nb.test("t", "check()", points=5)
    cell.outputs = [new_output("execute_result", data={"text/plain": "5"}, execution_count=3),
                    new_output("error", ename="AssertionError", evalue="wrong std", traceback=[])]
    assert determine_grade(cell)[0] == 5, "nbgrader alone reads the displayed 5 and stops there"
    cell, _ = ErrorsScoreZero().preprocess_cell(cell, {}, 0)
    assert determine_grade(cell)[0] == 0
    assert [o.output_type for o in cell.outputs] == ["display_data", "error"]
    assert cell.outputs[0].data == {"text/plain": "5"}
    nbformat.validate(nb.notebook(cell))
    passing = nb.test("u", "1")
    passing.outputs = [new_output("execute_result", data={"text/plain": "1"}, execution_count=1)]
    passing, _ = ErrorsScoreZero().preprocess_cell(passing, {}, 0)
    assert passing.outputs[0].output_type == "execute_result", "a cell without an error is left as it is"


class _SourceCell:
    def __init__(self, source, locked=True):
        self.source, self.locked, self.cell_type, self.max_score = source, locked, "code", 4
        self.checksum = None


class _Gradebook:
    def __init__(self, cells):
        self.cells = cells

    def find_source_cell(self, grade_id, notebook, assignment):
        return self.cells[grade_id]

    find_graded_cell = find_source_cell


HIDDEN = 'assert f(1) == 2, "f(1) should be 2"\n### BEGIN HIDDEN TESTS\n__import__("checks").run("t1", globals())\n### END HIDDEN TESTS'
RELEASED = 'assert f(1) == 2, "f(1) should be 2"'


def _overwrite(source, log_lines):
    """The cell `source` through OverwriteCellsQuietly, against a source cell with a hidden region."""
    import logging

    from nbformat.v4 import new_code_cell
    from nbgrader import utils

    from coursetools.preprocessors import OverwriteCellsQuietly

    step = OverwriteCellsQuietly()
    source_cell = _SourceCell(HIDDEN)
    meta = {"grade": True, "grade_id": "t1", "locked": True, "points": 4, "solution": False, "schema_version": 3}
    reference = new_code_cell(HIDDEN, metadata={"nbgrader": dict(meta)})
    source_cell.checksum = utils.compute_checksum(reference)
    step.gradebook, step.notebook_id, step.assignment_id = _Gradebook({"t1": source_cell}), "nb", "a"

    class Lines(logging.Handler):
        def emit(self, record):
            log_lines.append(record.getMessage())

    step.log.addHandler(Lines())
    cell, _ = step.preprocess_cell(new_code_cell(source, metadata={"nbgrader": dict(meta)}), {}, 0)
    return cell


def test_a_released_hidden_test_cell_is_restored_without_a_checksum_warning():
    """nbgrader #1961: the release's copy of a hidden-test cell lacks the hidden region by design."""
    lines = []
    cell = _overwrite(RELEASED, lines)
    assert cell.source == HIDDEN and lines == []


def test_a_changed_locked_cell_is_still_reported_and_overwritten():
    lines = []
    cell = _overwrite('assert True  # the test, emptied', lines)
    assert cell.source == HIDDEN
    assert len(lines) == 1 and lines[0].startswith("Attribute 'checksum' for cell t1 has changed!")
