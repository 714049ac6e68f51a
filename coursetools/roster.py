"""The class as grading sees it: a Status per student, the checks of the submissions before any
grading, the CSV and the summary table. What `week13 grade-class` (classgrade.py) and
`week13 grade-class --scheduler` (distributed.py) both need, in one module that imports neither.
"""

import csv
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import ASSIGNMENT, NOTEBOOK
from . import grading, safefiles, submission, tables
from .gradebook import clear_auto_scores, gradebook_url

NB_NAME = NOTEBOOK.removesuffix(".ipynb")


@dataclass
class Status:
    student: str
    graded: bool = False
    reason: str = ""
    notes: list = field(default_factory=list)
    mode: str = ""  # how the kernel ran: "sandboxed" or "unsandboxed" (from the grading notes)
    feedback_failed: bool = False
    worker: str = ""  # the Dask worker that graded the student ("" when graded on this machine)
    limits: dict = field(default_factory=dict)  # how the sandbox bounded processes and CPU (grading notes)

    @property
    def label(self) -> str:
        if not self.graded:
            return "not graded"
        return "graded, no feedback" if self.feedback_failed else "graded"


def find_notebook(folder: Path) -> tuple[Path | None, str]:
    """(path, note) of the submitted notebook, or (None, reason); nothing in the folder is followed
    (coursetools/submission.py: the same rules as the autograde hook)."""
    return submission.find_notebook(folder, NOTEBOOK)


def check_submissions(root: Path) -> dict[str, Status]:
    """A Status per student folder: provisionally graded, or not graded with the reason."""
    statuses = {}
    for folder in sorted((root / "submitted").iterdir()):
        if not (folder / ASSIGNMENT).is_dir():
            continue
        status = statuses[folder.name] = Status(folder.name)
        linked = folder if folder.is_symlink() else folder / ASSIGNMENT if (folder / ASSIGNMENT).is_symlink() else None
        if linked is not None:  # its files would be another folder's: never followed
            status.reason = f"the submission folder {linked.relative_to(root / 'submitted')}/ is a symbolic link"
            continue
        path, note = find_notebook(folder / ASSIGNMENT)
        if path is None:
            status.reason = note
            continue
        try:
            nbformat.reads(safefiles.read_regular(path, submission.NOTEBOOK_LIMIT).decode("utf-8"), as_version=4)
        except Exception as e:  # invalid JSON, not a notebook, unreadable, too large
            status.reason = f"the notebook cannot be read ({type(e).__name__}: {str(e)[:80]})"
            continue
        status.graded = True  # provisionally: confirmed after autograding
    return statuses


def feedback_file(root: Path | str, student: str) -> Path:
    """Where the student's feedback page is (the name the student submitted the notebook under:
    coursetools/submission.py feedback_name)."""
    folder = Path(root) / "submitted" / student / ASSIGNMENT
    return Path(root) / "feedback" / student / ASSIGNMENT / submission.feedback_name(folder, NOTEBOOK)


def forget(db_url: str, root: Path | str, students: Iterable[str]) -> None:
    """No autograded score, graded notebook or feedback of `students` stays behind (before a
    regrade that cannot run, or after one that failed). Hand grades, comments and extra credit stay."""
    for student in students:
        clear_auto_scores(db_url, ASSIGNMENT, student)
        for folder in ("autograded", "feedback"):
            shutil.rmtree(Path(root) / folder / student / ASSIGNMENT, ignore_errors=True)


def ensure_assignment(root: Path, db_url: str | None = None) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(gradebook_url(root, db_url)) as gb:
        try:
            gb.find_assignment(ASSIGNMENT)
            return
        except MissingEntry:
            pass
    grading.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], root, db_url=db_url)


LATE_COLUMNS = ["raw_score", "seconds_late", "late_submission_penalty", "score"]  # as `nbgrader export` names them


def _late_cells(r: grading.Result) -> list[str]:
    """raw score (hand grades included), seconds late, penalty and final score, as the gradebook has them."""
    if r.late is None:
        return [""] * len(LATE_COLUMNS)
    return [f"{r.late.raw:g}", f"{r.late.seconds:g}", f"{r.late.penalty:g}", f"{r.late.final:g}"]


def write_csv(path: Path | str, statuses: dict[str, Status], results: dict[str, grading.Result]) -> Path | str:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "status", *grading.PARTS, "autograded", "autograded_max", *LATE_COLUMNS, "reason",
                         "notes", "mode", "worker"])
        for student, status in sorted(statuses.items()):
            r, notes = results.get(student), "; ".join(status.notes)
            if r is None:
                writer.writerow([student, status.label, *[""] * len(grading.PARTS), "", "", *[""] * len(LATE_COLUMNS),
                                 status.reason, notes, status.mode, status.worker])
            else:
                reason = "; ".join(f"{k}: {v}" for k, v in r.failures.items())
                writer.writerow([student, status.label, *[f"{r.parts[p][0]:g}" for p in grading.PARTS],
                                 f"{r.total:g}", f"{r.maximum:g}", *_late_cells(r), reason, notes, status.mode,
                                 status.worker])
    return path


def _late_text(seconds: float) -> str:
    if seconds <= 0:
        return "on time"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def summary(statuses: dict[str, Status], results: dict[str, grading.Result]) -> str:
    """One row per student: status, autograded points per part, and the first reason and notes;
    a `worker` column when a cluster graded the class; `late`, `penalty` and `final` (the
    gradebook's, hand grades included: coursetools/late.py) when any submission is late."""
    workers = any(st.worker for st in statuses.values())
    lateness = any(r.late is not None and (r.late.seconds > 0 or r.late.penalty) for r in results.values())
    rows = [("student", "status", *(("worker",) if workers else ()), *grading.PARTS, "auto",
             *(("late", "penalty", "final") if lateness else ()), "reason")]
    for student, status in sorted(statuses.items()):
        r = results.get(student)
        lead = (student, status.label, *((status.worker,) if workers else ()))
        if r is None:
            rows.append((*lead, *("-" for _ in grading.PARTS), "-", *(("-",) * 3 if lateness else ()), status.reason))
            continue
        reason = r.first_failure()
        if status.notes:
            reason = (reason + " | " if reason else "") + "; ".join(status.notes)
        late_cells = ()
        if lateness:
            late_cells = ("-", "-", "-") if r.late is None else (
                _late_text(r.late.seconds), tables.score(r.late.penalty), tables.score(r.late.final))
        rows.append((*lead, *r.score_cells(), *late_cells, reason[:150]))
    first_part = 3 if workers else 2
    numbers = list(range(first_part, first_part + len(grading.PARTS) + 1))
    if lateness:
        numbers += [first_part + len(grading.PARTS) + 2, first_part + len(grading.PARTS) + 3]
    return tables.render(rows, right=numbers)


def limits_line(statuses: dict[str, Status]) -> str:
    """A sentence for the end of the summary when a sandbox ran without a cgroup (a grader that is not
    root): what bounded processes and CPU instead; "" when every sandbox had its cgroups."""
    seen = {}
    for status in statuses.values():
        for what, how in status.limits.items():
            if not how.startswith(("pids cgroup", "cpu cgroup")):
                seen.setdefault(what, set()).add(how)
    if not seen:
        return ""
    return ("sandbox without cgroups (this user cannot make them): "
            + "; ".join(f"{what} bounded by {' / '.join(sorted(hows))}" for what, hows in sorted(seen.items()))
            + (": RLIMIT_NPROC counts every process of this user, so grade with --workers 1 where a fork bomb"
               " must not starve a kernel graded beside it" if "processes" in seen else "")
            + " (docs/sandbox.md)")
