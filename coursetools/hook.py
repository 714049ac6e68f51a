"""The autograde pipeline's pre-convert hook (`Autograde.pre_convert_hook`, set in nbgrader_config.py):
before nbgrader reads a student's notebooks, `prepare_submission` sees that

- the student's previous autograded scores are cleared (manual grades stay),
  so a regrade that fails never leaves an old score;
- a notebook saved under another name (the only one in the folder) is graded,
  with a note.

and the post-convert hooks of autograde and generate_feedback, and generate_feedback's pre-convert
hook, keep what nbgrader's exchange reads (timestamp, secret, the feedback's name) and the late
penalty true (`after_autograde`, `before_feedback`, `after_feedback`).
"""

import hashlib
from logging import Logger
from pathlib import Path

from traitlets.log import get_logger

from . import exchange, late, safefiles
from . import submission as sub
from .gradebook import clear_auto_scores


def prepare_submission(*, assignment: str, student: str, notebooks: list[str], db_url: str, notebook_name: str,
                       log: Logger | None = None) -> None:
    """`Autograde.pre_convert_hook`: runs for each student before nbgrader reads the notebooks.

    `student` is "*" when nbgrader grades everyone, so the student comes from the
    notebooks' folder (submitted/<student>/<assignment>/). `notebooks` is nbgrader's own
    list: a lone notebook saved under another name is copied to the expected name (the
    student's file stays), the marker records the copy (`<name>` and its sha256), and the list
    is pointed at the copy. Nothing in the folder is followed (coursetools/submission.py): a
    notebook that is a link, a pipe or a device, or a marker that names anything but a notebook
    file in the folder itself, refuses the submission (the list is emptied, so nbgrader grades
    nothing and says so) with the reason in the log.
    """
    if not notebooks:
        return
    log = log or get_logger()  # the running nbgrader app's log (nbgrader passes the hook no logger)
    folder = Path(notebooks[0]).parent
    student_id = folder.parent.name
    clear_auto_scores(db_url, folder.name, student_id)
    refused = sub.problem(folder, notebook_name)
    if refused:
        notebooks[:] = []
        log.error("%s: not graded: %s", student_id, refused)
        return
    expected = folder / notebook_name
    marker_file = sub.marker_path(folder, notebook_name)
    marker, _ = sub.read_marker(folder, notebook_name)
    original = None
    if marker is not None:  # an earlier grading made `expected` from the student's renamed file
        named = folder / marker.original
        try:  # is what lies under the expected name still the copy the hook made?
            ours = hashlib.sha256(safefiles.read_regular(expected, sub.NOTEBOOK_LIMIT)).hexdigest() == marker.sha256
        except OSError:  # gone, unreadable, or no longer a regular file
            ours = False
        if ours and named.is_file() and not named.is_symlink():
            original = named  # copy it again: the student may have replaced it since
        else:  # the renamed file is gone, or what is under the expected name is the student's own
            marker_file.unlink()
    elif not expected.exists() and len(notebooks) == 1:
        original = Path(notebooks[0])
    if original is not None:
        try:
            data = safefiles.read_regular(original, sub.NOTEBOOK_LIMIT)
        except OSError as err:
            notebooks[:] = []
            log.error("%s: not graded: %s cannot be read (%s)", student_id, original.name, err)
            return
        safefiles.replace_file(expected, data)
        safefiles.replace_file(marker_file, sub.marker_text(original.name, data).encode())
        notebooks[:] = [str(expected)]
        log.warning("%s: notebook found as %s, graded as %s", student_id, original.name, notebook_name)


def _student_folder(notebooks: list[str]) -> tuple[str, str] | None:
    """(student, assignment) of the folder nbgrader's notebook list lies in
    (<kind>/<student>/<assignment>/<notebook>), or None for an empty list."""
    if not notebooks:
        return None
    folder = Path(notebooks[0]).parent
    return folder.parent.name, folder.name


def after_autograde(*, assignment: str, student: str, notebooks: list[str], root: Path | str) -> None:
    """`Autograde.post_convert_hook`: the submission's exchange files (coursetools/exchange.py) join
    the graded notebook in autograded/, where nbgrader compares the timestamp with a resubmission's."""
    found = _student_folder(notebooks)
    if found:
        student_id, assignment_id = found
        exchange.carry(Path(root) / "submitted" / student_id / assignment_id,
                       Path(root) / "autograded" / student_id / assignment_id)


def before_feedback(*, assignment: str, student: str, notebooks: list[str], db_url: str) -> None:
    """`GenerateFeedback.pre_convert_hook`: the student's late penalty recomputed from the score as it
    is now, hand grades included (coursetools/late.py), so that the feedback shows the final score."""
    from nbgrader.api import Gradebook

    found = _student_folder(notebooks)
    if found:
        with Gradebook(db_url) as gb:
            late.refresh(gb, late.running_config(), found[1], [found[0]])


def after_feedback(*, assignment: str, student: str, notebooks: list[str], root: Path | str,
                   notebook_name: str) -> None:
    """`GenerateFeedback.post_convert_hook`: what `nbgrader release_feedback` reads joins the feedback
    (the exchange files of the submission), and the feedback of a notebook the student submitted
    under another name takes that name, which `fetch_feedback` looks for on the student's side."""
    found = _student_folder(notebooks)
    if not found:
        return
    student_id, assignment_id = found
    submitted = Path(root) / "submitted" / student_id / assignment_id
    feedback = Path(root) / "feedback" / student_id / assignment_id
    exchange.carry(submitted, feedback)
    ours = feedback / Path(notebook_name).with_suffix(".html").name
    wanted = feedback / sub.feedback_name(submitted, notebook_name)
    if wanted != ours and ours.is_file() and not ours.is_symlink():
        ours.replace(wanted)
