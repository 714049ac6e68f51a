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

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


from . import ASSIGNMENT, NOTEBOOK
from . import grading
from .gradebook import gradebook_url, submitted_students
from .notes import NOTES_SUFFIX, read_notes
from .roster import NB_NAME, Status, check_submissions, ensure_assignment, feedback_file, forget, limits_line, summary, write_csv

# The roster's names stay importable from here, where grade-class's callers found them.
__all__ = ["Status", "check_submissions", "ensure_assignment", "forget", "generate_feedback", "grade_class", "main",
           "summary", "write_csv"]

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
        status.limits = notes.get("limits", {})
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
        feedback_file(root, student).unlink(missing_ok=True)
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
        if not feedback_file(root, student).exists():
            errors = [line for line in log if "ERROR" in line and student in line] or [line for line in log if "ERROR" in line]
            statuses[student].feedback_failed = True
            statuses[student].notes.append("feedback could not be generated" +
                                           (f": {errors[0].strip()[:120]}" if errors else ""))


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
    if limits_line(statuses):
        print(limits_line(statuses))
    if results:  # what the class missed, for the next lecture (coursetools/report.py)
        from .report import class_report

        try:
            page, text = class_report(root, db_url=db_url)
            print("\n" + text.split("\n\n", 1)[1] + f"\nclass report: {page}")
        except Exception as e:  # the grades are in; a report that cannot be drawn stops nothing
            print(f"\nthe class report could not be written: {type(e).__name__}: {e}", file=sys.stderr)
    n_bad = sum(not s.graded or s.feedback_failed for s in statuses.values())
    print(f"\n{len(results)} graded, {n_bad} not graded or without feedback, autograding took {seconds:.1f} s "
          f"with {workers or os.cpu_count()} workers; grades: grades_{ASSIGNMENT}.csv, feedback: feedback/")
    return 0 if n_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
