"""Grade a class on a Dask cluster: `grade-class --scheduler tcp://HOST:8786` (docs/dask.md).

Why Dask: a class too big for one machine needs something that hands out work, notices dead
workers and reschedules their tasks, and brings results back. `dask.distributed` does all three
with plain processes (`dask scheduler`, `dask worker`), and the same workers can come from
Slurm/PBS (dask-jobqueue) or Kubernetes (dask-kubernetes).

One task per student:

* the CLIENT (`grade_on_cluster`) reads `submitted/<student>/week13/` and sends its files as
  bytes; file-level problems (no notebook, several notebooks, a file that is not a notebook) are
  settled on the client and never sent;
* a WORKER (`grade_on_worker`) writes them into its own scratch course folder (no shared file
  system: the folder is laid out from the worker's own clone of this repository), runs the very
  command local grading runs, `nbgrader autograde week13 --student S --force`, against the shared
  gradebook ($WEEK13_DB_URL, e.g. PostgreSQL), then `nbgrader generate_feedback`, and returns
  the autograded notebook and the feedback as bytes;
* the client writes them into its own `autograded/` and `feedback/`.

A worker that dies mid-task loses nothing: the scheduler gives its task to another worker, and
`autograde --force` updates the student's one submission in the gradebook. A student whose
grading kills every worker it lands on ends, after `distributed.scheduler.allowed-failures`
deaths, as `KilledWorker`: reported not graded with that reason, its partial gradebook entry
removed; the other students are graded.

When a worker dies, the scheduler counts a death against every task the worker holds, queued or
running. So the client sends at most one task per worker thread connected at the time (Dask
assigns these per-student tasks to workers at once; they are too few to be queued on the
scheduler, so WORKER_SATURATION alone would not keep a second one off a busy worker): a worker
holds only the student it grades, and a death counts against that student alone. Only a student
rescheduled onto a busy worker right after a death waits behind another one; with
`DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=2` (`make dask-scheduler`; Dask's default is 3)
that student needs two more deaths to be lost.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Callable

from . import ASSIGNMENT, NOTEBOOK
from . import grading, safefiles
from .course import copy_course
from .gradebook import gradebook_url
from .notes import NOTES_SUFFIX, read_notes
from .roster import Status, check_submissions, ensure_assignment, forget, write_csv

WORKER_DIR_VARIABLE = "WEEK13_WORKER_DIR"
DEFAULT_TASK_TIMEOUT_S = 1200  # > the notebook limit (600 s) + nbgrader start, feedback and slack
LOG_TAIL = 3000
SEND_FILES_LIMIT = 200  # files of one submission or one graded folder that cross machines
SEND_BYTES_LIMIT = 256 * 1024 ** 2

_course_lock = threading.Lock()
_course: Path | None = None


# --------------------------------------------------------------------------- worker side

def _worker_identity() -> tuple[str, str]:
    """(name, address) of the Dask worker running this task; hostname:pid outside a worker."""
    here = f"{socket.gethostname()}:{os.getpid()}"
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return here, here
    name = worker.name if isinstance(worker.name, str) and worker.name != worker.address else here
    return name, worker.address


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_course() -> Path:
    """This worker process's scratch course folder, laid out once per process.

    Under $WEEK13_WORKER_DIR, else the Dask worker's local directory, else the temp folder; named
    by pid, so that several worker processes on one machine never share a course. Folders left by
    dead processes (a worker restarted by its nanny) are removed.
    """
    global _course
    with _course_lock:
        if _course is not None and (_course / "nbgrader_config.py").is_file():
            return _course
        base = os.environ.get(WORKER_DIR_VARIABLE)
        if not base:
            try:
                from distributed import get_worker

                base = get_worker().local_directory
            except (ImportError, ValueError):
                base = tempfile.gettempdir()
        base = Path(base)
        base.mkdir(parents=True, exist_ok=True)
        for old in base.glob("week13-course-*"):
            suffix = old.name.rsplit("-", 1)[-1]
            if suffix.isdigit() and int(suffix) != os.getpid() and not _pid_alive(int(suffix)):
                shutil.rmtree(old, ignore_errors=True)
        # the course of the worker's clone, its release included (a worker never regenerates it)
        _course = course = copy_course(base / f"week13-course-{os.getpid()}", release=True)
        return course


def _nbgrader_command(args: list[str]) -> list[str]:
    """grading.NBGRADER, made to die with this worker: on Linux the nbgrader process asks for
    SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), so a killed worker leaves no orphan
    grader that would go on writing into the gradebook while another worker regrades the student."""
    command = list(grading.NBGRADER)
    if sys.platform.startswith("linux") and len(command) >= 3 and command[1] == "-c":
        guard = ("import ctypes, os, signal, sys\n"
                 "ctypes.CDLL(None).prctl(1, signal.SIGKILL)\n"  # 1 = PR_SET_PDEATHSIG
                 f"if os.getppid() != {os.getpid()}: sys.exit(137)\n")  # the parent died before prctl
        command[2] = guard + command[2]
    return [*command, *args]


def _collect(folder: Path) -> dict[str, bytes]:
    """The regular files under `folder` (links and other entries are never followed or sent)."""
    return safefiles.collect(folder, max_files=SEND_FILES_LIMIT, max_bytes=SEND_BYTES_LIMIT).files


def grade_on_worker(*, student: str, files: dict[str, bytes], db_url: str | None = None,
                    timeout_s: int = DEFAULT_TASK_TIMEOUT_S, cell_timeout: float | None = None) -> dict:
    """Grade one student on this (Dask worker) machine and return what the client must keep.

    Runs `nbgrader autograde week13 --student S --force` then `nbgrader generate_feedback` in
    this process's own course folder (`worker_course()`), exactly as local grading runs them, so
    the same pipeline, kernel guard and time limits apply. The gradebook is `db_url` (else this
    machine's $WEEK13_DB_URL); it goes to nbgrader through the environment, not the command line,
    so the password never shows in `ps`. `cell_timeout` overrides the per-cell limit (seconds).

    Returns {"student", "worker", "address", "host", "ok", "reason", "log_tail", "autograded",
    "feedback", "seconds"}; "autograded"/"feedback" map paths relative to
    `autograded/<student>/week13/` and `feedback/<student>/week13/` to bytes.
    """
    start = time.perf_counter()
    name, address = _worker_identity()
    course = worker_course()
    for folder in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course / folder / student, ignore_errors=True)
    _write(course / "submitted" / student / ASSIGNMENT, files)

    env = grading.nbgrader_env(db_url=db_url or os.environ.get(grading.DB_URL_VARIABLE))
    logs, ok, reason = [], True, ""
    deadline = time.monotonic() + timeout_s
    for args in (grading.autograde_args(student, cell_timeout),
                 ["generate_feedback", ASSIGNMENT, "--student", student, "--force"]):
        try:
            proc = subprocess.run(_nbgrader_command(args), cwd=course, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            logs.append(out)
            ok, reason = False, f"nbgrader {args[0]} ran longer than the task limit ({timeout_s} s)"
            break
        logs.append(proc.stdout)
        if args[0] == "autograde" and (proc.returncode != 0
                                       or not (course / "autograded" / student / ASSIGNMENT / NOTEBOOK).is_file()):
            ok, reason = False, f"nbgrader autograde failed (exit {proc.returncode}; see log_tail)"
            break
        if args[0] == "generate_feedback" and proc.returncode != 0:
            reason = f"nbgrader generate_feedback failed (exit {proc.returncode}); the grade stands"
    return {
        "student": student, "worker": name, "address": address,
        "host": f"{socket.gethostname()}:{os.getpid()}", "ok": ok, "reason": reason,
        "log_tail": "\n".join(logs)[-LOG_TAIL:],
        "autograded": _collect(course / "autograded" / student / ASSIGNMENT),
        "feedback": _collect(course / "feedback" / student / ASSIGNMENT),
        "seconds": time.perf_counter() - start,
    }


# --------------------------------------------------------------------------- client side

def submission_files(root: Path, student: str) -> dict[str, bytes]:
    """The regular files of the student's submission folder, as they are (links, pipes and devices
    are never followed or sent): the worker's own autograde pipeline finds a renamed notebook and
    notes the extra files exactly as local grading does."""
    folder = Path(root) / "submitted" / student / ASSIGNMENT
    return safefiles.collect(folder, max_files=SEND_FILES_LIMIT, max_bytes=SEND_BYTES_LIMIT,
                             skip=lambda rel: ".ipynb_checkpoints" in rel.split("/")).files


def _write(folder: Path, files: dict[str, bytes]) -> None:
    """`files` ({relative path: bytes}) as the whole content of `folder`; a path that would leave
    the folder is refused and nothing is written through a link (files cross machines: never
    trust their names)."""
    shutil.rmtree(folder, ignore_errors=True)
    safefiles.write_tree(folder, files)


def _failed(student: str, reason: str, **extra) -> dict:
    return {"student": student, "worker": "", "address": "", "host": "", "ok": False, "reason": reason,
            "log_tail": "", "autograded": {}, "feedback": {}, "seconds": 0.0, "sent": False, "note": "", **extra}


def grade_on_cluster(*, root: Path, students: list[str], scheduler: str, db_url: str | None = None,
                     on_done: Callable[[str, dict], None] | None = None,
                     timeout_s: int = DEFAULT_TASK_TIMEOUT_S, window: int | None = None,
                     connect_timeout_s: int = 60, cell_timeout: float | None = None) -> dict[str, dict]:
    """Grade `students` of the course at `root` on the Dask cluster at `scheduler`; runs on the client.

    One task per student (pure=False: a regrade is a new task). At most `window` tasks are in
    the cluster at once (default: the worker threads connected when a task is sent, at least one),
    so a worker never holds a queued innocent student that its death would count against, and a
    class of 10,000 never sits in the scheduler's memory as 10,000 notebooks. Results are written to root/autograded/ and
    root/feedback/ as they arrive, and `on_done(student, outcome)` is called for each student.
    `db_url` defaults to the client's gradebook URL ($WEEK13_DB_URL): the workers must reach it,
    so it must not be a SQLite file.

    Returns {student: outcome}; outcome is grade_on_worker's dict (bytes dropped) plus "sent"
    (False: refused on the client) and "note" (e.g. a renamed notebook).
    """
    from distributed import Client
    from distributed.scheduler import KilledWorker


    root = Path(root).resolve()
    db_url = gradebook_url(root, db_url)
    on_this_machine = any(h in scheduler for h in ("127.0.0.1", "localhost", "[::1]"))
    if db_url.startswith("sqlite") and not on_this_machine:  # on one machine a SQLite file is shared
        raise ValueError("grading on a cluster needs a gradebook every worker reaches (e.g. PostgreSQL, "
                         "$WEEK13_DB_URL or --db-url), not a SQLite file")
    outcomes: dict[str, dict] = {}
    payloads: dict[str, dict[str, bytes]] = {}
    checked = check_submissions(root)  # the same rule as local grading: unreadable files are not sent
    for student in students:
        if not checked[student].graded:
            outcomes[student] = _failed(student, checked[student].reason)
        else:
            payloads[student] = submission_files(root, student)
    forget(db_url, root, list(students))
    for student in students:
        if student in outcomes and on_done:
            on_done(student, outcomes[student])

    with Client(scheduler, timeout=connect_timeout_s) as client:
        def submit(student):
            return client.submit(grade_on_worker, student=student, files=payloads[student],
                                 db_url=db_url, timeout_s=timeout_s, cell_timeout=cell_timeout, pure=False,
                                 key=f"grade-{ASSIGNMENT}-{student}-{time.time_ns()}")

        for student, future in bounded_as_completed(client, list(payloads), submit, window):
            try:
                outcome = future.result()
            except KilledWorker as e:
                outcome = _failed(student, "it killed every worker that graded it: KilledWorker after "
                                           f"{_allowed_failures(client)} retries ({str(e)[:120]})", sent=True)
            except Exception as e:  # the task itself raised
                outcome = _failed(student, f"the grading task failed: {type(e).__name__}: {str(e)[:120]}", sent=True)
            future.release()
            outcome.setdefault("sent", True)
            if outcome["ok"]:
                _write(root / "autograded" / student / ASSIGNMENT, outcome["autograded"])
                _write(root / "feedback" / student / ASSIGNMENT, outcome["feedback"])
            else:  # a half-written gradebook entry (a worker died mid-grade) must not stand as a score
                forget(db_url, root, [student])
            outcome["files_back"] = {"autograded": sorted(outcome.pop("autograded")),
                                     "feedback": sorted(outcome.pop("feedback"))}
            outcomes[student] = outcome
            if on_done:
                on_done(student, outcome)
    return {s: outcomes[s] for s in students}


def bounded_as_completed(client, items: list, submit: Callable, window: int | None = None):
    """Yield (item, future) as each future finishes, with at most `window` futures in the cluster
    (default: the worker threads connected at each send, at least one). The next item is sent
    only once one has finished, so a worker never holds an innocent item queued behind
    the one it runs: a death counts against every task a worker holds."""
    from distributed import as_completed

    pending, by_key, queue = list(items), {}, as_completed()

    def fill():
        limit = window if window is not None else max(1, sum(client.nthreads().values()))
        while pending and len(by_key) < limit:
            item = pending.pop(0)
            future = submit(item)
            by_key[future.key] = item
            queue.add(future)

    fill()
    for future in queue:
        item = by_key.pop(future.key)
        fill()  # a finished task is no longer on a worker's hands: send the next one first
        yield item, future


def _allowed_failures(client) -> str:
    try:
        return str(client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures))
    except Exception:
        return "allowed-failures"


def grade_class_on_cluster(root: Path, scheduler: str, *, only: list[str] | None = None, quiet: bool = False,
                           db_url: str | None = None, cell_timeout: float | None = None,
                           ) -> tuple[dict[str, Status], dict[str, grading.Result], float]:
    """`grade-class --scheduler`: the same (statuses, results, seconds) as classgrade.grade_class,
    graded on the cluster; each Status also says which worker graded the student."""
    root = Path(root).resolve()
    url = gradebook_url(root, db_url)
    ensure_assignment(root, url)
    students = sorted(p.name for p in (root / "submitted").iterdir() if (p / ASSIGNMENT).is_dir())
    if only is not None:
        unknown = sorted(set(only) - set(students))
        if unknown:
            raise SystemExit(f"no submission under submitted/ for: {', '.join(unknown)}")
        students = [s for s in students if s in only]
    done = []

    def progress(student, outcome):
        done.append(student)
        if not quiet:
            print(f"\r  graded {len(done)}/{len(students)}", end="\n" if len(done) == len(students) else "",
                  flush=True)

    start = time.perf_counter()
    outcomes = grade_on_cluster(root=root, students=students, scheduler=scheduler, db_url=url, on_done=progress,
                                cell_timeout=cell_timeout)
    seconds = time.perf_counter() - start
    statuses, results = class_statuses(root, outcomes, db_url=url)
    write_csv(root / f"grades_{ASSIGNMENT}.csv", statuses, results)
    return statuses, results, seconds


def class_statuses(root: Path, outcomes: dict[str, dict], *, db_url: str | None = None,
                   ) -> tuple[dict[str, Status], dict[str, grading.Result]]:
    """(statuses, results) in classgrade's types from grade_on_cluster's outcomes: results read back
    from the gradebook, notes from the grading notes the worker sent back, and the worker's name."""
    url = gradebook_url(root, db_url)
    results = grading.read_results(root, [s for s, o in outcomes.items() if o["ok"]], db_url=url)
    statuses = {}
    for student, outcome in outcomes.items():
        status = statuses[student] = Status(student, graded=student in results)
        notes = read_notes(Path(root) / "autograded" / student / ASSIGNMENT / (NOTEBOOK.removesuffix(".ipynb") + NOTES_SUFFIX))
        status.notes = [*notes.get("notes", []), *notes.get("review", [])]
        status.mode = notes.get("mode", "")
        status.limits = notes.get("limits", {})
        status.worker = outcome["worker"]
        if outcome["ok"] and outcome.get("reason"):  # graded, but generate_feedback failed
            status.feedback_failed = True
            status.notes.append(outcome["reason"])
        if not status.graded:
            status.reason = outcome["reason"] or "not graded"
    return statuses, results
