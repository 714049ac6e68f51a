"""`SanitizeStudentHtml` (the autograde step): student HTML cleaned in the graded notebook itself,
which the formgrader and the feedback show."""

from nbgrader.preprocessors import NbGraderPreprocessor

from .. import sanitize


class SanitizeStudentHtml(NbGraderPreprocessor):
    """Student HTML is cleaned in the graded notebook itself (coursetools/sanitize.py): every
    output's HTML, Markdown and SVG (JavaScript dropped), and every markdown cell that is not one
    of the release's read-only cells. The formgrader renders this notebook to the instructor and
    the feedback is made from it, so no script or event handler of a student reaches either."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and not cell.metadata.get("nbgrader", {}).get("locked"):
            cleaned = sanitize.clean_markdown(cell.source)
            if cleaned != cell.source:
                cell.source = cleaned
        for output in cell.get("outputs", []) if cell.cell_type == "code" else ():
            sanitize.clean_output(output)
        return cell, resources
