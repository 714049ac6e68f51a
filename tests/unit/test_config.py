"""One route for configuration: nbgrader_config.py reads the environment (the edge) and sets
traits; every derived value (kernel arguments, the timeout's error, the guard's call) comes from
the traits of the class that uses it."""

import asyncio
import os

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from coursetools import REPO
from coursetools.course import copy_course
from coursetools.gradebook import DB_URL_VARIABLE
from coursetools.preprocessors import RobustExecute
from coursetools.sandbox import UNSANDBOXED_VARIABLE, SandboxedKernelManager


def load_config(root):
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


@pytest.fixture
def course(tmp_path):
    return copy_course(tmp_path / "course")


def test_the_config_reads_the_environment_once_into_traits(course, monkeypatch):
    monkeypatch.setenv(DB_URL_VARIABLE, "postgresql://grader@db/week13")
    monkeypatch.setenv(UNSANDBOXED_VARIABLE, "1")
    c = load_config(course)
    assert c.CourseDirectory.db_url == "postgresql+psycopg2://grader@db/week13"
    assert c.Autograde.pre_convert_hook.keywords["db_url"] == c.CourseDirectory.db_url
    assert c.SandboxedKernelManager.allow_unsandboxed is True


def test_without_the_environment_the_course_keeps_its_own_gradebook_and_the_sandbox(course, monkeypatch):
    monkeypatch.delenv(DB_URL_VARIABLE, raising=False)
    monkeypatch.delenv(UNSANDBOXED_VARIABLE, raising=False)
    c = load_config(course)
    assert c.CourseDirectory.db_url == f"sqlite:///{course.resolve() / 'gradebook.db'}"
    assert c.SandboxedKernelManager.allow_unsandboxed is False
    assert c.RobustExecute.kernel_manager_class == "coursetools.sandbox.SandboxedKernelManager"


def test_loading_the_config_changes_no_environment(course):
    before = dict(os.environ)
    load_config(course)
    assert dict(os.environ) == before


def test_the_config_does_not_restate_robust_execute_defaults(course):
    """The cell limit and the kernel's start-up imports live in RobustExecute's traits only."""
    c = load_config(course)
    for name in ("timeout", "extra_arguments", "hidden_modules", "notebook_timeout"):
        assert name not in c.RobustExecute and name not in c.Execute, name


def test_kernel_arguments_follow_hidden_modules():
    assert RobustExecute().extra_arguments == [
        "--HistoryManager.hist_file=:memory:", "--IPKernelApp.ignore_cwd=True",
        "--IPKernelApp.exec_lines=['import grading_guard']"]
    config = Config()
    config.RobustExecute.hidden_modules = ["grading_guard", "week14_checks"]
    assert RobustExecute(config=config).extra_arguments[-1] == "--IPKernelApp.exec_lines=['import grading_guard, week14_checks']"


@pytest.mark.parametrize("seconds", [60, 15])
def test_the_timeout_error_names_the_timeout_in_force(seconds):
    config = Config()
    if seconds != 60:
        config.RobustExecute.timeout = seconds  # what --RobustExecute.timeout=15 sets
    error = RobustExecute(config=config).timeout_error()
    assert error["ename"] == "CellTimeoutError"
    assert f"longer than {seconds} s" in error["evalue"] and error["traceback"] == [f"CellTimeoutError: {error['evalue']}"]


def test_the_guard_is_called_with_the_trait_names():
    """The restore call and the nonce read back both come from guard_module and nonce_name."""
    sent = {}

    class FakeKernelClient:
        async def execute_interactive(self, code, **kw):
            sent["code"], sent["expressions"] = code, kw["user_expressions"]
            return {"content": {"user_expressions": {"nonce": {"status": "ok", "data": {"text/plain": "'x'"}}}}}

    step = RobustExecute(guard_module="my_guard", nonce_name="__my_nonce__")
    step.kc = FakeKernelClient()
    assert asyncio.run(step._guard()) is False  # the nonce read back is not the one sent
    assert "modules['my_guard'].restore(" in sent["code"] and sent["code"].endswith(", '__my_nonce__')")
    assert sent["expressions"] == {"nonce": "__my_nonce__"}


def test_a_quiet_request_that_ipykernel_aborted_is_sent_again():
    """ipykernel 7 aborts a request that reaches it just after another failed with stop_on_error (a
    race): the request never ran, so the grader sends it again instead of reading "aborted" as the
    submission keeping the guard out (GradingInterference) or as a failed check."""
    replies = [{"content": {"status": "aborted"}}, {"content": {"status": "ok", "user_expressions": {}}}]
    sent = []

    class AbortingOnceClient:
        async def execute_interactive(self, code, **kw):
            sent.append((code, kw["stop_on_error"], kw["silent"]))
            return replies.pop(0)

    step = RobustExecute()
    step.kc = AbortingOnceClient()
    assert asyncio.run(step._run_quietly("x = 1", 5))["content"]["status"] == "ok"
    assert sent == [("x = 1", False, True)] * 2


def test_the_guard_leaves_the_nonce_under_the_name_it_is_given():
    """In a child interpreter, as in a kernel: the guard's restore resets sys.settrace, which in the
    test process would switch off coverage for the rest of the run."""
    import subprocess
    import sys

    code = ("import builtins, grading_guard; "
            "grading_guard.restore('abc123', '__w13_unit_nonce__'); print(builtins.__w13_unit_nonce__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "abc123"


def test_kernel_threads_are_a_trait():
    km = SandboxedKernelManager(threads=2)
    env = km._kernel_env({"PATH": "/bin", "OMP_NUM_THREADS": "8"})
    assert env == {"PATH": "/bin", "OMP_NUM_THREADS": "2", "PYTHONSAFEPATH": "1"}
    assert SandboxedKernelManager(threads=0)._kernel_env({"OMP_NUM_THREADS": "8"}) == {
        "OMP_NUM_THREADS": "8", "PYTHONSAFEPATH": "1"}
    assert SandboxedKernelManager()._kernel_env(None)["OMP_NUM_THREADS"] == "1"


def test_a_scratch_course_holds_the_course_not_the_tooling(tmp_path):
    course = copy_course(tmp_path / "c")
    assert sorted(p.name for p in course.iterdir()) == ["nbgrader_config.py", "source"]
    assert (course / "source" / "week13" / "pytorch_fundamentals.ipynb").is_file()
    with_release = copy_course(tmp_path / "w", release=True)
    assert (with_release / "release" / "week13" / "pytorch_fundamentals.ipynb").is_file()
    assert (REPO / "nbgrader_config.py").read_text() == (course / "nbgrader_config.py").read_text()


def test_the_kernel_environment_is_an_allow_list():
    """No gradebook URL, credential or setting of the grader's tools reaches student code."""
    grader = {"PATH": "/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "WEEK13_DB_URL": "postgresql://u:pw@db/x",
              "PGPASSWORD": "pw", "AWS_SECRET_ACCESS_KEY": "k", "PYTHONPATH": "/elsewhere",
              "NBGRADER_EXECUTION": "autograde", "COVERAGE_PROCESS_START": "x", "HOME": "/root"}
    env = SandboxedKernelManager(threads=1)._kernel_env(grader)
    assert env == {"PATH": "/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "HOME": "/root", "OMP_NUM_THREADS": "1",
                   "PYTHONSAFEPATH": "1"}
    wider = SandboxedKernelManager(threads=0, kernel_environment=["PATH", "PG*"])._kernel_env(grader)
    assert wider == {"PATH": "/bin", "PGPASSWORD": "pw", "PYTHONSAFEPATH": "1"}


def test_the_sandbox_limits_are_the_ones_the_readme_lists(course):
    """docs/sandbox.md (the README links it) states each limit with its trait; the configuration sets
    exactly those values (a limit changed on one side only fails here)."""
    import re

    readme = (REPO / "docs" / "sandbox.md").read_text()
    limits = load_config(course).SandboxedKernelManager
    stated = {  # trait: (value in the configuration, its wording in docs/sandbox.md)
        "memory_limit": (6 * 1024**3, r"6 GiB per process \(`memory_limit`"),
        "process_limit": (128, r"128 processes and threads per sandbox \(`process_limit`"),
        "cpu_limit": (1.0, r"1 CPU per sandbox \(`cpu_limit`"),
        "open_files_limit": (1024, r"1024 open files \(`open_files_limit`"),
        "file_size_limit": (64 * 1024**2, r"64 MiB per file \(`file_size_limit`"),
        "tmp_size": (256 * 1024**2, r"private `/tmp` and `/dev/shm` \(in memory, 256 MiB each\)"),
    }
    for trait, (value, wording) in stated.items():
        assert limits[trait] == value, (trait, limits[trait])
        assert re.search(wording, readme), f"docs/sandbox.md no longer states {trait} as {wording!r}"


def test_without_cgroups_the_sandbox_bounds_processes_and_cpu_by_rlimits():
    """A grader that is not root (most JupyterHubs) can make no cgroup: processes are then bounded by
    RLIMIT_NPROC (which binds a non-root user) and CPU by RLIMIT_CPU per process, and the grading
    notes say which applied; with cgroups, neither rlimit is set."""
    from pathlib import Path

    km = SandboxedKernelManager(process_limit=128, cpu_limit=1.0, cpu_time_limit=900)
    km._cgroups = {}
    assert "--nproc=128" in km._limits() and "--cpu=900" in km._limits()
    assert km.limits_in_force == {"processes": "RLIMIT_NPROC, 128 per user", "cpu": "RLIMIT_CPU, 900 s per process"}
    km._cgroups = {"pids": Path("/sys/fs/cgroup/pids/x"), "cpu": Path("/sys/fs/cgroup/cpu/x")}
    assert not [flag for flag in km._limits() if flag.startswith(("--nproc", "--cpu"))]
    assert km.limits_in_force == {"processes": "pids cgroup, 128", "cpu": "cpu cgroup, 1 CPU"}
    km = SandboxedKernelManager(cpu_limit=0)
    km._cgroups = {}
    assert not [flag for flag in km._limits() if flag.startswith("--cpu")] and km.limits_in_force["cpu"] == "none"


def test_the_summary_says_when_no_cgroup_could_be_made():
    from coursetools import roster

    rooted = roster.Status("a", graded=True, limits={"processes": "pids cgroup, 128", "cpu": "cpu cgroup, 1 CPU"})
    assert roster.limits_line({"a": rooted}) == ""
    user = roster.Status("b", graded=True, limits={"processes": "RLIMIT_NPROC, 128 per user",
                                                   "cpu": "RLIMIT_CPU, 900 s per process"})
    line = roster.limits_line({"a": rooted, "b": user})
    assert "cpu bounded by RLIMIT_CPU, 900 s per process" in line and "processes bounded by RLIMIT_NPROC" in line
