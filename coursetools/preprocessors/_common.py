"""What several of the preprocessors share: the course directory of their configuration, which
cells are graded test cells, and the error output a cell is given when it cannot earn points."""

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory


def _coursedir(preprocessor):
    return CourseDirectory(config=preprocessor.config)


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def is_test_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)
