"""`RebuildFromRelease` (the sanitize step, `Autograde.sanitize_preprocessors`): the submission on
the release's skeleton (coursetools/rebuild.py), with notes for the student and review flags for
the instructor, written to `<notebook>.grading.json` beside the graded notebook (coursetools/notes.py;
`grade-class` reads it for its summary and CSV).
"""

from pathlib import Path

from nbformat import NotebookNode
from nbformat import read as _nbformat_read, v4 as nbformat_v4
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .. import rebuild as rb
from .. import safefiles
from .. import submission as sub
from ..notes import add_notes, notes_path
from ._common import _coursedir


def nbformat_read(path: Path | str) -> NotebookNode:
    return _nbformat_read(str(path), as_version=4)


class RebuildFromRelease(NbGraderPreprocessor):
    """The submission rebuilt on the release's skeleton (coursetools/rebuild.py), with notes."""

    release_notebook = Unicode(
        "", help="Path of the release notebook to rebuild on; default: <release>/<assignment>/<notebook>.ipynb "
                 "of the course directory.").tag(config=True)

    def preprocess(self, nb, resources):
        coursedir = _coursedir(self)
        info = resources["nbgrader"]
        release = Path(self.release_notebook or Path(coursedir.format_path(
            coursedir.release_directory, ".", info["assignment"])) / (info["notebook"] + ".ipynb"))
        release_nb = nbformat_read(release)
        rebuilt, notes = rb.rebuild(release_nb, nb)
        flags = rb.suspicious(rebuilt, release_nb)
        review = ["review by hand: the code touches " + ", ".join(flags)] if flags else []
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))
        name = info["notebook"] + ".ipynb"
        marker, _ = sub.read_marker(submitted, name)
        if marker is not None:
            notes.insert(0, f"notebook found as {marker.original}")
        shipped = {rel.split("/")[0] for rel, _ in safefiles.entries(release.parent)}
        extra = sub.extras(submitted, name, shipped)
        if extra:  # never copied into the graded folder (nbgrader_config.py: CourseDirectory.ignore)
            notes.append("not graded, only the notebook is: " + ", ".join(extra[:12])
                         + (f" and {len(extra) - 12} more" if len(extra) > 12 else ""))
        path = notes_path(coursedir, resources)
        if path.exists():
            path.unlink()
        add_notes(path, notes=notes, review=review)
        for line in notes + review:
            self.log.warning("%s: %s", info["student"], line)
        if notes:
            cell = nbformat_v4.new_markdown_cell(
                "**Notes from the grader**\n\n" + "\n".join(f"- {line}" for line in notes))
            cell.id = "grading-notes"
            rebuilt.cells.insert(0, cell)
        return rebuilt, resources
