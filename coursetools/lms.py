"""An LMS in and out: Canvas's "Download Submissions" archive and Moodle's "Download all
submissions" through `nbgrader zip_collect` (`LmsCollector`, which the course config sets, hands
each file to `CanvasCollector` or `MoodleCollector` by the name its LMS gave it), and the files
their gradebooks import through `nbgrader export` (`CanvasExport`, `MoodleExport`). Canvas first:

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

from nbgrader.plugins import ExportPlugin, FileNameCollectorPlugin
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


def in_course(app, path: str) -> Path:
    """`path` (a trait's value) relative to the course root of the nbgrader command `app`, unless absolute."""
    course = getattr(app, "coursedir", None)
    path = Path(path)
    return path if path.is_absolute() or course is None else Path(course.root) / path


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
            self._roster = read_roster(in_course(self.parent, self.roster), self.id_column)
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


CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def read_canvas_gradebook(path: Path | str) -> tuple[list[str], list[dict[str, str]]]:
    """(header, student rows) of Canvas's gradebook export: the rows whose "ID" is a Canvas user id
    (not "Points Possible" and the like)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        missing = [c for c in CANVAS_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{path}: not Canvas's gradebook export (no column {', '.join(map(repr, missing))})")
        return header, [row for row in reader if (row.get("ID") or "").strip().isdigit()]


def canvas_column(header: list[str], assignment: str) -> str:
    """The gradebook export's column of `assignment` ("week13 (4411)": Canvas's name and its id),
    or the bare name, for which Canvas's import makes a new assignment."""
    named = [c for c in header if re.fullmatch(re.escape(assignment) + r" \(\d+\)", c)]
    return named[0] if len(named) == 1 else assignment


class CanvasExport(ExportPlugin):
    """`nbgrader export --exporter=coursetools.lms.CanvasExport --to=canvas_grades.csv`: the file
    Canvas's Grades > Import reads. Its rows are the students of the gradebook export
    (`CanvasCollector.roster`), with Canvas's five identifying columns as exported and one column per
    assignment (its exported header "name (id)", so Canvas updates that assignment), holding the final
    score (late penalty recomputed from the score as it is now, coursetools/late.py); blank where
    the gradebook has no submission, so Canvas keeps what it has; a "Points Possible" row first.
    Students of the gradebook that are not in the roster are named and left out: Canvas could not
    match them."""

    def export(self, gradebook) -> None:
        from nbgrader.api import MissingEntry

        from . import late

        collector = CanvasCollector(parent=self.parent, config=self.config)
        if not collector.roster:
            raise ValueError("CanvasExport needs Canvas's gradebook export: set c.CanvasCollector.roster "
                             "(docs/jupyterhub.md)")
        path = in_course(self.parent, collector.roster)
        header, rows = read_canvas_gradebook(path)
        assignments = [a for a in gradebook.assignments if not self.assignment or a.name in self.assignment]
        for assignment in assignments:
            late.refresh(gradebook, self.config, assignment.name)
        gradebook.db.expire_all()
        ids = {row[collector.id_column].strip(): row for row in rows}
        known = {s.id for s in gradebook.students}
        left_out = sorted(known - set(ids))
        if left_out:
            self.log.warning("Not in Canvas's gradebook export %s, so not exported: %s", path.name, ", ".join(left_out))
        columns = [canvas_column(header, a.name) for a in assignments]
        dest = self.to or "canvas_grades.csv"
        with open(dest, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow([*CANVAS_COLUMNS, *columns])
            out.writerow(["    Points Possible", "", "", "", "", *(f"{a.max_score:g}" for a in assignments)])
            for student, row in ids.items():
                scores = []
                for assignment in assignments:
                    try:
                        submission = gradebook.find_submission(assignment.name, student)
                    except MissingEntry:
                        scores.append("")
                        continue
                    final = max(0.0, submission.score - (submission.late_submission_penalty or 0.0))
                    scores.append(f"{final:g}")
                out.writerow([row[c] for c in CANVAS_COLUMNS] + scores)
        self.log.info("Canvas's gradebook import written to %s (%d students)", dest, len(ids))


# --- Moodle --------------------------------------------------------------------------------------

MOODLE_NAME = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_file_(?P<file>.*)$")
MOODLE_TIME = "%A, %d %B %Y, %I:%M %p"  # how Moodle's English worksheet writes "Last modified (submission)"


def parse_moodle_name(filename: str) -> dict | None:
    """{"participant", "file"} of a file of Moodle's "Download all submissions" archive: named
    <full name>_<participant>_assignsubmission_file_<file>, or <file> in a folder named
    <full name>_<participant>_assignsubmission_file_ ("Download submissions in folders"); None when
    it is neither."""
    path = Path(filename)
    match = MOODLE_NAME.match(path.name)
    if match is not None and match["file"]:
        return {"participant": match["participant"], "file": match["file"]}
    folder = MOODLE_NAME.match(path.parent.name)
    if folder is not None and not folder["file"]:
        return {"participant": folder["participant"], "file": path.name}
    return None


def read_worksheet(path: Path | str) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of Moodle's grading worksheet ("Download grading worksheet"), one row per
    participant ("Identifier": "Participant <n>")."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        missing = [c for c in ("Identifier", "Grade", "Maximum Grade") if c not in header]
        if missing:
            raise ValueError(f"{path}: not Moodle's grading worksheet (no column {', '.join(map(repr, missing))})")
        return header, [row for row in reader if re.fullmatch(r"\D*\d+", (row.get("Identifier") or "").strip())]


def participant(row: dict[str, str]) -> str:
    """The participant number of a worksheet row ("Participant 1234567" -> "1234567")."""
    return re.sub(r"\D", "", row["Identifier"])


class MoodleCollector(FileNameCollectorPlugin):
    """zip_collect's collector for Moodle's archive, with its grading worksheet as the roster: each
    participant's id in `id_column`, and the time Moodle recorded ("Last modified (submission)"),
    written as nbgrader's timestamp, so lateness is Moodle's own, to the minute."""

    worksheet = Unicode("", help="Moodle's grading worksheet (CSV), relative to the course root or absolute; "
                                 "needed: Moodle's file names hold only a participant number").tag(config=True)
    id_column = Unicode("Email address", help="The worksheet's column that holds the students' ids in this "
                                              "course").tag(config=True)
    time_format = Unicode(MOODLE_TIME, help="strptime format of the worksheet's times").tag(config=True)
    timezone = Unicode("UTC", help="The time zone the worksheet's times are in (the downloader's in Moodle)"
                       ).tag(config=True)

    def _rows(self) -> dict[str, dict[str, str]]:
        if getattr(self, "_by_participant", None) is None:
            if not self.worksheet:
                raise ValueError("Moodle's archive names participants only: set c.MoodleCollector.worksheet to "
                                 "the assignment's grading worksheet (docs/jupyterhub.md)")
            _, rows = read_worksheet(in_course(self.parent, self.worksheet))
            self._by_participant = {participant(row): row for row in rows}
        return self._by_participant

    def submitted_at(self, row: dict[str, str]):
        """The submission time of a worksheet row, in UTC (naive, as nbgrader keeps times), or None."""
        from datetime import datetime
        from zoneinfo import ZoneInfo

        text = (row.get("Last modified (submission)") or "").strip()
        try:
            local = datetime.strptime(text, self.time_format).replace(tzinfo=ZoneInfo(self.timezone))
        except ValueError:
            return None
        return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    def collect(self, submitted_file: str) -> dict | None:
        if os.path.splitext(submitted_file)[1] not in self.valid_ext:
            return None
        parsed = parse_moodle_name(submitted_file)
        if parsed is None:
            self.log.warning("Not a file of Moodle's download, skipped: %s", os.path.basename(submitted_file))
            return None
        row = self._rows().get(parsed["participant"])
        student = (row or {}).get(self.id_column, "").strip()
        if not student:
            self.log.warning("Participant %s is not in the worksheet %s (or has no %r), skipped: %s",
                             parsed["participant"], self.worksheet, self.id_column, os.path.basename(submitted_file))
            return None
        info = {"student_id": student, "file_id": parsed["file"]}
        stamp = self.submitted_at(row)
        if stamp is None:
            self.log.warning("No submission time for %s in the worksheet (%r): lateness cannot count", student,
                             row.get("Last modified (submission)"))
        else:
            info["timestamp"] = stamp
        return info


class LmsCollector(FileNameCollectorPlugin):
    """The course's zip_collect collector (ZipCollectApp.collector_plugin): each file by the name its
    LMS gave it, Moodle's (..._assignsubmission_file_...) to MoodleCollector, any other to
    CanvasCollector, each configured by its own traits."""

    def collect(self, submitted_file: str) -> dict | None:
        kind = MoodleCollector if parse_moodle_name(submitted_file) else CanvasCollector
        if not hasattr(self, "_by_kind"):
            self._by_kind = {}
        if kind not in self._by_kind:
            self._by_kind[kind] = kind(parent=self.parent, config=self.config)
        return self._by_kind[kind].collect(submitted_file)


class MoodleExport(ExportPlugin):
    """`nbgrader export --exporter=coursetools.lms.MoodleExport --to=moodle_grades.csv`: the grading
    worksheet (`MoodleCollector.worksheet`) with its "Grade" column filled for Moodle's "Upload
    grading worksheet": each participant's final score (late penalty recomputed, coursetools/late.py),
    scaled to the worksheet's "Maximum Grade" when it differs from the assignment's points; a
    participant without a submission in the gradebook keeps the worksheet's grade. Every other
    column is as Moodle wrote it (its upload matches rows by "Identifier")."""

    def export(self, gradebook) -> None:
        from nbgrader.api import MissingEntry

        from . import late

        collector = MoodleCollector(parent=self.parent, config=self.config)
        if not collector.worksheet:
            raise ValueError("MoodleExport needs Moodle's grading worksheet: set c.MoodleCollector.worksheet "
                             "(docs/jupyterhub.md)")
        header, rows = read_worksheet(in_course(self.parent, collector.worksheet))
        names = [a.name for a in gradebook.assignments if not self.assignment or a.name in self.assignment]
        if len(names) != 1:
            raise ValueError(f"a grading worksheet is one Moodle assignment: export one (--assignment), not {names}")
        assignment = gradebook.find_assignment(names[0])
        late.refresh(gradebook, self.config, assignment.name)
        gradebook.db.expire_all()
        known, written = {s.id for s in gradebook.students}, set()
        for row in rows:
            student = (row.get(collector.id_column) or "").strip()
            try:
                submission = gradebook.find_submission(assignment.name, student)
            except MissingEntry:
                continue
            final = max(0.0, submission.score - (submission.late_submission_penalty or 0.0))
            scale = float(row["Maximum Grade"] or assignment.max_score) / assignment.max_score
            row["Grade"] = f"{round(final * scale, 2):g}"
            written.add(student)
        left_out = sorted(known - {(r.get(collector.id_column) or "").strip() for r in rows})
        if left_out:
            self.log.warning("Not in Moodle's worksheet, so not exported: %s", ", ".join(left_out))
        dest = self.to or "moodle_grades.csv"
        with open(dest, "w", newline="", encoding="utf-8") as f:
            out = csv.DictWriter(f, fieldnames=header)
            out.writeheader()
            out.writerows(rows)
        self.log.info("Moodle's grading worksheet written to %s (%d grades)", dest, len(written))
