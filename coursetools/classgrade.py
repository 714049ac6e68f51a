"""Grade a whole class with one command: `make grade-class` (python -m coursetools grade-class).

For every `submitted/<student>/week13/`:

1. **prepare** — read the notebook (a renamed one is found; invalid JSON or
   no notebook gives a clear status) and rebuild it on the release: every
   test and read-only cell comes from the release with its metadata (so
   deleted, duplicated, retagged or markdown-converted test cells are back
   as they were), the student's solution cells (split ones included) and
   own extra cells are kept, outputs and tags are dropped. The rebuilt
   notebooks go to `build/class/submitted/`; the originals are untouched.
2. **forget** the student's previous grades in the gradebook, so a regrade
   that fails can never leave a stale score.
3. **autograde** in parallel worker processes sharing the gradebook (one
   kernel thread each), with a progress line.
4. **feedback** (`generate_feedback`, hidden tests removed), a CSV with a
   status column (`graded` / `not graded: <reason>`; not-graded rows have
   empty scores, never 0) and a summary table.
"""

import csv
import json
import re
import os
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import ASSIGNMENT, NOTEBOOK
from . import grading
from . import notebooks as nbs

NB_NAME = NOTEBOOK.removesuffix(".ipynb")


@dataclass
class Status:
    student: str
    graded: bool = False
    reason: str = ""
    notes: list = field(default_factory=list)


def _is_fixed(cell):
    """Release cells the student may not change: tests and read-only cells."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta) and not meta.get("solution")


def rebuild(release_nb, student_nb):
    """The student's answers on the release's skeleton; returns (notebook, notes)."""
    notes = []
    release_index_by_gid = {nbs.grade_id(c): i for i, c in enumerate(release_nb.cells) if nbs.grade_id(c)}
    release_index_by_id = {c.get("id"): i for i, c in enumerate(release_nb.cells)
                           if not nbs.grade_id(c) and c.get("id")}
    chosen = {}  # release index -> the student's version of that cell
    extras = {}  # release index (or -1) -> the student's own cells that follow it
    previous = -1
    for cell in student_nb.cells:
        gid = nbs.grade_id(cell)
        if gid in release_index_by_gid:
            index = release_index_by_gid[gid]
            if _is_fixed(release_nb.cells[index]):
                previous = index  # a test or read-only cell: the release's copy is used
                continue
            if index in chosen:  # a split (or copied) solution cell: keep it, as a plain cell
                extras.setdefault(previous, []).append(cell)
                notes.append(f"{gid}: more than one cell, kept in order")
                continue
            chosen[index] = cell
            previous = index
        elif gid is None and cell.get("id") in release_index_by_id:
            index = release_index_by_id[cell.get("id")]
            chosen[index] = cell
            previous = index
        else:
            if gid is not None:
                notes.append(f"unknown grade id {gid!r}: kept as a plain cell")
            extras.setdefault(previous, []).append(cell)

    out = []

    def plain(cell):  # the student's own cell, without metadata (no tags, no nbgrader marks)
        return (nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell)(cell.source)

    for cell in extras.get(-1, []):
        out.append(plain(cell))
    for index, release_cell in enumerate(release_nb.cells):
        cell = nbformat.from_dict(json.loads(json.dumps(release_cell)))
        student = chosen.get(index)
        if _is_fixed(release_cell):
            pass  # always the release's copy, metadata included
        elif student is not None:
            cell.source = student.source
        elif release_cell.metadata.get("nbgrader", {}).get("solution"):
            notes.append(f"{nbs.grade_id(release_cell)}: missing, the empty release cell was used")
        out.append(cell)
        for extra in extras.get(index, []):
            out.append(plain(extra))
    for cell in out:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb = nbformat.v4.new_notebook(cells=out, metadata=json.loads(json.dumps(release_nb.metadata)))
    nb.nbformat_minor = release_nb.nbformat_minor
    nbformat.validate(nb)
    return nb, notes


# Code that reaches into the kernel or the grader. The grader undoes what it can before every
# test (coursetools/nbgrader_ext.py, autograder/grading_guard.py), but code running in the
# grading kernel could, with enough effort, also attack that: such submissions are flagged so
# that a person looks at them before the grade is published.
SUSPICIOUS = {
    "IPython hooks": r"input_transformers|ast_transformers|set_custom_exc|events\.register|register_magic",
    "the grader": r"grading_guard|week13_checks|__w13|autograder",
    "the interpreter": r"sys\.modules|sys\.settrace|sys\.setprofile|sys\.(?:display|except)hook|"
                       r"\bbuiltins\b|__builtins__|os\._exit|\bctypes\b|gc\.get_objects",
}


def suspicious(nb, release_nb):
    """What the student's own code touches that a correct answer never needs (empty: nothing)."""
    fixed = {c.source for c in release_nb.cells if _is_fixed(c)}
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and c.source not in fixed)
    return [what for what, pattern in SUSPICIOUS.items() if re.search(pattern, code)]


def find_notebook(folder):
    """(path, note) of the submitted notebook, or (None, reason)."""
    exact = folder / NOTEBOOK
    if exact.is_file():
        return exact, ""
    candidates = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if len(candidates) == 1:
        return candidates[0], f"notebook found as {candidates[0].relative_to(folder)}"
    if not candidates:
        return None, f"no notebook in the submission (expected {NOTEBOOK})"
    return None, f"{len(candidates)} notebooks and none named {NOTEBOOK}: " + ", ".join(p.name for p in candidates)


def prepare(root, staging, release_nb):
    statuses = {}
    if staging.exists():
        shutil.rmtree(staging)
    for folder in sorted((root / "submitted").iterdir()):
        if not (folder / ASSIGNMENT).is_dir():
            continue
        status = statuses[folder.name] = Status(folder.name)
        path, note = find_notebook(folder / ASSIGNMENT)
        if path is None:
            status.reason = note
            continue
        if note:
            status.notes.append(note)
        try:
            student_nb = nbformat.read(str(path), as_version=4)
        except Exception as e:  # invalid JSON, not a notebook, unreadable
            status.reason = f"the notebook cannot be read ({type(e).__name__}: {str(e)[:80]})"
            continue
        try:
            nb, notes = rebuild(release_nb, student_nb)
        except Exception as e:
            status.reason = f"the notebook cannot be rebuilt ({type(e).__name__}: {str(e)[:80]})"
            continue
        status.notes.extend(notes)
        touched = suspicious(nb, release_nb)
        if touched:
            status.notes.append("review by hand: the code touches " + ", ".join(touched))
        dest = staging / folder.name / ASSIGNMENT
        dest.mkdir(parents=True)
        nbformat.write(nb, str(dest / NOTEBOOK))
        if (folder / ASSIGNMENT / "timestamp.txt").is_file():
            shutil.copy(folder / ASSIGNMENT / "timestamp.txt", dest)
        status.graded = True  # provisionally: confirmed after autograding
    return statuses


def forget(root, students):
    """Remove the students' previous submissions from the gradebook (no stale scores)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(grading.gradebook_url(root)) as gb:
        for student in students:
            try:
                gb.remove_submission(ASSIGNMENT, student)
            except MissingEntry:
                pass
    for folder in ("autograded", "feedback"):
        for student in students:
            shutil.rmtree(root / folder / student / ASSIGNMENT, ignore_errors=True)


def _progress(root, students, stop):
    def done():
        return sum((root / "autograded" / s / ASSIGNMENT / NOTEBOOK).exists() for s in students)

    shown = -1
    while not stop.wait(1.0):
        if done() != shown:
            shown = done()
            print(f"\r  autograded {shown}/{len(students)}", end="", flush=True)
    print(f"\r  autograded {done()}/{len(students)}", flush=True)


def ensure_assignment(root):
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(grading.gradebook_url(root)) as gb:
        try:
            gb.find_assignment(ASSIGNMENT)
            return
        except MissingEntry:
            pass
    grading.nbgrader(["generate_assignment", ASSIGNMENT, "--force"], root)


def grade_class(root, workers=None, quiet=False, only=None):
    """Grade every submission under root/submitted (or just the students in `only`).

    Returns (statuses, results, autograde seconds) for the whole class: students
    not in `only` keep what the gradebook holds for them.
    """
    root = Path(root).resolve()
    ensure_assignment(root)
    release_nb = nbs.read(root / "release" / ASSIGNMENT / NOTEBOOK)
    staging = root / "build" / "class" / "submitted"
    statuses = prepare(root, staging, release_nb)
    if only is not None:
        unknown = sorted(set(only) - set(statuses))
        if unknown:
            raise SystemExit(f"no submission under submitted/ for: {', '.join(unknown)}")
    run = [s for s in statuses if only is None or s in only]
    forget(root, run)
    to_grade = [s for s in run if statuses[s].graded]
    seconds = 0.0
    if to_grade:
        stop = threading.Event()
        ticker = None if quiet else threading.Thread(target=_progress, args=(root, to_grade, stop), daemon=True)
        if ticker:
            ticker.start()
        try:
            seconds = grading.autograde(root, to_grade, workers, submitted_dir=staging, check=False)
        finally:
            stop.set()
            if ticker:
                ticker.join()
    in_gradebook = submitted_students(root)
    graded = [s for s, st in statuses.items() if st.graded and s in in_gradebook
              and (root / "autograded" / s / ASSIGNMENT / NOTEBOOK).exists()]
    results = grading.read_results(root, graded)
    for student, status in statuses.items():
        if status.graded and student not in results:
            status.graded = False
            status.reason = ("autograding failed (see the nbgrader log above)" if student in to_grade
                             else "not graded yet")
    if results:
        grading.nbgrader(["generate_feedback", ASSIGNMENT, "--force"], root, check=False)
    write_csv(root / f"grades_{ASSIGNMENT}.csv", statuses, results)
    return statuses, results, seconds


def submitted_students(root):
    """The students with a submission of the assignment in the gradebook (one query for the class)."""
    from nbgrader.api import Gradebook

    with Gradebook(grading.gradebook_url(root)) as gb:
        return {submission.student.id for submission in gb.find_assignment(ASSIGNMENT).submissions}


def write_csv(path, statuses, results):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "status", *grading.PARTS, "autograded", "autograded_max", "reason", "notes"])
        for student, status in sorted(statuses.items()):
            r, notes = results.get(student), "; ".join(status.notes)
            if r is None:
                writer.writerow([student, "not graded", *[""] * len(grading.PARTS), "", "", status.reason, notes])
            else:
                reason = "; ".join(f"{k}: {v}" for k, v in r.failures.items())
                writer.writerow([student, "graded", *[f"{r.parts[p][0]:g}" for p in grading.PARTS],
                                 f"{r.total:g}", f"{r.maximum:g}", reason, notes])
    return path


def summary(statuses, results):
    head = f"{'student':<26}{'status':<12}" + "".join(f"{p:>6}" for p in grading.PARTS) + f"{'auto':>8}  reason"
    lines = [head, "-" * len(head)]
    for student, status in sorted(statuses.items()):
        r = results.get(student)
        if r is None:
            lines.append(f"{student:<26}{'not graded':<12}" + "".join(f"{'-':>6}" for _ in grading.PARTS)
                         + f"{'-':>8}  {status.reason}")
            continue
        first = next(iter(r.failures.items()), None)
        reason = f"{first[0]}: {first[1]}" if first else ""
        if status.notes:
            reason = (reason + " | " if reason else "") + "; ".join(status.notes)
        lines.append(f"{student:<26}{'graded':<12}" + "".join(f"{r.parts[p][0]:>6g}" for p in grading.PARTS)
                     + f"{r.total:>5g}/{r.maximum:<3g} {reason[:120]}")
    return "\n".join(lines)


def main(root, workers=None, only=None):
    submitted = Path(root) / "submitted"
    if not submitted.is_dir() or not any(p.is_dir() for p in submitted.iterdir()):
        print(f"nothing to grade: put each submission in {submitted}/<student>/{ASSIGNMENT}/{NOTEBOOK} "
              f"(nbgrader's layout, what `nbgrader collect` makes)", file=sys.stderr)
        return 2
    which = "every submission" if not only else ", ".join(only)
    print(f"grading {which} under {submitted} ...", flush=True)
    statuses, results, seconds = grade_class(root, workers, only=only)
    print(summary(statuses, results))
    n_bad = sum(not s.graded for s in statuses.values())
    print(f"\n{len(results)} graded, {n_bad} not graded, autograding took {seconds:.1f} s "
          f"with {workers or os.cpu_count()} workers; grades: grades_{ASSIGNMENT}.csv, feedback: feedback/")
    return 0 if n_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
