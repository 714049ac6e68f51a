"""Submissions from an LMS's own download: Canvas's "Download Submissions" archive through
`nbgrader zip_collect`.

nbgrader's default collector needs a regular expression the instructor writes, and even with one,
Canvas's LATE marker is lost: nbgrader reads lateness from a timestamp, and Canvas's file names hold
none. `CanvasCollector` (set as `ZipCollectApp.collector_plugin` in nbgrader_config.py) reads the
names Canvas gives each file of the archive,

    <sortable name>_[LATE_]<Canvas user id>_<attachment id>_<the file's name>[-<n>].ipynb

(`-<n>` is Canvas's suffix for a file re-uploaded under the same name), and gives zip_collect

- the student's id: the Canvas user id, or, with `CanvasCollector.roster` set to the gradebook CSV
  that Canvas exports (Grades > Export), the roster's `id_column` ("SIS Login ID" unless told) of the
  row whose "ID" is that user id, so students keep the ids they have on the hub;
- the file's name without Canvas's `-<n>` (the course's own rule finds a notebook the student
  renamed themselves and notes it);
- for a LATE file, a timestamp one second past the due date that applies to the student in the
  gradebook (an extension included): Canvas says that the work was late, not by how much, so
  the penalty is the one for the smallest lateness: all of it under `penalty_method = "zero"`, the
  first unit of a per-hour or per-day rule. Without a due date in the gradebook the marker cannot
  count, and zip_collect says so for each such file.

A file whose name is not Canvas's is skipped with a warning, as nbgrader skips any name its
collector does not recognise.
"""

import csv
import os
import re
from datetime import timedelta
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

CANVAS_NAME = re.compile(r"^(?P<name>[^_/]+)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$")
RESUBMITTED = re.compile(r"-\d+$")  # Canvas's suffix for a file uploaded again under the same name
LATE_BY = timedelta(seconds=1)


def parse_canvas_name(filename: str) -> dict | None:
    """{"user", "late", "file"} from the base name of a file of Canvas's archive; None when it is not
    a Canvas name."""
    match = CANVAS_NAME.match(os.path.basename(filename))
    if match is None:
        return None
    stem, ext = os.path.splitext(match["file"])
    return {"user": match["user"], "late": match["late"] is not None, "file": RESUBMITTED.sub("", stem) + ext}


def read_roster(path: Path | str, id_column: str = "SIS Login ID") -> dict[str, str]:
    """{Canvas user id: the student's id in `id_column`} from Canvas's gradebook export (its rows
    without a numeric "ID", such as "Points Possible", are not students)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("ID", id_column) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: no column {', '.join(map(repr, missing))} (Canvas's gradebook export has "
                             f"'Student', 'ID', 'SIS User ID', 'SIS Login ID' and 'Section')")
        return {row["ID"].strip(): row[id_column].strip() for row in reader
                if (row.get("ID") or "").strip().isdigit() and (row.get(id_column) or "").strip()}


class CanvasCollector(FileNameCollectorPlugin):
    """zip_collect's collector for Canvas's archive (the module's docstring)."""

    roster = Unicode("", help="Canvas's gradebook export (CSV), relative to the course root or absolute: maps "
                              "each Canvas user id to the student's id in id_column; '' keeps the Canvas "
                              "user id as the student's id").tag(config=True)
    id_column = Unicode("SIS Login ID", help="The roster's column that holds the students' ids in this "
                                             "course (the hub's login names)").tag(config=True)

    def _course(self):
        return getattr(self.parent, "coursedir", None)

    def _ids(self) -> dict[str, str] | None:
        if not self.roster:
            return None
        if getattr(self, "_roster", None) is None:
            course = self._course()
            path = Path(self.roster)
            if not path.is_absolute() and course is not None:
                path = Path(course.root) / path
            self._roster = read_roster(path, self.id_column)
        return self._roster

    def _late_timestamp(self, student: str):
        """One second past the due date that applies to `student` (None: no due date)."""
        course = self._course()
        if course is None:
            return None
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(course.db_url) as gb:
            try:
                assignment = gb.find_assignment(course.assignment_id)
            except MissingEntry:
                return None
            if assignment.duedate is None:
                return None
            due = assignment.duedate
            try:
                extension = gb.find_submission(course.assignment_id, student).extension
            except MissingEntry:
                extension = None
        return due + (extension or timedelta(0)) + LATE_BY

    def collect(self, submitted_file: str) -> dict | None:
        if os.path.splitext(submitted_file)[1] not in self.valid_ext:
            return None
        parsed = parse_canvas_name(submitted_file)
        if parsed is None:
            self.log.warning("Not a file of Canvas's download (<name>_[LATE_]<user id>_<attachment id>_<file>), "
                             "skipped: %s", os.path.basename(submitted_file))
            return None
        ids = self._ids()
        student = parsed["user"] if ids is None else ids.get(parsed["user"])
        if not student:
            self.log.warning("Canvas user %s is not in the roster %s, skipped: %s", parsed["user"], self.roster,
                             os.path.basename(submitted_file))
            return None
        info = {"student_id": student, "file_id": parsed["file"]}
        if parsed["late"]:
            stamp = self._late_timestamp(student)
            if stamp is None:
                self.log.warning("Canvas marks %s LATE, but %s has no due date in the gradebook (nbgrader db "
                                 "assignment add %s --duedate=...): the marker cannot count", student,
                                 self._course().assignment_id if self._course() else "the assignment",
                                 self._course().assignment_id if self._course() else "ASSIGNMENT")
            else:
                info["timestamp"] = stamp
                self.log.info("Canvas marks %s LATE: recorded %s past the due date", student, LATE_BY)
        return info
