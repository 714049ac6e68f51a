"""Grading a class on a Dask cluster (docs/dask.md).

Real processes on localhost, started (and killed) by this module: a PostgreSQL server (the
shared gradebook), a `dask scheduler` and two `dask worker` processes, each worker with its own
working folder (no shared course folder: each lays out its own course from its clone of the
repository). The client course generates the assignment into the database once, then
`coursetools.distributed.grade_on_cluster` grades the reference, the robustness and boundary samples
whose path the cluster changes (SAMPLES_ON_CLUSTER) and one submission that kills the worker process
grading it. Worker B is killed with SIGKILL (its whole
process group: nanny, worker, nbgrader) while it grades a student, once a few students are done.

Then: every student graded through the cluster gets the grade the sample expects, is in the
gradebook exactly once (one submission row, one grade row per graded cell), and has its
autograded notebook and feedback in the CLIENT's course folder; the student B was grading when
it died was graded again by worker A; the worker-killing submission ends not graded with the
KilledWorker reason after the scheduler's bounded retries; files that are not a notebook are
refused on the client and never sent.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import distributed as _dask_distributed  # noqa: F401  (pinned: missing is a broken environment, never a skip)
import postgres_server
import pytest
from environ import untraced_env
from limits import AUTO_MAX, CLASS_CELL_TIMEOUT_S

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, grading, roster
from coursetools.course import make_course
from sample_submissions import harness

from sample_submissions import boundary
from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE
from sample_submissions.robustness import SAMPLES

ALLOWED_FAILURES = 2  # as make dask-scheduler: 3 deaths end a task (the student worker-b was grading when it
# was killed may be rescheduled behind the worker killer on worker-a, and die there a second time)
KILL_AFTER = 3  # worker B is killed once this many students are done and it is grading one
START_TIMEOUT = 120  # seconds for the scheduler and workers to come up
RUN_TIMEOUT = 1500  # seconds for the whole class: a hung cluster fails the test instead of hanging CI

# A student whose grading kills every worker it lands on (tests/dask_worker_killer.py plays the
# crash: sandboxed student code cannot reach the worker process itself).
WORKER_KILLER = harness.Sample("zz_worker_killer", "kills the Dask worker process that grades it",
                               status="not graded")
# What the cluster adds to local grading (tests/test_class_grading.py, tests/test_boundary.py grade every
# robustness and boundary sample): transport both ways, a kernel that dies on a worker, files refused
# on the client, links and extra files that must not cross machines, and enough students that worker B
# is killed while it grades one.
_ROBUST = {s.student: s for s in SAMPLES}
_BOUNDARY = {s.student: s for s in boundary.SAMPLES}
SAMPLES_ON_CLUSTER = [
    REFERENCE, _ROBUST["robust_deleted_tests"],  # test cells the worker restores from the shared gradebook
    WORKER_KILLER,
    *(_ROBUST[s] for s in ("robust_kernel_death", "robust_renamed", "robust_invalid_json", "robust_missing",
                           "robust_registry_hack", "robust_frame_hack")),
    *(_BOUNDARY[s] for s in ("boundary_fake_checks", "boundary_kernel_links", "boundary_marker_source",
                             "boundary_marker_other", "boundary_notebook_link")),
]
BY_STUDENT = {s.student: s for s in SAMPLES_ON_CLUSTER}
# Refused on the client (file-level problems), never sent to a worker.
REFUSED = {"robust_invalid_json": "cannot be read", "robust_missing": "no notebook",
           "boundary_marker_source": "must name a notebook file in the same folder",
           "boundary_marker_other": "must name a notebook file in the same folder",
           "boundary_notebook_link": "is a symbolic link"}


def classgrade_summary(statuses, results):
    from coursetools import classgrade

    return classgrade.summary(statuses, results)


def _killpg(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def _kill_strays(base):
    """Kill every process whose working folder is under `base`: graders and kernels left by a
    killed worker (kernels run in their own session, outside the worker's process group)."""
    base = str(Path(base).resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == base or cwd.startswith(base + os.sep):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _start(cmd, cwd, env, log):
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    from distributed import Client

    from coursetools import distributed

    base = tmp_path_factory.mktemp("dask_class")
    with postgres_server.running() as url:
        root = base / "client"
        make_course(root, db_url=url)  # generate_assignment, into PostgreSQL, once
        harness.submit(root, SAMPLES_ON_CLUSTER)

        dask = str(Path(sys.executable).parent / "dask")
        port = postgres_server.free_port()
        address = f"tcp://127.0.0.1:{port}"
        # workers get the gradebook URL per task; the cluster's processes are not traced by coverage (a
        # traced Dask worker grades several times slower; the client side is measured in this process)
        env = {k: v for k, v in untraced_env().items() if k != grading.DB_URL_VARIABLE}
        env.update(OMP_NUM_THREADS="1",
                   PYTHONPATH=str(REPO / "tests"),  # the test-only worker plugin (dask_worker_killer)
                   DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=str(ALLOWED_FAILURES),
                   DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0")
        procs = {}
        try:
            procs["scheduler"] = _start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                         "--no-dashboard"], base, env, base / "scheduler.log")
            def start_worker(name):
                folder = base / name
                folder.mkdir()
                procs[name] = _start([dask, "worker", address, "--name", name, "--nthreads", "1", "--nworkers", "1",
                                      "--local-directory", str(folder), "--no-dashboard"],
                                     folder, {**env, distributed.WORKER_DIR_VARIABLE: str(folder)},
                                     base / f"{name}.log")

            for name in ("worker-a", "worker-b"):
                start_worker(name)
            with Client(address, timeout=START_TIMEOUT) as watcher:
                watcher.wait_for_workers(2, timeout=START_TIMEOUT)
                from dask_worker_killer import KillWorkerOn

                watcher.register_plugin(KillWorkerOn(WORKER_KILLER.student))
                killed = {}
                done = []
                deadline = time.monotonic() + RUN_TIMEOUT

                def on_done(student, outcome):
                    done.append(student)
                    if killed or len(done) < KILL_AFTER:
                        return
                    info = watcher.scheduler_info()["workers"]
                    b = next((addr for addr, w in info.items() if w.get("name") == "worker-b"), None)
                    # an innocent student: the killer's own task kills its workers anyway
                    busy = [k for k in (watcher.processing().get(b, []) if b else [])
                            if WORKER_KILLER.student not in str(k)]
                    if busy:
                        time.sleep(2)  # well inside the grading: nbgrader and the kernel are running
                        killed["student"] = str(busy[0]).split("-", 2)[2].rsplit("-", 1)[0]
                        killed["done_before"] = len(done)
                        _killpg(procs["worker-b"])
                        start_worker("worker-c")  # a replacement machine joins, as on a real cluster

                result = {}

                def run():
                    result["outcomes"] = distributed.grade_on_cluster(
                        root=root, students=[s.student for s in SAMPLES_ON_CLUSTER], scheduler=address,
                        db_url=url, on_done=on_done, cell_timeout=CLASS_CELL_TIMEOUT_S)

                thread = threading.Thread(target=run, daemon=True)
                began = time.perf_counter()
                thread.start()
                thread.join(max(1, deadline - time.monotonic()))
                seconds = time.perf_counter() - began
                if thread.is_alive():
                    pytest.fail(f"the cluster did not grade the class in {RUN_TIMEOUT} s")
            assert "outcomes" in result, "grade_on_cluster raised (see the traceback above)"
            for student, outcome in result["outcomes"].items():  # the nbgrader log of each student, for failures
                (base / f"{student}.log").write_text(outcome["log_tail"])
            statuses, results = distributed.class_statuses(root, result["outcomes"], db_url=url)
            from run_summary import SECTIONS as _SUMMARY

            sent = sum(o.get("sent", True) for o in result["outcomes"].values())
            _SUMMARY["grade-class --scheduler: the robustness samples on a Dask cluster (2 workers, one killed)"] = [
                classgrade_summary(statuses, results),
                f"{sent} submissions sent, graded in {seconds:.1f} s ({seconds / max(sent, 1):.1f} s each, "
                f"cluster start not counted; worker-b killed while grading {killed.get('student')!r})"]
            yield {"url": url, "root": root, "outcomes": result["outcomes"], "killed": killed,
                   "address": address, "procs": procs, "env": env, "dask": dask,
                   "statuses": statuses, "results": results, "base": base}
        finally:
            for proc in procs.values():
                _killpg(proc)
            _kill_strays(base)


def test_summary_says_which_worker_graded_each_student(cluster_run, capsys):
    from coursetools import classgrade

    statuses, results, killed = cluster_run["statuses"], cluster_run["results"], cluster_run["killed"]
    table = classgrade.summary(statuses, results)
    with capsys.disabled():
        print("\n\ngrade-class through a Dask cluster (2 workers, worker-b killed while grading "
              f"{killed.get('student')!r}):\n" + table)
        print("\ncluster vs expected:\n" + harness.expectation_table(
            [s for s in SAMPLES_ON_CLUSTER if s.student in results], results))
    for student, outcome in cluster_run["outcomes"].items():
        if outcome["ok"]:
            assert statuses[student].worker == outcome["worker"] and outcome["worker"] in table
            assert outcome["worker"] in ("worker-a", "worker-b", "worker-c"), outcome["worker"]


def test_one_worker_was_killed_mid_grade_and_its_student_regraded_elsewhere(cluster_run):
    killed, outcomes = cluster_run["killed"], cluster_run["outcomes"]
    assert killed, "worker-b was never seen grading after the first students were done"
    student = killed["student"]
    assert student in outcomes and student != WORKER_KILLER.student, (student, sorted(outcomes))
    assert outcomes[student]["ok"], (outcomes[student]["reason"], outcomes[student]["log_tail"])
    assert outcomes[student]["worker"] in ("worker-a", "worker-c"), outcomes[student]
    late = [s for s, o in outcomes.items() if o["ok"] and o["worker"] in ("worker-a", "worker-c")]
    assert len(late) >= 2, outcomes


def test_worker_killer_ends_not_graded_after_bounded_retries(cluster_run):
    outcome = cluster_run["outcomes"][WORKER_KILLER.student]
    assert not outcome["ok"] and outcome["sent"], outcome
    assert "KilledWorker" in outcome["reason"] and f"after {ALLOWED_FAILURES} retries" in outcome["reason"], outcome
    status = cluster_run["statuses"][WORKER_KILLER.student]
    assert not status.graded and "KilledWorker" in status.reason
    scores = postgres_server.query(cluster_run["url"], (
        "SELECT grade.auto_score FROM grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
        "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
        f"WHERE submitted_assignment.student_id = '{WORKER_KILLER.student}'"))
    assert all(score is None for (score,) in scores), \
        "a half-graded score of a student that killed its workers was left in the gradebook"


def test_files_that_are_not_a_notebook_are_refused_on_the_client(cluster_run):
    for student, why in REFUSED.items():
        outcome = cluster_run["outcomes"][student]
        assert not outcome["ok"] and not outcome["sent"] and why in outcome["reason"], outcome
        assert not cluster_run["statuses"][student].graded


def test_every_graded_student_is_in_the_gradebook_exactly_once(cluster_run):
    url, outcomes = cluster_run["url"], cluster_run["outcomes"]
    graded = sorted(s for s, o in outcomes.items() if o["ok"])
    assert len(graded) == len(SAMPLES_ON_CLUSTER) - len(REFUSED) - 1, outcomes
    subs = postgres_server.submissions(url)  # the worker killer may have a submission without scores
    assert sorted(set(subs) - {WORKER_KILLER.student}) == graded, f"students in the gradebook: {sorted(subs)}"
    assert all(len(ids) == 1 for ids in subs.values()), f"submissions per student: {subs}"
    expected = postgres_server.graded_cells(cluster_run["root"])
    grades = postgres_server.grade_rows(url)
    for student in graded:
        cells = grades.get(student, {})
        doubled = sorted(c for c, n in cells.items() if n != 1)
        assert set(cells) == expected and not doubled, (student, sorted(expected ^ set(cells)), doubled)
    (total,) = postgres_server.query(url, "SELECT count(*) FROM grade")
    assert total[0] == len(subs) * len(expected), "grade rows that belong to no current submission"


def test_autograded_and_feedback_are_written_on_the_client(cluster_run):
    root = cluster_run["root"]
    for student, outcome in cluster_run["outcomes"].items():
        autograded = root / "autograded" / student / ASSIGNMENT
        feedback = root / "feedback" / student / ASSIGNMENT
        if outcome["ok"]:
            assert (autograded / NOTEBOOK).is_file(), student
            assert [p.name for p in feedback.glob("*.html")] == [roster.feedback_file(root, student).name], student
        else:
            assert not autograded.exists() and not feedback.exists(), student
    # the workers graded in their own folders, not the client's: worker-a finished students there,
    # worker-b (killed mid-grade) had laid out its course and received its student's files
    assert list((cluster_run["base"] / "worker-a").glob("week13-course-*/autograded/*/week13/" + NOTEBOOK))
    assert list((cluster_run["base"] / "worker-b").glob("week13-course-*/submitted/*/week13"))


@pytest.mark.parametrize("student", [s.student for s in SAMPLES_ON_CLUSTER
                                     if s.status == "graded" and s.student != WORKER_KILLER.student])
def test_grades_are_the_expected_ones(cluster_run, student):
    result = cluster_run["results"][student]
    assert harness.problems(BY_STUDENT[student], result) == [], (result.parts, result.failures)
    if student == REFERENCE.student:
        assert (result.total, result.maximum) == (AUTO_MAX, AUTO_MAX), result.failures


def test_no_link_crosses_machines_and_feedback_is_the_page_only(cluster_run):
    """What the worker sends back is regular files: the kernel's links stay behind, the client
    writes nothing through a link, and each feedback folder holds the HTML page only."""
    root = cluster_run["root"]
    for student in ("boundary_kernel_links", "boundary_fake_checks"):
        folder = root / "autograded" / student / ASSIGNMENT
        assert (folder / NOTEBOOK).is_file(), student
        assert [p for p in folder.rglob("*") if p.is_symlink()] == [], student
        assert sorted(p.name for p in (root / "feedback" / student / ASSIGNMENT).iterdir()) == [
            NOTEBOOK.replace(".ipynb", ".html")], student
    notes = cluster_run["statuses"]["boundary_fake_checks"].notes
    assert any("week13_checks.py" in n and "not graded" in n for n in notes), notes
    review = " ".join(cluster_run["statuses"]["boundary_kernel_links"].notes)
    assert "gradebook.db (symbolic link)" in review, review


PARENT = """
import subprocess, sys, time
from coursetools import distributed, grading
grading.NBGRADER = [sys.executable, "-c", "import time; time.sleep(120)"]  # an nbgrader that grades forever
command = distributed._nbgrader_command([]) if sys.argv[1] == "guarded" else grading.NBGRADER
child = subprocess.Popen(command)
time.sleep(1.5)  # past the guard's prctl
print(child.pid, flush=True)
child.wait()
"""


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["guarded", "plain"])
def test_the_nbgrader_process_dies_with_the_worker_that_started_it(how):
    """A worker killed mid-grade leaves no orphan nbgrader writing into the gradebook while another
    worker regrades the student: the child asks for SIGKILL when its parent dies. The plain command
    (no guard) is the control: its child outlives the parent, so the test sees the difference."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, how], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 3  # the guarded child dies within milliseconds; the plain one never
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _alive(child) is (how == "plain")
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_the_readme_commands_grade_on_workers_that_share_one_folder(cluster_run):
    """The README's Dask steps as its commands run them: a worker started as `make dask-worker` starts
    it (two processes, one thread each, one --local-directory and WEEK13_WORKER_DIR shared), and
    `week13 grade-class --scheduler` regrading two students into the client's course and gradebook.
    Each process lays out a course of its own in the shared folder."""
    from distributed import Client

    from coursetools import distributed

    address, procs, root, base = cluster_run["address"], cluster_run["procs"], cluster_run["root"], cluster_run["base"]
    shared = base / "shared-worker"
    shared.mkdir()
    with Client(address, timeout=START_TIMEOUT) as client:
        old = list(client.scheduler_info()["workers"])
        procs["pair"] = _start([cluster_run["dask"], "worker", address, "--nthreads", "1", "--nworkers", "2",
                                "--local-directory", str(shared), "--no-dashboard"], shared,
                               {**cluster_run["env"], distributed.WORKER_DIR_VARIABLE: str(shared)}, base / "pair.log")
        deadline = time.monotonic() + START_TIMEOUT
        while len(set(client.scheduler_info()["workers"]) - set(old)) < 2:
            assert time.monotonic() < deadline, (base / "pair.log").read_text()[-3000:]
            time.sleep(0.5)
        client.retire_workers(old)  # only the pair grades from here
    students = ["reference", "boundary_kernel_links"]
    proc = subprocess.run([str(Path(sys.executable).parent / "week13"), "grade-class", "--root", str(root),
                           "--scheduler", address, *(f"--student={s}" for s in students),
                           "--cell-timeout", str(CLASS_CELL_TIMEOUT_S)],
                          cwd=root, env={**cluster_run["env"], grading.DB_URL_VARIABLE: cluster_run["url"]},
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 graded, 0 not graded" in proc.stdout, proc.stdout[-3000:]
    results = grading.read_results(root, students, db_url=cluster_run["url"])
    assert results["reference"].total == AUTO_MAX
    assert harness.problems(BY_STUDENT["boundary_kernel_links"], results["boundary_kernel_links"]) == []
    courses = sorted(p.name for p in shared.glob("week13-course-*"))
    assert len(courses) == 2, courses  # one per process, by pid: never one course for two graders
