"""Run real nbgrader on a course and read its grades back: the runner the class grader, the
Dask workers, the tests and the benchmark share.

- `nbgrader(args, cwd)`: one nbgrader command in a course folder;
- `autograde(course, students, workers)`: `nbgrader autograde --student` processes, one student at
  a time to whichever is free, sharing the gradebook;
- `read_results(course, students)`: autograded points per part and each failing test's message.

Settings reach the nbgrader child as traitlets flags (`--RobustExecute.timeout=N`) and the
gradebook URL in the child's environment; this process's own environment is never changed.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import ASSIGNMENT, NOTEBOOK, RELEASE_NB, tables
from . import notebooks as nbs

PARTS = ("cell1", "cell2", "cell3", "cell4", "cell5", "cell6", "ex1", "ex2", "ex3", "ex4")


# The nbgrader command line (`nbgrader ARGS`), a second faster per process: nbgrader's imports
# pull in `rfc3987_syntax` (jsonschema's optional format checks, which nbgrader never uses),
# about 1 s to import and 0.2 s at exit (benchmarks/README.md). Marked absent, jsonschema skips it.
NBGRADER = [sys.executable, "-c", "import sys; sys.modules.setdefault('rfc3987_syntax', None); "
            "from nbgrader.apps.nbgraderapp import main; sys.exit(main())"]

from .gradebook import DB_URL_VARIABLE, gradebook_url  # noqa: E402,F401  (one rule for the URL)


def nbgrader_env(db_url: str | None = None) -> dict[str, str]:
    """The environment of an nbgrader child process: this Python's bin/ first, and the gradebook
    URL only when given: a scratch course never inherits an instructor's $WEEK13_DB_URL (its
    gradebook.db is its own). The kernels' own settings (threads, sandbox) are traits
    (nbgrader_config.py), not environment."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop(DB_URL_VARIABLE, None)
    if db_url:
        env[DB_URL_VARIABLE] = db_url
    return env


def nbgrader(args: list[str], cwd: Path, check: bool = True, db_url: str | None = None) -> subprocess.CompletedProcess:
    """Run an nbgrader command in course folder `cwd`; return the completed process."""
    proc = subprocess.run([*NBGRADER, *args], cwd=cwd, env=nbgrader_env(db_url=db_url),
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def cell_timeout_flags(cell_timeout: float | None) -> list[str]:
    """The traitlets flag that overrides RobustExecute.timeout, the per-cell limit (seconds) of
    nbgrader_config.py, for one nbgrader command; [] keeps the configured limit."""
    return [f"--RobustExecute.timeout={int(cell_timeout)}"] if cell_timeout else []


# Trusted code only (the course's own sample submissions): where no sandbox can start, its kernels
# run unsandboxed instead of being refused (the flag form of nbgrader_config.py's switch).
TRUSTED_FLAG = "--SandboxedKernelManager.allow_unsandboxed=True"


def autograde_args(student: str, cell_timeout: float | None = None, trusted: bool = False) -> list[str]:
    """The arguments of `nbgrader autograde` for one student (local grading and a Dask worker run
    the same), optionally with another per-cell limit; `trusted`: TRUSTED_FLAG."""
    return ["autograde", ASSIGNMENT, "--force", "--student", student, *cell_timeout_flags(cell_timeout),
            *([TRUSTED_FLAG] if trusted else [])]


def autograde_command(student: str, cell_timeout: float | None = None, trusted: bool = False) -> list[str]:
    """`nbgrader autograde` of one student, as a command line."""
    return [*NBGRADER, *autograde_args(student, cell_timeout, trusted)]


def autograde(workdir: Path, students: Iterable[str], workers: int | None = None, check: bool = True,
              db_url: str | None = None, cell_timeout: int | None = None, logs: Path | None = None,
              on_done: Callable[[str, int], None] | None = None, trusted: bool = False) -> float:
    """Autograde `students` with `workers` nbgrader processes at a time, sharing the gradebook.

    Work is handed out one student at a time to whichever worker is free (a slow or hanging
    submission holds back no one else), and each `nbgrader autograde --student` writes its log
    to a file (`logs`/<student>.log), so no pipe can fill up and block a worker. `cell_timeout`
    overrides the per-cell limit of nbgrader_config.py; `on_done(student, returncode)` is
    called as each finishes; `trusted` (the course's own samples only) grades unsandboxed where no
    sandbox can start. Returns the wall seconds.
    """
    import queue
    import threading

    students = list(students)
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
                code = subprocess.run(autograde_command(student, cell_timeout, trusted),
                                      cwd=workdir, env=nbgrader_env(db_url=db_url), stdout=out,
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


def autograded_maximum(release: Path = RELEASE_NB) -> float:
    """The autograded points of the release, from its nbgrader metadata: the points of every graded
    code cell (the written answer is graded by hand)."""
    return sum(cell.metadata["nbgrader"].get("points", 0) for cell in nbs.read(release).cells
               if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"))


@dataclass
class Result:
    student: str
    parts: dict  # part -> (auto score, auto max)
    failures: dict  # grade id -> first line of the error shown to the student
    late: object = None  # coursetools.late.Late: seconds late, raw score (hand grades included), penalty

    @property
    def total(self):
        return sum(score for score, _ in self.parts.values())

    @property
    def maximum(self):
        return sum(m for _, m in self.parts.values())

    def score_cells(self) -> tuple[str, ...]:
        """The autograded points of each part and "total/maximum", as the grade tables show them."""
        return (*(tables.score(self.parts[p][0]) for p in PARTS), f"{self.total:g}/{self.maximum:g}")

    def first_failure(self) -> str:
        """"grade id: message" of the first failing test cell, "" when none failed."""
        first = next(iter(self.failures.items()), None)
        return f"{first[0]}: {first[1]}" if first else ""


def read_results(workdir: Path, students: Iterable[str], db_url: str | None = None) -> dict[str, Result]:
    """Autograded points per part, from the gradebook, and each failing test's message; the late
    penalty recomputed first from the scores as they are now (coursetools/late.py, with the course's
    late-submission settings), so `late` says what the gradebook, the feedback and the export say."""
    from nbgrader.api import Gradebook

    from . import late

    students = list(students)
    results = {}
    with Gradebook(gradebook_url(workdir, db_url)) as gb:  # one rule: a bare postgresql:// means psycopg2
        lates = late.refresh(gb, late.course_config(workdir), ASSIGNMENT, students)
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
                                      failing_messages(workdir, student), lates.get(student))
    return results


def failing_messages(workdir: Path, student: str) -> dict[str, str]:
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


def grade_table(results: Iterable[Result]) -> str:
    """One row per graded notebook: autograded points per part, the total, the first failing check."""
    rows = [("submission", *PARTS, "auto", "first failing check")]
    for r in results:
        rows.append((r.student, *r.score_cells(), r.first_failure()[:110]))
    return tables.render(rows, right=range(1, len(PARTS) + 2))
