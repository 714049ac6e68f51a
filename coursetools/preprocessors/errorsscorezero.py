"""`ErrorsScoreZero` (the autograde step, before SaveAutoGrades): a graded test cell with an error
scores 0, whatever it displayed."""

from nbgrader.preprocessors import NbGraderPreprocessor

from .. import outputs as out_limits
from ._common import is_test_cell


class ErrorsScoreZero(NbGraderPreprocessor):
    """A graded test cell with an error scores 0, whatever else it shows: nbgrader reads the first
    error or the first `execute_result` of a cell (`nbgrader.utils.determine_grade`), so a value
    displayed before the error (a student's `__init__` calling the display hook) would decide it.
    Runs before SaveAutoGrades (nbgrader_config.py)."""

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell) and out_limits.errors_score_zero(cell):
            self.log.warning("A test cell with an error also showed a result: the error decides its grade")
        return cell, resources
