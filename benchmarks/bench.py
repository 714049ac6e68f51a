"""Benchmark of running and grading the course, on the machine it runs on (`make bench`,
`python -m benchmarks`).

Not a test: it measures, in one run,

- floor            a fresh kernel that only runs `import torch` (start and shutdown included),
- nbgrader_start   `nbgrader --version`: what every nbgrader process pays before it does anything,
- execute_source   the annotated source notebook, hidden checks included (installed with the course),
- execute_worked   the worked notebook (generated from the source, as `make notebooks` does),
- autograde_one    one `nbgrader autograde` process grading one submission (the reference answers),
- batch_serial     N copies of that submission graded by one nbgrader process,
- batch_parallel   the same N copies split over one nbgrader process per core,
- feedback         `nbgrader generate_feedback` for the N copies,
- mixed_serial     a realistic mixed batch (correct, wrong, warning, hanging and crashing
                   submissions), one student at a time,
- mixed_parallel   the same batch handed out one student at a time to one grader per core,

prints each figure with its ratio to the floor, and the target ratios (worked/floor,
autograde_one/execute_source, serial/parallel). Notebooks run through
`coursetools.notebooks.execute`, the code path of `make notebooks`, so the floor and the
notebooks are timed alike; every kernel runs on one thread (OMP_NUM_THREADS=1), as grading
kernels do. The results go to benchmarks/results/<UTC time>.json and latest.json
(benchmarks/README.md says how to compare two runs).
"""

import contextlib
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, SOURCE_NB, grading, tables
from coursetools import notebooks as nbs
from coursetools.course import make_course
from sample_submissions import harness

SCHEMA = 1
TARGETS = {  # name: (numerator, denominator, comparison, target)
    "worked_over_floor": ("execute_worked", "floor", "<=", 5.0),  # benchmarks/README.md (4 before issue 10)
    "autograde_one_over_execute_source": ("autograde_one", "execute_source", "<=", 1.3),
    "parallel_speedup": ("batch_serial", "batch_parallel", ">=", 1.7),
}
FIGURES = ("floor", "nbgrader_start", "execute_source", "execute_worked", "autograde_one", "batch_serial", "batch_parallel",
           "feedback", "kernel_plain", "kernel_sandboxed", "autograde_unsandboxed", "mixed_serial", "mixed_parallel")
ABOUT = {
    "floor": "fresh kernel, `import torch` only",
    "nbgrader_start": "nbgrader --version (process start-up)",
    "execute_source": "source notebook, hidden checks included",
    "execute_worked": "worked notebook",
    "autograde_one": "nbgrader autograde, 1 submission",
    "batch_serial": "autograde N copies, 1 process",
    "batch_parallel": "autograde N copies, 1 process per core",
    "feedback": "generate_feedback, N copies",
    "kernel_plain": "kernel start to ready + shutdown, no sandbox",
    "kernel_sandboxed": "kernel start to ready + shutdown, in the sandbox",
    "autograde_unsandboxed": "autograde_one with a plain kernel manager",
    "mixed_serial": "mixed batch (correct/wrong/warning/hanging/crashing), 1 grader",
    "mixed_parallel": "the same mixed batch, 1 grader per core",
}
# The mixed batch: what a real class sends (sample_submissions), graded with a short cell limit so
# that the hanging submissions cost seconds, not minutes.
MIXED = ("reference", "ex1_pandas_to_numpy", "ex2_defaultdict_train_acc", "ex4_device_count_view_sampler", "ex1_sample_std",
         "ex2_seed_once", "ex4_no_eval_mode", "cell4_no_zero_grad", "robust_warning", "robust_hidden_timeout",
         "robust_interrupt_loop", "robust_kernel_death", "robust_hidden_exit", "robust_huge_output")
MIXED_CELL_TIMEOUT_S = 15
PLAIN_KERNEL_MANAGER = "jupyter_client.manager.AsyncKernelManager"
KERNEL_ENV = {"OMP_NUM_THREADS": "1"}


def _now():
    return time.perf_counter()


def _timed(fn):
    start = _now()
    value = fn()
    return _now() - start, value


def _fresh_dir(path):
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


# ---------------------------------------------------------------------------
# notebooks executed directly (nbclient, as `make notebooks` does)
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def _kernel_stderr_to(path):
    """Kernels inherit file descriptor 2: send their start-up warnings to a log, not the table."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "a") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _execute(nb, folder, env, record_timing=False):
    """`coursetools.notebooks.execute` (the code path of `make notebooks`), timed; (seconds, nb)."""
    with _kernel_stderr_to(Path(folder).parent / "kernels.log"):
        return _timed(lambda: nbs.execute(nb, cwd=folder, env=env, record_timing=record_timing))


def floor_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch")]
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return nb


def _with_data(folder):
    folder = _fresh_dir(folder)
    shutil.copytree(SOURCE_NB.parent / "data", folder / "data")
    return folder


def run_floor(workdir):
    folder = _fresh_dir(Path(workdir) / "floor")
    return _execute(floor_notebook(), folder, KERNEL_ENV)[0]


def run_source(workdir):
    """Execute the source notebook as it is (solutions and hidden checks); return seconds and the notebook."""
    folder = _with_data(Path(workdir) / "execute_source")
    return _execute(nbs.read(SOURCE_NB), folder, KERNEL_ENV, record_timing=True)


def run_worked(workdir):
    folder = _with_data(Path(workdir) / "execute_worked")
    return _execute(nbs.worked_notebook(), folder, KERNEL_ENV, record_timing=True)


def run_nbgrader_start(workdir):
    return _timed(lambda: grading.nbgrader(["--version"], workdir))[0]


def _errors(nb):
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and any(o.output_type == "error" for o in c.get("outputs", []))]


def _stamp(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cell_times(nb):
    """Seconds each code cell ran, from nbclient's record_timing metadata (kernel busy to idle)."""
    out = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("execution", {})
        start = meta.get("iopub.status.busy") or meta.get("iopub.execute_input")
        end = meta.get("iopub.status.idle") or meta.get("shell.execute_reply")
        if cell.cell_type != "code" or not (start and end):
            continue
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        out.append({"index": index, "grade_id": nbs.grade_id(cell), "first_line": first[:80],
                    "seconds": (_stamp(end) - _stamp(start)).total_seconds()})
    return out


def top_cells(runs, n=10):
    """The `n` slowest cells, by their median over `runs` (lists of cell_times)."""
    by_index = {}
    for run in runs:
        for cell in run:
            by_index.setdefault(cell["index"], dict(cell, samples=[]))["samples"].append(cell["seconds"])
    cells = []
    for cell in by_index.values():
        cell["seconds"] = statistics.median(cell.pop("samples"))
        cells.append(cell)
    cells.sort(key=lambda c: -c["seconds"])
    total = sum(c["seconds"] for c in cells)
    return cells[:n], total


# ---------------------------------------------------------------------------
# the grading sandbox's cost (coursetools/sandbox.py)
# ---------------------------------------------------------------------------

def run_kernel_start(workdir, sandboxed):
    """Seconds from start_kernel to a kernel that answers, plus shutdown, with or without the sandbox."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    from coursetools.sandbox import SandboxedKernelManager

    folder = Path(workdir) / "kernel_start"
    folder.mkdir(parents=True, exist_ok=True)

    async def once():
        km = (SandboxedKernelManager if sandboxed else AsyncKernelManager)(kernel_name="python3")
        start = _now()
        await km.start_kernel(cwd=str(folder), env=dict(os.environ, **KERNEL_ENV))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            await kc.execute_interactive("pass", timeout=30)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
        return _now() - start

    with _kernel_stderr_to(Path(workdir) / "kernels.log"):
        return asyncio.run(once())


def run_autograde_unsandboxed(course, student):
    """`autograde_one`, with the grading kernel a plain process (what the sandbox adds is the difference)."""
    args = ["autograde", ASSIGNMENT, "--force", f"--student={student}",
            f"--RobustExecute.kernel_manager_class={PLAIN_KERNEL_MANAGER}"]
    return _timed(lambda: grading.nbgrader(args, course))[0]


def sandbox_cost(stats):
    """The sandbox's cost per submission, from the medians: (kernel start, whole autograde) seconds."""
    if not all(k in stats for k in ("kernel_plain", "kernel_sandboxed", "autograde_one", "autograde_unsandboxed")):
        return None
    return {"kernel_start_s": stats["kernel_sandboxed"]["median"] - stats["kernel_plain"]["median"],
            "autograde_s": stats["autograde_one"]["median"] - stats["autograde_unsandboxed"]["median"]}


# ---------------------------------------------------------------------------
# grading, in a scratch course
# ---------------------------------------------------------------------------

def setup_course(workdir, copies):
    """A scratch course with the reference submission and `copies` copies of it submitted."""
    from sample_submissions.catalogue import REFERENCE

    course = make_course(Path(workdir) / "course")
    batch = [dataclasses.replace(REFERENCE, student=f"copy{i:02d}") for i in range(copies)]
    harness.submit(course, [REFERENCE, *batch])
    return course, REFERENCE.student, [s.student for s in batch]


def setup_mixed(course):
    """Submit the mixed batch into `course`; returns the student ids (samples missing by name are skipped)."""
    import sample_submissions
    from sample_submissions.robustness import SAMPLES as ROBUST

    by_name = {s.student: s for s in [*sample_submissions.ALL, *ROBUST]}
    samples = [dataclasses.replace(by_name[name], student=f"mixed-{name}") for name in MIXED if name in by_name]
    harness.submit(course, samples)
    return [s.student for s in samples]


def check_grades(course, students):
    """Every student's autograded total; they must all equal the maximum (the reference is correct)."""
    results = grading.read_results(course, students)
    wrong = {s: f"{r.total:g}/{r.maximum:g}" for s, r in results.items() if r.total != r.maximum}
    return {"graded": len(results), "all_full_marks": not wrong, "wrong": wrong}


def run_feedback(course, exclude):
    args = ["generate_feedback", ASSIGNMENT, "--force"]
    if exclude:
        args.append("--CourseDirectory.student_id_exclude=" + ",".join(exclude))
    seconds, _ = _timed(lambda: grading.nbgrader(args, course))
    return seconds


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------

def machine_info():
    probe = ("import json, torch; cuda = torch.cuda.is_available(); print(json.dumps({'torch': torch.__version__, "
             "'cuda_available': cuda, 'device_name': torch.cuda.get_device_name(0) if cuda else None}))")
    try:
        torch_info = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                               check=True).stdout)
    except (subprocess.CalledProcessError, json.JSONDecodeError) as e:
        torch_info = {"torch": None, "error": str(e)}

    def git(*args):
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else None

    status = git("status", "--porcelain")
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        **torch_info,
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _busy(loadavg, cpus):
    if loadavg and cpus and loadavg[0] > 0.5 * cpus:
        return (f"bench: WARNING: load average {loadavg[0]:.1f} on {cpus} cores: something else is running, "
                "the figures will be slow and noisy")
    return None


def summarise(raw):
    return {name: {"median": statistics.median(v), "min": min(v), "n": len(v)} for name, v in raw.items() if v}


def ratios(stats):
    """Each figure over the floor, and the target ratios with PASS/MISS (from medians; from minimums too)."""
    floor = stats["floor"]
    to_floor = {name: {k: s[k] / floor[k] for k in ("median", "min")} for name, s in stats.items()}
    targets = {}
    for name, (num, den, cmp, target) in TARGETS.items():
        if num not in stats or den not in stats:
            continue
        value = stats[num]["median"] / stats[den]["median"]
        ok = value <= target if cmp == "<=" else value >= target
        targets[name] = {"value": value, "value_from_min": stats[num]["min"] / stats[den]["min"],
                         "target": f"{cmp} {target:g}", "verdict": "PASS" if ok else "MISS"}
    return to_floor, targets


def report(result: dict) -> str:
    """The result as text: the figures, the targets, the slowest cells, the machine's load."""
    stats, to_floor, targets = result["stats"], result["ratio_to_floor"], result["targets"]
    copies = result["config"]["copies"]
    rows = [("figure", "median s", "min s", "n", "x floor", "what")]
    for name in FIGURES:
        if name not in stats:
            continue
        s = stats[name]
        rows.append((name, f"{s['median']:.2f}", f"{s['min']:.2f}", s["n"], f"{to_floor[name]['median']:.2f}",
                     ABOUT[name].replace("N copies", f"{copies} copies")))
    if "batch_serial" in stats:
        per = stats["batch_serial"]["median"] / copies
        rows.append(("(per copy)", f"{per:.2f}", "", "", f"{per / stats['floor']['median']:.2f}", "batch_serial / N"))
    lines = [tables.render(rows, right=(1, 2, 3, 4))]
    if "mixed_serial" in stats and "mixed_parallel" in stats:
        n = len(MIXED)
        lines.append(f"mixed batch of {n}: {stats['mixed_serial']['median'] / n:.2f} s per student with 1 grader, "
                     f"{stats['mixed_parallel']['median'] / n:.2f} s with {result['config']['workers']} "
                     f"(speed-up {stats['mixed_serial']['median'] / stats['mixed_parallel']['median']:.2f}x)")
    cost = result.get("sandbox_cost")
    if cost:
        lines.append(f"sandbox cost per submission: {cost['kernel_start_s']:+.2f} s to start a kernel, "
                     f"{cost['autograde_s']:+.2f} s per graded notebook (autograde_one - autograde_unsandboxed)")
    lines += ["", tables.render([("target", "value", "(mins)", "target", "verdict"),
                                 *((name, f"{t['value']:.2f}", f"{t['value_from_min']:.2f}", t["target"], t["verdict"])
                                   for name, t in targets.items())], right=(1, 2))]
    cells = result.get("source_cells")
    if cells:
        lines += ["", f"slowest cells of execute_source (median of {cells['runs']} runs; cells sum "
                      f"{cells['cells_total_s']:.2f} s of {stats['execute_source']['median']:.2f} s wall):",
                  tables.render([("cell", "seconds", "grade id", "first line"),
                                 *((c["index"], f"{c['seconds']:.2f}", c["grade_id"] or "", c["first_line"][:50])
                                   for c in cells["top"])], right=(0, 1))]
    machine = result["machine"]
    if machine.get("loadavg_start") and machine.get("loadavg_end"):
        lines += ["", f"load average (1 min) at start {machine['loadavg_start'][0]:.1f}, at end "
                      f"{machine['loadavg_end'][0]:.1f} (the benchmark's own work included), on "
                      f"{machine['cpu_count']} cores"]
        busy = _busy(machine["loadavg_start"], machine["cpu_count"])
        if busy:
            lines.append(busy.removeprefix("bench: "))
    dist = result.get("distributed_batch")
    if dist:
        lines += ["", f"distributed batch (Dask on localhost, {dist['workers']} workers, one "
                      f"SQLite gradebook): {dist['seconds']:.2f} s for {copies} copies ({dist['cluster_start_s']:.1f} s to "
                      f"start the cluster, not counted), {dist['overhead_per_submission_s']:+.2f} s per submission "
                      f"vs batch_parallel ({dist['graded']}/{copies} graded)"]
    grades = result.get("grades")
    if grades:
        lines += ["", f"grades: {grades['graded']} graded, all full marks: {grades['all_full_marks']}"
                      + (f" (wrong: {grades['wrong']})" if grades["wrong"] else "")]
    return "\n".join(lines)


def run(copies: int = 8, repeat: int = 3, out: Path | None = None, workdir: Path | None = None,
        workers: int | None = None, log=print) -> dict:
    """Measure everything once (the single figures `repeat` times, interleaved); return the result dict.

    The scratch course always grades into its own SQLite gradebook, never a shared database
    named by $WEEK13_DB_URL (grading.nbgrader_env never passes it on)."""
    out = Path(out or REPO / "benchmarks" / "results")
    workdir = Path(workdir or REPO / "build" / "bench")
    workers = workers or os.cpu_count() or 1
    started = datetime.now(UTC)
    raw = {name: [] for name in FIGURES}
    cell_runs, worked_cell_runs, errors = [], [], {}
    info = machine_info()
    log(f"bench: {info['cpu_count']} cores, Python {info['python']}, torch {info['torch']}, "
        f"{copies} copies, {repeat} repeats, {workers} parallel graders; scratch in {workdir}")
    busy = _busy(info["loadavg_start"], info["cpu_count"])
    if busy:
        log(busy)

    log("bench: setting up the scratch course ...")
    course, one, batch = setup_course(workdir, copies)
    others = [one] + batch

    # The single figures, interleaved round by round, so that a change of load on a shared
    # machine hits every figure of a round alike.
    # Before the first round, one untimed floor run warms the disk caches and .pyc files.
    run_floor(workdir)
    for rnd in range(1, repeat + 1):
        t = run_floor(workdir)
        t_src, nb = run_source(workdir)
        t_w, worked = run_worked(workdir)
        t_nbg = run_nbgrader_start(workdir)
        t_one = grading.autograde(course, [one], workers=1)
        t_plain_one = run_autograde_unsandboxed(course, one)
        t_kp, t_ks = run_kernel_start(workdir, False), run_kernel_start(workdir, True)
        for name, value in (("floor", t), ("nbgrader_start", t_nbg), ("execute_source", t_src),
                            ("execute_worked", t_w), ("autograde_one", t_one), ("autograde_unsandboxed", t_plain_one),
                            ("kernel_plain", t_kp), ("kernel_sandboxed", t_ks)):
            raw[name].append(value)
        cell_runs.append(cell_times(nb))
        worked_cell_runs.append(cell_times(worked))
        for name, executed in (("execute_source", nb), ("execute_worked", worked)):
            if _errors(executed):
                errors[name] = _errors(executed)
        log(f"bench: round {rnd}/{repeat}: floor {t:.2f} s, source {t_src:.2f} s, worked {t_w:.2f} s, "
            f"autograde one {t_one:.2f} s (unsandboxed {t_plain_one:.2f} s), kernel start {t_ks:.2f} s "
            f"(unsandboxed {t_kp:.2f} s)")

    if copies:
        log(f"bench: autograding {copies} copies with 1 process ...")
        raw["batch_serial"].append(grading.autograde(course, batch, workers=1))
        log(f"bench: autograding {copies} copies with {workers} processes ...")
        raw["batch_parallel"].append(grading.autograde(course, batch, workers=workers))
        log("bench: generate_feedback ...")
        raw["feedback"].append(run_feedback(course, [s for s in others if s not in batch]))
        mixed = setup_mixed(course)
        log(f"bench: a mixed batch of {len(mixed)} with 1 grader, then {workers} ...")
        raw["mixed_serial"].append(grading.autograde(course, mixed, workers=1, check=False, cell_timeout=MIXED_CELL_TIMEOUT_S))
        raw["mixed_parallel"].append(grading.autograde(course, mixed, workers=workers, check=False, cell_timeout=MIXED_CELL_TIMEOUT_S))
        log(f"bench: autograding {copies} copies on a local Dask cluster ({workers} workers) ...")
        distributed_batch = run_distributed_batch(course, batch, workers, workdir, log)

    stats = summarise(raw)
    to_floor, targets = ratios(stats)
    top, total = top_cells(cell_runs)
    worked_top, worked_total = top_cells(worked_cell_runs)
    result = {
        "schema": SCHEMA,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": dict(info, loadavg_end=list(os.getloadavg()) if hasattr(os, "getloadavg") else None),
        "config": {"copies": copies, "repeat": repeat, "workers": workers, "notebook": f"{ASSIGNMENT}/{NOTEBOOK}",
                   "kernel_env": KERNEL_ENV},
        "raw": raw,
        "stats": stats,
        "ratio_to_floor": to_floor,
        "targets": targets,
        "source_cells": {"runs": len(cell_runs), "cells_total_s": total, "top": top},
        "worked_cells": {"runs": len(worked_cell_runs), "cells_total_s": worked_total, "top": worked_top},
        "grades": check_grades(course, [one, *batch]) if copies else check_grades(course, [one]),
        "sandbox_cost": sandbox_cost(stats),
        "notebook_errors": errors,
    }
    if copies and distributed_batch:
        distributed_batch["overhead_per_submission_s"] = (
            (distributed_batch["seconds"] - stats["batch_parallel"]["median"]) / copies)
        result["distributed_batch"] = distributed_batch
    out.mkdir(parents=True, exist_ok=True)
    name = started.strftime("%Y%m%dT%H%M%SZ") + ".json"
    text = json.dumps(result, indent=2) + "\n"
    (out / name).write_text(text)
    (out / "latest.json").write_text(text)
    result["written"] = [str(out / name), str(out / "latest.json")]
    return result


def compare(a, b):
    """A table of two result files' medians side by side (b / a)."""
    ra, rb = (json.loads(Path(p).read_text()) for p in (a, b))
    lines = [f"{'figure':<16}{'A median':>10}{'B median':>10}{'B/A':>7}   A={a}  B={b}", "-" * 60]
    for name in FIGURES:
        if name in ra["stats"] and name in rb["stats"]:
            x, y = ra["stats"][name]["median"], rb["stats"][name]["median"]
            lines.append(f"{name:<16}{x:>10.2f}{y:>10.2f}{y / x:>7.2f}")
    lines += ["", f"{'target ratio':<36}{'A':>7}{'':6}{'B':>7}", "-" * 60]
    for name in TARGETS:
        if name in ra["targets"] and name in rb["targets"]:
            x, y = ra["targets"][name], rb["targets"][name]
            lines.append(f"{name:<36}{x['value']:>7.2f} {x['verdict']:<5}{y['value']:>7.2f} {y['verdict']}")
    for section, keys in (("machine", ("cpu_count", "platform", "torch", "device_name", "git_commit")),
                          ("config", ("copies", "repeat", "workers"))):
        for key in keys:
            x, y = ra[section].get(key), rb[section].get(key)
            if x != y:
                lines.append(f"note: {key} differs: {x} vs {y}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# the distributed batch (coursetools/distributed.py): the same batch through a local Dask cluster
# ---------------------------------------------------------------------------

def run_distributed_batch(course, students, workers, workdir, log=print):
    """Grade `students` through a `dask scheduler` and `workers` `dask worker` processes started
    here (one thread each, as on a real cluster), against the course's own gradebook file;
    returns {"seconds", "cluster_start_s", "workers", "graded"} or None when Dask is missing or
    the cluster fails. The cluster's start-up is timed apart: a real cluster is started once."""
    import signal
    import socket

    try:
        from distributed import Client

        from coursetools import distributed
    except ImportError as e:
        log(f"bench: no distributed batch ({e})")
        return None
    folder = _fresh_dir(Path(workdir) / "dask")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    env = dict(os.environ, OMP_NUM_THREADS="1", DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0")
    env.pop(grading.DB_URL_VARIABLE, None)  # the workers grade into the course's own gradebook
    procs = []

    def start(cmd, cwd, extra=None):
        procs.append(subprocess.Popen(cmd, cwd=cwd, env=dict(env, **(extra or {})), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))

    start_t = _now()
    try:
        start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], folder)
        for i in range(workers):
            wdir = folder / f"worker-{i}"
            wdir.mkdir()
            start([dask, "worker", address, "--name", f"worker-{i}", "--nthreads", "1", "--local-directory",
                   str(wdir), "--no-dashboard"], wdir, {distributed.WORKER_DIR_VARIABLE: str(wdir)})
        with Client(address, timeout=120) as client:
            client.wait_for_workers(workers, timeout=120)
        cluster_start = _now() - start_t
        seconds, outcomes = _timed(lambda: distributed.grade_on_cluster(
            root=Path(course), students=list(students), scheduler=address,
            db_url=grading.gradebook_url(course)))
        return {"seconds": seconds, "cluster_start_s": cluster_start, "workers": workers,
                "graded": sum(o["ok"] for o in outcomes.values())}
    except Exception as e:  # a benchmark reports, it does not stop the other figures
        log(f"bench: the distributed batch failed: {type(e).__name__}: {e}")
        return None
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait(timeout=30)
