"""`RobustExecute` (the autograde step; replaces nbgrader's Execute):

* a test cell whose check is in `week13_checks.DECIDED_OUTSIDE` (every hidden
  cell) is not run: its verdict is decided in this process from plain data
  the kernel hands back (coursetools/verdicts.py);
* before every graded test cell, restores the kernel state that student
  code could have changed (autograder/grading_guard.py) and checks,
  through a nonce read back as a user expression, that the restore ran;
* a whole-notebook time limit on top of the per-cell timeout: cells after
  it are not run (and so earn nothing);
* a cell that times out and leaves the kernel busy (a loop that swallows
  KeyboardInterrupt), or a kernel that dies (`os._exit`, a crash), costs
  that cell: the kernel is restarted, the cells that ran fine before are
  replayed silently, and grading goes on with the next cell.
"""

import asyncio
import importlib
import importlib.util
import os
import secrets
import time
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode, default

from .. import KERNEL_MODULES
from .. import outputs as out_limits
from .. import rebuild as rb
from .. import verdicts
from ..notes import add_notes, notes_path
from ..sandbox import KERNEL_OUTPUT
from ._common import _coursedir, error_output, is_test_cell
from week13_checks import _client


def kernel_died() -> NotebookNode:
    """The error of a cell during which the kernel died (in its own code or in a check's request)."""
    return error_output("KernelDied", "the kernel died while running this cell (os._exit, a crash or too much "
                                      "memory); the cells after it ran in a fresh kernel")


class RobustExecute(Execute):
    timeout = Integer(
        60, allow_none=True, help="Seconds one cell may run; a cell past it is interrupted and fails with "
                                  "CellTimeoutError (its message names this limit). `grade-class` "
                                  "overrides it with --RobustExecute.timeout=N").tag(config=True)
    notebook_timeout = Integer(600, help="Seconds for the whole notebook; later cells are not run.").tag(config=True)
    probe_timeout = Integer(5, help="Seconds a kernel has to answer after a timed-out cell.").tag(config=True)
    hidden_modules = List(
        Unicode(), list(KERNEL_MODULES),
        help="Modules the kernel imports when it starts, before any student code, so that they hold the "
             "real torch and builtins: the guard (it restores the kernel's state before each test cell, "
             "see guard_module). The hidden checks are not among them: they are decided in the grader's "
             "process (outside_checks). Installed with the course (`make env`).",
    ).tag(config=True)
    outside_checks = Unicode(
        "week13_checks", help="The module whose DECIDED_OUTSIDE checks (by grade id) are decided in the grader's "
                              "process from plain data the kernel hands back (coursetools/verdicts.py), "
                              "instead of running the test cell's code in the kernel; '' runs every test "
                              "cell in the kernel (then add the checks to hidden_modules and to "
                              "SandboxedKernelManager.readable_modules)").tag(config=True)
    reference_cache = Unicode(
        ".reference_cache", help="Folder (relative to the course's root, or absolute) where the checks decided "
                                 "outside keep their reference values between grading processes, so that "
                                 "each student's process does not train them again; used only with a "
                                 "sandboxed kernel that cannot see it; '' keeps them in memory only"
    ).tag(config=True)
    guard_module = Unicode(
        "grading_guard", help="The module (one of hidden_modules) whose restore(nonce, name) runs before "
                              "every graded test cell").tag(config=True)
    nonce_name = Unicode(
        "__w13_guard_nonce__", help="The builtin the guard leaves the grader's nonce in, read back as a "
                                    "user expression to prove the restore ran").tag(config=True)
    cell_output_limit = Integer(
        1024 ** 2, help="Bytes of output one cell keeps (text and data; an error is always kept); the rest "
                        "is cut with a note in the cell and in the grading notes").tag(config=True)
    notebook_output_limit = Integer(
        8 * 1024 ** 2, help="Bytes of output the whole graded notebook keeps").tag(config=True)

    @default("extra_arguments")
    def _kernel_arguments(self):
        """The kernel's command line, derived from hidden_modules: no input history on disk, the
        kernel's folder off sys.path, and the hidden modules imported at start (from where they are
        installed: `_verify_modules` checks it before the first cell)."""
        return ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.ignore_cwd=True",
                f"--IPKernelApp.exec_lines=['import {', '.join(self.hidden_modules)}']"]

    def _installed_files(self) -> dict[str, str]:
        """{module: file} of hidden_modules as this (the grader's) environment imports them."""
        if getattr(self, "_origins", None) is None:
            self._origins = {}
            for name in self.hidden_modules:
                spec = importlib.util.find_spec(name)
                self._origins[name] = os.path.realpath(spec.origin) if spec and spec.origin else ""
        return self._origins

    async def _verify_modules(self) -> bool:
        """Before any student code runs in a (re)started kernel: the hidden modules it imported are
        the installed files, not a file of the same name the submission brought."""
        expected = self._installed_files()
        expression = ("'|'.join(__import__('os').path.realpath(getattr(__import__('sys').modules.get(n), '__file__', '') "
                      f"or '') for n in {list(expected)!r})")
        reply = await self._run_quietly("pass", self.probe_timeout, user_expressions={"files": expression})
        if reply is None:
            return False
        value = reply["content"].get("user_expressions", {}).get("files", {})
        return value.get("status") == "ok" and value.get("data", {}).get("text/plain") == repr("|".join(expected.values()))

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's handler of one output message, bounded: past the cell's or the notebook's
        output limit a plain output is not kept (the memory of a flood stays bounded; the saved
        notebook is cut exactly afterwards, `outputs.limit_outputs`)."""
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or out.get("output_type") == "error":
            return out
        size = out_limits.output_bytes(out)
        used = self._output_bytes.get(cell_index, 0)
        if display_id is None and outs and outs[-1] is out and (
                used + size > 2 * self.cell_output_limit or self._output_total + size > 2 * self.notebook_output_limit):
            outs.pop()
            return None
        self._output_bytes[cell_index] = used + size
        self._output_total += size
        return out

    def timeout_error(self) -> dict:
        """The error a timed-out cell shows, derived from the timeout in force."""
        message = f"the cell ran longer than {self.timeout} s and was interrupted"
        return {"ename": "CellTimeoutError", "evalue": message, "traceback": [f"CellTimeoutError: {message}"]}

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = None  # set when the first cell starts: kernel start-up is not the student's time
        self._replay = []  # sources of the cells that ran without error, in order
        self._sandboxed = None  # how the kernel ran, read while it runs (nbclient drops km at the end)
        self._limits = None  # how the sandbox bounded processes and CPU (SandboxedKernelManager.limits_in_force)
        self._km_seen = None
        self._modules_ok = None  # whether the hidden modules came from where they are installed
        self._output_bytes, self._output_total = {}, 0
        self._executed = 0  # the last execution count a cell got
        self._probe = {"installed": False}  # whether the kernel holds the checks' probe (verdicts.GradingKernel)
        self.error_on_timeout = self.timeout_error()  # from the timeout in force (a flag may change it)
        grading = bool(resources and "nbgrader" in resources)
        self._keep_in = (str(Path(resources.get("metadata", {}).get("path") or ".") / KERNEL_OUTPUT)
                         if grading else None)
        nb, resources = super().preprocess(nb, resources, km)
        cut = out_limits.limit_outputs(nb, self.cell_output_limit, self.notebook_output_limit)
        if grading:  # autograding: say how the kernel ran, and what it left
            sandboxed = self._sandboxed
            mode = "sandboxed" if sandboxed else "unsandboxed" if sandboxed is False else "plain kernel"
            notes, review = [], []
            if cut:
                ids = [rb.grade_id(nb.cells[i]) or f"cell {i + 1}" for i in cut]
                notes.append(f"output cut to the limits ({self.cell_output_limit // 1024:,} KiB a cell, "
                             f"{self.notebook_output_limit // 1024:,} KiB the notebook) in " + ", ".join(ids[:8])
                             + (f" and {len(ids) - 8} more cells" if len(ids) > 8 else ""))
            dropped = list(getattr(self._km_seen, "dropped", []) or [])
            if dropped:
                review.append("review by hand: the notebook left files that were not kept: " + ", ".join(dropped[:12])
                              + (f" and {len(dropped) - 12} more" if len(dropped) > 12 else ""))
            if self._modules_ok is False:
                review.append("review by hand: the grading modules did not load from where they are installed")
            extra = {"limits": dict(self._limits)} if self._limits else {}
            add_notes(notes_path(_coursedir(self), resources), mode=mode, notes=notes, review=review, **extra)
        return nb, resources

    async def _run_quietly(self, code, timeout, user_expressions=None):
        """Execute `code` outside the notebook's record; the reply, or None on timeout. A request that
        ipykernel aborted (it arrived in the window after an earlier request failed with stop_on_error,
        a race in ipykernel 7) is sent again: it never ran."""
        for _ in range(3):
            try:
                reply = await self.kc.execute_interactive(
                    code, silent=True, store_history=False, user_expressions=user_expressions or {},
                    timeout=timeout, output_hook=lambda msg: None, stop_on_error=False)
            except TimeoutError:
                return None
            if reply.get("content", {}).get("status") != "aborted":
                return reply
            await asyncio.sleep(0.05)
        return reply

    async def _restart_and_replay(self):
        self.log.warning("Restarting the kernel and replaying %d cells", len(self._replay))
        await self.km.restart_kernel(now=True)
        await self.kc.wait_for_ready(timeout=self.startup_timeout)
        self._modules_ok = await self._verify_modules() and self._modules_ok is not False
        for source in self._replay:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0 or await self._run_quietly(source, min(self.timeout or remaining, remaining)) is None:
                break

    def _outside_check(self, cell):
        """The module that decides this test cell outside the kernel, or None."""
        if not self.outside_checks or not is_test_cell(cell):
            return None
        checks = importlib.import_module(self.outside_checks)
        return checks if rb.grade_id(cell) in checks.DECIDED_OUTSIDE else None

    async def _ask(self, code, timeout):
        """One request of a check decided outside: (reply or None on timeout, whether the kernel lives)."""
        task = asyncio.ensure_future(self._run_quietly(code, timeout, user_expressions={"r": verdicts.REPLY}))
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.5)
            if done:
                return task.result(), True
            if not await self.km.is_alive():
                task.cancel()
                return None, False

    def reference_folder(self):
        """Where the checks keep reference values on disk, or None: only for a sandboxed kernel, and
        only a folder its sandbox does not show (an unsandboxed kernel could write the values that
        later students are compared with)."""
        if not self.reference_cache or self._sandboxed is not True:
            return None
        folder = Path(_coursedir(self).root) / self.reference_cache
        shows = getattr(self._km_seen, "shows", None)
        return None if shows is None or shows(folder) else folder

    async def _decide_outside(self, cell, checks, remaining):
        """The test cell's verdict from plain data the kernel hands back; its code is not run. The
        guard still runs first, so that hooks a submission left (an input transformer that blanks
        every cell) do not cost a correct answer its points; the verdict never depends on it."""
        await self._guard()
        use_folder = getattr(checks, "use_reference_folder", None)
        if use_folder is not None:
            use_folder(self.reference_folder())
        kernel = verdicts.GradingKernel(self._ask, asyncio.get_running_loop(),
                                        time.monotonic() + min(self.timeout or remaining, remaining), self._probe)
        self._executed += 1
        cell.execution_count = self._executed
        started = time.monotonic()
        try:
            message = await verdicts.decide_in_thread(checks, rb.grade_id(cell), kernel)
        except Exception as e:  # the kernel died (or the transport broke) while serving a request
            cell.outputs = [kernel_died() if isinstance(e, _client.KernelDied)
                            else error_output("GradingError", f"the check stopped: {type(e).__name__}")]
            await self._restart_and_replay()
            return cell
        self.log.debug("%s decided outside the kernel in %.3f s, %d requests", rb.grade_id(cell),
                       time.monotonic() - started, kernel.requests)
        visible = rb.grade_id(cell) in getattr(checks, "VISIBLE", ())
        cell.outputs = [] if message is None else [verdicts.failed_output(message, visible)]
        if kernel.interrupted:
            await self.km.interrupt_kernel()
            if await self._run_quietly("pass", self.probe_timeout) is None:
                cell.outputs.append(error_output(
                    "KernelUnresponsive", "the check ran past its time limit and the code it called ignored the "
                                          "interrupt; the cells after it ran in a fresh kernel"))
                await self._restart_and_replay()
        return cell

    async def _guard(self):
        """Restore the kernel's state before a test cell; False when the submission prevents it."""
        nonce = secrets.token_hex(8)
        reply = await self._run_quietly(
            f"import sys as __w13_sys; __w13_sys.modules[{self.guard_module!r}].restore({nonce!r}, {self.nonce_name!r})",
            self.probe_timeout, user_expressions={"nonce": self.nonce_name})
        if reply is None:
            return False
        value = reply["content"].get("user_expressions", {}).get("nonce", {})
        return value.get("status") == "ok" and value.get("data", {}).get("text/plain") == repr(nonce)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self._km_seen is None:
            self._km_seen = self.km
            self._sandboxed = getattr(self.km, "sandboxed", None)
            self._limits = getattr(self.km, "limits_in_force", None) if self._sandboxed else None
            if self._keep_in and hasattr(self.km, "keep_files_in"):
                self.km.keep_files_in = self._keep_in  # what the kernel wrote, kept in the graded folder
        if self._modules_ok is None:  # the kernel has run no student code yet
            self._modules_ok = await self._verify_modules()
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self._deadline is None:
            self._deadline = time.monotonic() + self.notebook_timeout
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            cell.outputs = [error_output("NotebookTimeout",
                                         f"not run: the notebook's time limit of {self.notebook_timeout} s was used up")]
            cell.execution_count = None
            return cell
        checks = self._outside_check(cell)
        if checks is not None:
            return await self._decide_outside(cell, checks, remaining)
        if is_test_cell(cell) and not self._modules_ok:
            cell.outputs = [error_output("GradingInterference", "not graded: the grading modules did not load from "
                                         "where the course installed them (a file of the same name beside the "
                                         "notebook?)")]
            cell.execution_count = None
            return cell
        if is_test_cell(cell) and not await self._guard():
            cell.outputs = [error_output("GradingInterference", "not graded: the submission keeps the grader from "
                                         "resetting the kernel (input transformers, hooks or patched modules)")]
            cell.execution_count = None
            await self._restart_and_replay()
            return cell
        try:
            await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            self._executed = max(self._executed, cell.get("execution_count") or 0)
        except DeadKernelError:
            cell.outputs.append(kernel_died())
            await self._restart_and_replay()
            return cell
        failed = any(o.output_type == "error" for o in cell.outputs)
        timed_out = any(o.output_type == "error" and o.ename == "CellTimeoutError" for o in cell.outputs)
        if timed_out and await self._run_quietly("pass", self.probe_timeout) is None:
            cell.outputs.append(error_output(
                "KernelUnresponsive", "the cell ran past its time limit and ignored the interrupt; "
                                      "the cells after it ran in a fresh kernel"))
            await self._restart_and_replay()
        elif not failed:
            self._replay.append(cell.source)
        return cell

    # nbclient binds execute_cell to its own coroutine when the class is made; rebind it to ours.
    execute_cell = run_sync(async_execute_cell)
