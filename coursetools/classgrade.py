"""Grade a whole class with one command: `make grade-class` (`week13 grade-class`).

Every guarantee of the grading itself (the release's skeleton, answers counted
where students put them, no stale scores, kernel state restored before each
test, time limits, dead kernels, review flags) lives in nbgrader's own
autograde pipeline (nbgrader_config.py, coursetools/preprocessors/), so this
command grades exactly like `nbgrader autograde` and the formgrader's button.
What only it adds:

1. **check** each `submitted/<student>/week13/` for a notebook nbgrader can
   read (no notebook, several, invalid JSON: `not graded` with the reason);
2. **autograde** with parallel `nbgrader autograde --student` processes,
   handed one student at a time to whichever is free, with a progress line;
3. **feedback** (`generate_feedback`, hidden tests removed), a CSV with a
   status column (not-graded rows have empty scores, never 0) and a summary
   with the grader's notes and review flags.

Regrading keeps every hand grade, comment and extra credit: only autograded
scores are replaced.
"""

import csv
import os
import shutil
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import ASSIGNMENT, NOTEBOOK
from . import grading, safefiles, submission, tables
from .gradebook import clear_auto_scores, gradebook_url, submitted_students
from .notes import NOTES_SUFFIX, read_notes

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


def grade_class(root: Path | str, workers: int | None = None, quiet: bool = False, only: list[str] | None = None,
                db_url: str | None = None,
                cell_timeout: float | None = None) -> tuple[dict[str, Status], dict[str, grading.Result], float]:
    """Grade every submission under root/submitted (or just the students in `only`).

    Returns (statuses, results, autograde seconds) for the whole class: students
    not in `only` keep what the gradebook holds for them. `db_url` is the
    gradebook (default: root/gradebook.db); `cell_timeout` overrides the
    per-cell limit of nbgrader_config.py (seconds).
    """
    root = Path(root).resolve()
    url = gradebook_url(root, db_url)
    ensure_assignment(root, db_url)
    statuses = check_submissions(root)
    if only is not None:
        unknown = sorted(set(only) - set(statuses))
        if unknown:
            raise SystemExit(f"no submission under submitted/ for: {', '.join(unknown)}")
    run = [s for s in statuses if only is None or s in only]
    # a submission nbgrader cannot grade keeps no old score, feedback or notebook
    forget(url, root, [s for s in run if not statuses[s].graded])
    to_grade = [s for s in run if statuses[s].graded]
    done = []

    def on_done(student: str, code: int) -> None:
        done.append(student)
        if not quiet:
            print(f"\r  autograded {len(done)}/{len(to_grade)}", end="" if len(done) < len(to_grade) else "\n",
                  flush=True)

    seconds = 0.0
    if to_grade:
        seconds = grading.autograde(root, to_grade, workers, check=False, db_url=db_url, cell_timeout=cell_timeout,
                                    logs=root / "build" / "class" / "logs", on_done=on_done)
    in_gradebook = submitted_students(url, ASSIGNMENT)
    graded = [s for s, st in statuses.items() if st.graded and s in in_gradebook
              and (root / "autograded" / s / ASSIGNMENT / NOTEBOOK).exists()]
    results = grading.read_results(root, graded, db_url=url)
    for student, status in statuses.items():
        notes = read_notes(root / "autograded" / student / ASSIGNMENT / (NB_NAME + NOTES_SUFFIX))
        status.notes = [*notes.get("notes", []), *notes.get("review", [])]
        status.mode = notes.get("mode", "")
        if student in results and status.mode != "sandboxed":  # say so: a trusted class, or a broken config
            status.notes.append(f"graded {status.mode}" if status.mode else
                                "graded without the course's pipeline (did nbgrader_config.py load?)")
        if status.graded and student not in results:
            status.graded = False
            status.reason = (f"autograding failed (log: build/class/logs/{student}.log)" if student in to_grade
                             else "not graded yet")
    generate_feedback(root, [s for s in run if s in results], statuses, db_url=db_url, workers=workers)
    write_csv(root / f"grades_{ASSIGNMENT}.csv", statuses, results)
    return statuses, results, seconds


def generate_feedback(root: Path, students: list[str], statuses: dict[str, Status], db_url: str | None = None,
                      workers: int | None = None) -> None:
    """`nbgrader generate_feedback` for `students`, in `workers` processes at once (default: one per
    core), each for its share of the students; one whose feedback is missing afterwards gets the
    status `graded, no feedback` and the reason in its notes."""
    if not students:
        return
    root = Path(root)
    workers = max(1, min(workers or os.cpu_count() or 1, len(students)))
    for student in students:  # stale feedback must not pass for new
        (root / "feedback" / student / ASSIGNMENT / (NB_NAME + ".html")).unlink(missing_ok=True)
    autograded = root / "autograded"
    everyone = set(statuses) | ({p.name for p in autograded.iterdir()} if autograded.is_dir() else set())

    def share(mine: list[str]) -> list[str]:
        args = ["generate_feedback", ASSIGNMENT, "--force"]
        others = sorted(everyone - set(mine))  # each student in exactly one process
        if others:
            args.append("--CourseDirectory.student_id_exclude=" + ",".join(others))
        proc = grading.nbgrader(args, root, check=False, db_url=db_url)
        return (proc.stdout + proc.stderr).splitlines()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        log = [line for lines in pool.map(share, [students[i::workers] for i in range(workers)]) for line in lines]
    for student in students:
        if not (root / "feedback" / student / ASSIGNMENT / (NB_NAME + ".html")).exists():
            errors = [line for line in log if "ERROR" in line and student in line] or [line for line in log if "ERROR" in line]
            statuses[student].feedback_failed = True
            statuses[student].notes.append("feedback could not be generated" +
                                           (f": {errors[0].strip()[:120]}" if errors else ""))


def write_csv(path: Path | str, statuses: dict[str, Status], results: dict[str, grading.Result]) -> Path | str:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "status", *grading.PARTS, "autograded", "autograded_max", "reason", "notes", "mode",
                         "worker"])
        for student, status in sorted(statuses.items()):
            r, notes = results.get(student), "; ".join(status.notes)
            if r is None:
                writer.writerow([student, status.label, *[""] * len(grading.PARTS), "", "", status.reason, notes,
                                 status.mode, status.worker])
            else:
                reason = "; ".join(f"{k}: {v}" for k, v in r.failures.items())
                writer.writerow([student, status.label, *[f"{r.parts[p][0]:g}" for p in grading.PARTS],
                                 f"{r.total:g}", f"{r.maximum:g}", reason, notes, status.mode, status.worker])
    return path


def summary(statuses: dict[str, Status], results: dict[str, grading.Result]) -> str:
    """One row per student: status, autograded points per part, and the first reason and notes;
    a `worker` column when a cluster graded the class."""
    workers = any(st.worker for st in statuses.values())
    rows = [("student", "status", *(("worker",) if workers else ()), *grading.PARTS, "auto", "reason")]
    for student, status in sorted(statuses.items()):
        r = results.get(student)
        lead = (student, status.label, *((status.worker,) if workers else ()))
        if r is None:
            rows.append((*lead, *("-" for _ in grading.PARTS), "-", status.reason))
            continue
        reason = r.first_failure()
        if status.notes:
            reason = (reason + " | " if reason else "") + "; ".join(status.notes)
        rows.append((*lead, *r.score_cells(), reason[:150]))
    first_part = 3 if workers else 2
    return tables.render(rows, right=range(first_part, first_part + len(grading.PARTS) + 1))


def main(root: Path | str, workers: int | None = None, only: list[str] | None = None, db_url: str | None = None,
         scheduler: str | None = None, cell_timeout: float | None = None) -> int:
    """`week13 grade-class`: grade, print the summary; exit status 0 when every student was graded
    with feedback, 1 when some were not, 2 when there is nothing to grade."""
    submitted = Path(root) / "submitted"
    if not submitted.is_dir() or not any(p.is_dir() for p in submitted.iterdir()):
        print(f"nothing to grade: put each submission in {submitted}/<student>/{ASSIGNMENT}/{NOTEBOOK} "
              f"(nbgrader's layout, what `nbgrader collect` makes)", file=sys.stderr)
        return 2
    which = "every submission" if not only else ", ".join(only)
    print(f"grading {which} under {submitted} ...", flush=True)
    if scheduler:  # one task per student on a Dask cluster (coursetools/distributed.py)
        from .distributed import grade_class_on_cluster

        statuses, results, seconds = grade_class_on_cluster(root, scheduler, only=only, db_url=db_url,
                                                            cell_timeout=cell_timeout)
    else:
        statuses, results, seconds = grade_class(root, workers, only=only, db_url=db_url, cell_timeout=cell_timeout)
    print(summary(statuses, results))
    n_bad = sum(not s.graded or s.feedback_failed for s in statuses.values())
    print(f"\n{len(results)} graded, {n_bad} not graded or without feedback, autograding took {seconds:.1f} s "
          f"with {workers or os.cpu_count()} workers; grades: grades_{ASSIGNMENT}.csv, feedback: feedback/")
    return 0 if n_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
