"""Grade submissions with real nbgrader in a scratch course, and tabulate the result.

`grade_samples(samples, workdir)`:
1. lays out a scratch course in `workdir` (config, source, hidden tests),
2. runs `nbgrader generate_assignment` there,
3. writes each sample submission (release notebook + the sample's answers)
   to `submitted/<student>/week13/`,
4. runs `nbgrader autograde`, split over parallel worker processes that
   share the gradebook (each kernel on one thread),
5. reads every grade back from the gradebook.
"""

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import ASSIGNMENT, NOTEBOOK, REPO
from . import notebooks as nbs

PARTS = ("cell1", "cell2", "cell3", "cell4", "cell5", "cell6", "ex1", "ex2", "ex3", "ex4")


@dataclass
class Sample:
    """A crafted submission: the reference answers with `edits` applied (or the untouched release)."""

    student: str
    about: str
    edits: dict = field(default_factory=dict)
    loses: tuple = ()  # parts that must lose autograded points; every other part keeps all of them
    fails: tuple = ()  # grade ids of the test cells that must fail (a mistake caught for the right reason)
    answered: bool = True  # False: the release notebook exactly as students receive it
    transform: object = None  # optional: notebook -> notebook, after the edits (cells moved, tags, ...)
    raw: str = None  # optional: the file's text instead of a notebook (e.g. invalid JSON)
    filename: str = NOTEBOOK  # the name the student saved it under (None: no notebook at all)
    status: str = "graded"  # "not graded": the class grader must refuse it with a reason

    def notebook(self, release_nb, source_nb):
        nb = nbs.fill_solutions(release_nb, source_nb) if self.answered else release_nb
        nb = nbs.apply_edits(nb, self.edits)
        return self.transform(nb) if self.transform else nb

    def write(self, folder, release_nb, source_nb):
        folder = Path(folder) / self.student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        if self.filename is None:  # a submission without the notebook
            (folder / "notes.txt").write_text("I could not find my notebook\n")
        elif self.raw is not None:
            (folder / self.filename).write_text(self.raw)
        else:
            nbs.write(self.notebook(release_nb, source_nb), folder / self.filename)


# The nbgrader command line (`nbgrader ARGS`), a second faster per process: nbgrader's imports
# pull in `rfc3987_syntax` (jsonschema's optional format checks, which nbgrader never uses),
# about 1 s to import and 0.2 s at exit (benchmarks/README.md). Marked absent, jsonschema skips it.
NBGRADER = [sys.executable, "-c", "import sys; sys.modules.setdefault('rfc3987_syntax', None); "
            "from nbgrader.apps.nbgraderapp import main; sys.exit(main())"]

from .gradebook import DB_URL_VARIABLE, gradebook_url  # noqa: E402,F401  (one rule for the URL)


CELL_TIMEOUT_VARIABLE = "WEEK13_CELL_TIMEOUT"  # nbgrader_config.py reads it (the per-cell limit, seconds)


def nbgrader_env(threads=1, db_url=None, cell_timeout=None):
    """The environment of an nbgrader child process: this Python's bin/ first, `threads` kernel
    threads, and the gradebook URL only when given: a scratch course never inherits an
    instructor's $WEEK13_DB_URL (its gradebook.db is its own)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["OMP_NUM_THREADS"] = str(threads)
    env.pop(DB_URL_VARIABLE, None)
    if db_url:
        env[DB_URL_VARIABLE] = db_url
    if cell_timeout:
        env[CELL_TIMEOUT_VARIABLE] = str(int(cell_timeout))
    return env


def nbgrader(args, cwd, check=True, db_url=None):
    """Run an nbgrader command in course folder `cwd`; return the completed process."""
    proc = subprocess.run([*NBGRADER, *args], cwd=cwd, env=nbgrader_env(db_url=db_url),
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_course(workdir, db_url=None):
    """A fresh scratch course in `workdir`, with the release generated (into `db_url`, default the
    course's own gradebook.db: never an instructor's $WEEK13_DB_URL)."""
    workdir = Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", workdir)
    shutil.copytree(REPO / "source", workdir / "source")
    for folder in ("autograder", "coursetools"):
        shutil.copytree(REPO / folder, workdir / folder, ignore=shutil.ignore_patterns("__pycache__"))
    nbgrader(["generate_assignment", ASSIGNMENT, "--force"], workdir, db_url=db_url)
    return workdir


def submit(workdir, samples):
    release_nb = nbs.read(workdir / "release" / ASSIGNMENT / NOTEBOOK)
    source_nb = nbs.read(workdir / "source" / ASSIGNMENT / NOTEBOOK)
    for sample in samples:
        sample.write(workdir / "submitted", release_nb, source_nb)


def autograde(workdir, students, workers=None, check=True, db_url=None, cell_timeout=None, logs=None, on_done=None):
    """Autograde `students` with `workers` nbgrader processes at a time, sharing the gradebook.

    Work is handed out one student at a time to whichever worker is free (a slow or hanging
    submission holds back no one else), and each `nbgrader autograde --student` writes its log
    to a file (`logs`/<student>.log), so no pipe can fill up and block a worker. `cell_timeout`
    overrides the per-cell limit of nbgrader_config.py; `on_done(student, returncode)` is
    called as each finishes. Returns the wall seconds.
    """
    import queue
    import threading

    workers = max(1, min(workers or os.cpu_count() or 1, len(students) or 1))
    logs = Path(logs or Path(workdir) / "build" / "autograde-logs")
    logs.mkdir(parents=True, exist_ok=True)
    todo = queue.Queue()
    for student in students:
        todo.put(student)
    failed = []

    def work():
        while True:
            try:
                student = todo.get_nowait()
            except queue.Empty:
                return
            log = logs / f"{student}.log"
            with open(log, "w") as out:
                code = subprocess.run([*NBGRADER, "autograde", ASSIGNMENT, "--force", "--student", student],
                                      cwd=workdir, env=nbgrader_env(db_url=db_url, cell_timeout=cell_timeout), stdout=out,
                                      stderr=subprocess.STDOUT).returncode
            if code != 0:
                failed.append((student, log))
            if on_done:
                on_done(student, code)

    start = time.perf_counter()
    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for student, log in failed:
        if check:
            raise RuntimeError(f"nbgrader autograde --student {student} failed:\n{log.read_text()[-3000:]}")
    return elapsed


@dataclass
class Result:
    student: str
    parts: dict  # part -> (auto score, auto max)
    failures: dict  # grade id -> first line of the error shown to the student

    @property
    def total(self):
        return sum(score for score, _ in self.parts.values())

    @property
    def maximum(self):
        return sum(m for _, m in self.parts.values())


def read_results(workdir, students, db_url=None):
    """Autograded points per part, from the gradebook, and each failing test's message."""
    from nbgrader.api import Gradebook

    results = {}
    with Gradebook(db_url or gradebook_url(workdir)) as gb:
        for student in students:
            nb = gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, student)
            parts = {p: [0.0, 0.0] for p in PARTS}
            for grade in nb.grades:
                if grade.cell.cell_type != "code":  # the written answer is graded by hand
                    continue
                part = grade.name.split("_", 1)[0]
                parts[part][0] += grade.auto_score or 0.0
                parts[part][1] += grade.max_score
            results[student] = Result(student, {p: tuple(v) for p, v in parts.items()},
                                      failing_messages(workdir, student))
    return results


def failing_messages(workdir, student):
    path = Path(workdir) / "autograded" / student / ASSIGNMENT / NOTEBOOK
    if not path.exists():
        return {"(notebook)": "not autograded"}
    out = {}
    for cell in nbs.read(path).cells:
        gid = nbs.grade_id(cell)
        if not gid or cell.cell_type != "code" or not cell.metadata["nbgrader"].get("grade"):
            continue
        for output in cell.outputs:
            if output.output_type == "error":
                out[gid] = f"{output.ename}: {output.evalue}".strip()
                break
    return out


def grade_samples(samples, workdir, workers=None):
    workdir = make_course(workdir)
    submit(workdir, samples)
    seconds = autograde(workdir, [s.student for s in samples], workers)
    return read_results(workdir, [s.student for s in samples]), seconds


def table(samples, results):
    """A plain-text grade table: one row per submission, autograded points per part."""
    head = f"{'submission':<28}" + "".join(f"{p:>7}" for p in PARTS) + f"{'auto':>9}  first failing check"
    lines = [head, "-" * len(head)]
    for sample in samples:
        r = results[sample.student]
        row = f"{sample.student:<28}" + "".join(f"{r.parts[p][0]:>7g}" for p in PARTS)
        first = next(iter(r.failures.items()), None)
        reason = f"{first[0]}: {first[1]}" if first else ""
        lines.append(row + f"{r.total:>5g}/{r.maximum:<3g}  {reason[:110]}")
    return "\n".join(lines)


def problems(sample, result):
    """How `result` contradicts what `sample` expects; [] when the grade is right."""
    if not sample.answered:
        return [] if result.total == 0 else [f"expected 0 points, got {result.total:g}"]
    out = []
    if sample.fails and set(result.failures) != set(sample.fails):
        out.append(f"expected exactly {sorted(sample.fails)} to fail, got {sorted(result.failures)}")
    for part in PARTS:
        score, maximum = result.parts[part]
        if part in sample.loses and score >= maximum:
            out.append(f"{part}: expected to lose points, got full marks {score:g}/{maximum:g}")
        elif part not in sample.loses and score != maximum:
            out.append(f"{part}: expected full marks, got {score:g}/{maximum:g}")
    return out


def expected_text(sample):
    if not sample.answered:
        return "0"
    return "full" if not sample.loses else "loses " + "+".join(sample.loses)


def got_text(result):
    lost = [f"{p} {s:g}/{m:g}" for p, (s, m) in result.parts.items() if s < m]
    return f"{result.total:g}/{result.maximum:g}" + (f" ({', '.join(lost)})" if lost and len(lost) <= 2 else "")


def expectation_table(samples, results):
    """Submission, expected, got, verdict and the first failing check, one row each."""
    rows = [("submission", "expected", "got", "ok", "first failing check")]
    for sample in samples:
        r = results[sample.student]
        first = next(iter(r.failures.items()), None)
        rows.append((sample.student, expected_text(sample), got_text(r),
                     "yes" if not problems(sample, r) else "NO",
                     f"{first[0]}: {first[1]}"[:100] if first else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4] for row in rows)
