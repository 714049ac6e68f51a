"""Grading kernels in a bubblewrap sandbox (nbgrader_config.py, "sandbox" block).

`SandboxedKernelManager` is a jupyter_client `AsyncKernelManager` that starts
the kernel as

    sh -c 'echo $$ > <pids cgroup>/cgroup.procs; exec prlimit <limits> -- bwrap <sandbox> -- python -m ipykernel_launcher ...'

- bwrap: own user, PID, network, IPC, UTS and cgroup namespaces (`--unshare-all`), a new session,
  killed with its parent; `/` read-only, a private `/dev`, `/proc`, `/tmp` and `/dev/shm`
  (tmpfs of bounded size), and write access only to the folder the notebook is graded in (the
  kernel's cwd) and to a private folder holding the connection file and the ipc sockets (TCP
  cannot cross the network namespace, so the kernel talks over ipc).
- prlimit: address space, open files and file size limits, inherited by every process of the
  sandbox.
- a pids cgroup (cgroup v1 or v2, where this process may create one) bounds the number of
  processes and threads of the sandbox: RLIMIT_NPROC does not bind root, who grades here.
- interrupts go as messages (`interrupt_request` on the control channel): a signal to bwrap
  does not reach a kernel in its own session and PID namespace.

Every process the submission starts lives in the kernel's PID namespace, so it dies with the
kernel (the kernel is killed when grading of the notebook ends). `km.sandboxed` says whether the
kernel ran sandboxed. Where bubblewrap cannot run (not installed, not Linux, no namespaces),
starting a kernel raises `SandboxUnavailable`, unless `allow_unsandboxed` is set (for a trusted
class: $WEEK13_UNSANDBOXED=1), in which case the kernel runs as a plain process and
`km.sandboxed` is False.
"""

import atexit
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Float, Integer, List, Unicode

UNSANDBOXED_VARIABLE = "WEEK13_UNSANDBOXED"  # read by nbgrader_config.py (the edge), never here
SWITCH = (f"c.SandboxedKernelManager.allow_unsandboxed = True in nbgrader_config.py, "
          f"or {UNSANDBOXED_VARIABLE}=1 in the environment of the nbgrader command")

GiB = 1024 ** 3
MiB = 1024 ** 2


class SandboxUnavailable(RuntimeError):
    pass


_PROBES = {}  # bwrap path -> None (works) or the reason it does not


def probe(bwrap: str) -> str | None:
    """None when `bwrap` can make a sandbox here (cached per process), else the reason."""
    if bwrap not in _PROBES:
        if not sys.platform.startswith("linux"):
            _PROBES[bwrap] = f"bubblewrap needs Linux (this is {sys.platform})"
        elif not shutil.which(bwrap):
            _PROBES[bwrap] = f"bubblewrap ({bwrap}) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
        else:
            try:
                proc = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                                       "--proc", "/proc", "--dev", "/dev", "true"],
                                      capture_output=True, text=True, timeout=30)
                _PROBES[bwrap] = None if proc.returncode == 0 else (
                    f"bubblewrap cannot create a sandbox here: {proc.stderr.strip() or proc.returncode}")
            except (OSError, subprocess.TimeoutExpired) as err:
                _PROBES[bwrap] = f"bubblewrap cannot create a sandbox here: {err}"
    return _PROBES[bwrap]


def _cgroup_parent(controller):
    """A cgroup folder where this process may make a child limited by `controller`, or None."""
    v1 = Path("/sys/fs/cgroup") / controller
    if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
        return v1
    for v2 in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        control = v2 / "cgroup.subtree_control"
        if control.exists() and os.access(v2, os.W_OK) and controller in control.read_text().split():
            return v2
    return None


def _cgroup_settings(controller, value, v2):
    if controller == "pids":
        return {"pids.max": str(value)}
    period = 100_000
    quota = max(1000, int(value * period))
    return {"cpu.max": f"{quota} {period}"} if v2 else {"cpu.cfs_period_us": str(period), "cpu.cfs_quota_us": str(quota)}


_LEFT_CGROUPS = set()  # cgroups whose last processes were still exiting when their kernel stopped


def _cgroup_empty(group):
    try:
        return (group / "pids.current").read_text().strip() in ("", "0")
    except OSError:
        return True


def _remove_left_cgroups():
    for group in list(_LEFT_CGROUPS):
        try:
            group.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            continue
        _LEFT_CGROUPS.discard(group)


def _remove_left_cgroups_at_exit():
    for _ in range(40):
        _remove_left_cgroups()
        if not _LEFT_CGROUPS:
            return
        time.sleep(0.05)


atexit.register(_remove_left_cgroups_at_exit)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run in a bubblewrap sandbox (module docstring)."""

    allow_unsandboxed = Bool(
        False, help="Where bubblewrap cannot run, start kernels unsandboxed instead of refusing "
                    "(only for a class whose code you trust)").tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable").tag(config=True)
    prlimit = Unicode("prlimit", help="The util-linux prlimit executable that applies the limits").tag(config=True)
    memory_limit = Integer(
        6 * GiB, help="Address space of each sandboxed process, bytes (RLIMIT_AS). A torch kernel "
                      "reserves about 0.6 GB to start; the reference notebook grades at full marks "
                      "under 6 GiB; 0: no limit").tag(config=True)
    process_limit = Integer(
        128, help="Processes and threads in one sandbox (a pids cgroup where one can be made, else "
                  "RLIMIT_NPROC, which does not bind root); 0: no limit").tag(config=True)
    cpu_limit = Float(
        1.0, help="CPUs one sandbox may use at most (a cpu cgroup quota, where one can be made): a fork "
                  "bomb or a spinning thread cannot take the machine; 0: no limit").tag(config=True)
    open_files_limit = Integer(1024, help="Open files per process (RLIMIT_NOFILE); 0: no limit").tag(config=True)
    file_size_limit = Integer(
        64 * MiB, help="Largest file a sandboxed process may write, bytes (RLIMIT_FSIZE); 0: no limit").tag(config=True)
    tmp_size = Integer(
        256 * MiB, help="Size of the private /tmp and /dev/shm of each sandbox (tmpfs, in memory), "
                        "bytes").tag(config=True)
    writable_paths = List(
        Unicode(), help="Folders writable in the sandbox besides the kernel's cwd (normally none)").tag(config=True)
    extra_bwrap_arguments = List(Unicode(), help="More bwrap arguments, put before the command").tag(config=True)
    threads = Integer(
        1, help="CPU threads of the kernel's numeric libraries (OMP_NUM_THREADS, sandboxed or not): a tiny "
                "model trains fastest on one, and parallel graders must not oversubscribe the cores; "
                "0: inherit the grader's environment").tag(config=True)

    sandboxed = None  # True/False once a kernel started; None before

    # ------------------------------------------------------------------ start
    def _sandbox_dir(self):
        if getattr(self, "_sbx_dir", None) is None:
            # a short path: a unix socket path must fit in 107 bytes
            self._sbx_dir = tempfile.mkdtemp(prefix="w13sbx-", dir="/tmp" if os.path.isdir("/tmp") else None)
        return self._sbx_dir

    def _kernel_env(self, env):
        """The kernel's environment: `env` (else this process's), with the `threads` setting."""
        env = dict(os.environ if env is None else env)
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        return env

    async def _async_pre_start_kernel(self, **kw):
        kw["env"] = self._kernel_env(kw.get("env"))
        reason = probe(self.bwrap)
        if reason is not None:
            if not self.allow_unsandboxed:
                raise SandboxUnavailable(
                    f"Refusing to grade: student code must run in a sandbox, and {reason}. "
                    f"To grade a class you trust without a sandbox, set {SWITCH}.")
            self.log.warning("Grading WITHOUT a sandbox (%s): %s", SWITCH, reason)
            self.sandboxed = False
            return await super()._async_pre_start_kernel(**kw)

        folder = self._sandbox_dir()
        if self.transport != "ipc" or not self.ip.startswith(folder):
            self.transport = "ipc"
            self.ip = os.path.join(folder, "k")
            self.connection_file = os.path.join(folder, "kernel.json")
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        kw["cwd"] = cwd
        self.sandboxed = True
        return self._wrap(kernel_cmd, cwd, folder), kw

    def _limits(self):
        out = []
        for flag, value in (("--as", self.memory_limit), ("--nofile", self.open_files_limit),
                            ("--fsize", self.file_size_limit)):
            if value:
                out.append(f"{flag}={value}")
        if self.process_limit and self._cgroup is None:
            out.append(f"--nproc={self.process_limit}")
        return out

    def _make_cgroups(self):
        """A pids cgroup (and a cpu one) for the next kernel, where this process may make them."""
        self._cgroups = {}
        for controller, value in (("pids", self.process_limit), ("cpu", self.cpu_limit)):
            if not value:
                continue
            parent = _cgroup_parent(controller)
            if parent is None:
                self.log.warning("No %s cgroup can be made here: %s", controller,
                                 "processes are limited by RLIMIT_NPROC only" if controller == "pids"
                                 else "CPU time is not limited")
                continue
            v2 = (parent / "cgroup.subtree_control").exists()
            if v2 and self._cgroups:  # one cgroup v2 group holds every controller
                group = next(iter(self._cgroups.values()))
            else:
                group = parent / f"week13-sandbox-{uuid.uuid4().hex[:12]}"
            try:
                group.mkdir(exist_ok=True)
                for name, text in _cgroup_settings(controller, value, v2).items():
                    (group / name).write_text(text)
                self._cgroups[controller] = group
            except OSError as err:
                self.log.warning("Could not make a %s cgroup (%s)", controller, err)
                _LEFT_CGROUPS.add(group)

    @property
    def _cgroup(self):
        return getattr(self, "_cgroups", {}).get("pids")

    def _wrap(self, kernel_cmd, cwd, folder):
        self._remove_cgroup()
        self._make_cgroups()
        size = str(self.tmp_size)
        sandbox = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session",
                   "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                   "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/dev/shm",
                   "--bind", folder, folder]
        # the sandbox's /tmp is private: what the kernel needs from the host's /tmp (a course, a
        # virtual environment or the hidden checks there, as in the tests) is shown read-only
        needed = [cwd, os.path.dirname(kernel_cmd[0]), sys.prefix,
                  *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
        for top in sorted({"/tmp/" + os.path.abspath(p).split("/")[2] for p in needed
                           if os.path.abspath(p).startswith("/tmp/")} - {folder}):
            sandbox += ["--ro-bind", top, top]
        sandbox += ["--bind", cwd, cwd]
        for path in self.writable_paths:
            sandbox += ["--bind", path, path]
        # ipykernel watches its parent, JPY_PARENT_PID, a pid that means nothing in another PID
        # namespace (where the kernel's parent is PID 1); 1 turns the watch off, and
        # --die-with-parent does that job instead.
        sandbox += ["--setenv", "JPY_PARENT_PID", "1", "--setenv", "IPYTHONDIR", "/tmp/.ipython"]
        sandbox += ["--chdir", cwd, *self.extra_bwrap_arguments, "--"]
        command = [self.prlimit, *self._limits(), "--", *sandbox, *kernel_cmd]
        groups = sorted({str(g / "cgroup.procs") for g in getattr(self, "_cgroups", {}).values()})
        if not groups:
            return command
        # join the cgroups first, so that every process of the sandbox is counted in them
        join = " && ".join(f"echo $$ > {shlex.quote(g)}" for g in groups)
        return ["/bin/sh", "-c", f'{join} && exec "$@"', "sandbox", *command]

    # ---------------------------------------------------------------- cleanup
    def _remove_cgroup(self):
        _LEFT_CGROUPS.update(getattr(self, "_cgroups", {}).values())
        self._cgroups = {}
        _remove_left_cgroups()

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        self._remove_cgroup()
        if not restart and getattr(self, "_sbx_dir", None):
            shutil.rmtree(self._sbx_dir, ignore_errors=True)
            self._sbx_dir = None

    def __del__(self):
        self._remove_cgroup()
        folder = getattr(self, "_sbx_dir", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        parent = getattr(super(), "__del__", None)
        if parent:
            parent()
