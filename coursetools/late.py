"""Late work, one truth: the penalty of a late submission computed from its score as it is now.

nbgrader computes a late penalty once, when it autogrades (`AssignLatePenalties`), from the score
at that moment, which lacks the hand grades still to come: with `LateSubmissionPlugin.penalty_method
= "zero"`, a late 88/95 autograded and then given 5 hand points was exported as raw 93, penalty 88,
final 5. Here the penalty is recomputed with the same
configured plugin (`AssignLatePenalties.plugin_class`, so an instructor's own plugin is used as
nbgrader would) and the same clamping, from each notebook's current score, and written to the
gradebook where nbgrader keeps it:

- by `week13 grade-class` after autograding (its summary and CSV read it back);
- before `nbgrader generate_feedback` converts a student (the feedback hook, coursetools/hook.py),
  so the feedback page's score is the final one;
- by `nbgrader export` (`CsvExportPlugin` below, set as `ExportApp.plugin_class`), so grades.csv's
  raw_score, late_submission_penalty and score agree with the feedback.

The formgrader shows the penalty as the last of these wrote it; hand grading there does not
recompute it until one of them runs (docs/jupyterhub.md).
"""

from dataclasses import dataclass
from pathlib import Path

from nbgrader.plugins import CsvExportPlugin as _NbgraderCsvExport
from traitlets.config import Application, Config


@dataclass(frozen=True)
class Late:
    seconds: float  # past the due date (extensions included), 0 when on time or no due date
    raw: float  # the submission's score: autograded and hand-graded points
    penalty: float

    @property
    def final(self) -> float:
        return max(0.0, self.raw - self.penalty)


def course_config(root: Path | str) -> Config:
    """The configuration of the course in `root`, as nbgrader loads it (its nbgrader_config.py);
    empty where there is none."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    try:
        return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    except ConfigFileNotFound:
        return Config()


def running_config() -> Config:
    """The configuration of the nbgrader command running this process (a hook's), command-line
    options included; empty outside one."""
    return Application.instance().config if Application.initialized() else Config()


def refresh(gradebook, config: Config, assignment: str, students=None) -> dict[str, Late]:
    """Recompute and store the late penalty of each submitted notebook of `assignment` (of
    `students`, default all) from its current score; returns each student's Late."""
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties

    assigner = AssignLatePenalties(config=config)
    assigner.init_plugin()
    wanted = None if students is None else set(students)
    out = {}
    try:
        submissions = gradebook.find_assignment(assignment).submissions
    except MissingEntry:
        return out
    for submission in submissions:
        student = submission.student.id
        if wanted is not None and student not in wanted:
            continue
        seconds = submission.total_seconds_late
        for notebook in submission.notebooks:
            penalty = None
            if seconds > 0:
                penalty = assigner.plugin_inst.late_submission_penalty(student, notebook.score, seconds)
                if penalty is not None:
                    penalty = assigner._check_late_penalty(notebook, penalty)  # nbgrader's own clamp
            notebook.late_submission_penalty = penalty
        gradebook.db.commit()
        out[student] = Late(seconds, submission.score, submission.late_submission_penalty or 0.0)
    return out


class CsvExportPlugin(_NbgraderCsvExport):
    """nbgrader's CSV export (the same columns), after the late penalties are recomputed from the
    scores as they are now (hand grades included)."""

    def export(self, gradebook) -> None:
        for assignment in gradebook.assignments:
            if not self.assignment or assignment.name in self.assignment:
                refresh(gradebook, self.config, assignment.name, self.student or None)
        gradebook.db.expire_all()  # column properties (the assignment's penalty) read anew
        super().export(gradebook)
