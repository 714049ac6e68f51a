"""nbgrader preprocessors that close the holes of plain `nbgrader autograde`, one per module, each
module named as its class in lower case (as nbgrader's own nbgrader/preprocessors/ are).

Everything here runs inside nbgrader's own autograde pipeline (set in nbgrader_config.py), so
`nbgrader autograde`, the formgrader's Autograde button and `grade-class` grade a submission
identically. Before the notebook is read, the pipeline's pre-convert hook runs (coursetools/hook.py);
the grading notes the preprocessors write are coursetools/notes.py. In the order nbgrader_config.py
runs them, among nbgrader's own:

Sanitize step (`Autograde.sanitize_preprocessors`):
- `RebuildFromRelease`: the submission rebuilt on the release's skeleton, with notes for the
  student and review flags for the instructor;
- `OverwriteCellsQuietly`: nbgrader's OverwriteCells without the checksum false alarm of
  nbgrader #1961 for every hidden test cell.

Autograde step (`Autograde.autograde_preprocessors`):
- `RobustExecute` (replaces nbgrader's Execute): the hidden checks decided in the grader's process,
  the kernel's state restored before each test cell, a whole-notebook time limit, recovery from
  dead or unresponsive kernels, output byte limits;
- `StderrIsNotFailure`: warnings on stderr in a test cell are not failures; errors still are;
- `NotRunIsFailure`: a graded test cell that did not run earns nothing;
- `SanitizeStudentHtml`: student HTML cleaned in the graded notebook the formgrader and the
  feedback show;
- `ErrorsScoreZero`: a graded test cell with an error scores 0, whatever it displayed (just
  before SaveAutoGrades).

What several of them share is in _common.py.
"""

from .rebuildfromrelease import RebuildFromRelease
from .overwritecellsquietly import OverwriteCellsQuietly
from .robustexecute import RobustExecute
from .stderrisnotfailure import StderrIsNotFailure
from .notrunisfailure import NotRunIsFailure
from .sanitizestudenthtml import SanitizeStudentHtml
from .errorsscorezero import ErrorsScoreZero

__all__ = ["RebuildFromRelease", "OverwriteCellsQuietly", "RobustExecute", "StderrIsNotFailure", "NotRunIsFailure",
           "SanitizeStudentHtml", "ErrorsScoreZero"]
