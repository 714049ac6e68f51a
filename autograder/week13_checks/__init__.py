"""Hidden tests for Week 13: Exercises 1, 2 and 4.

This package lives outside `source/`, so it never reaches `release/`. The
source notebook's hidden test cells call it with one line,

    __import__("week13_checks").run("<grade id>", globals())

inside `### BEGIN HIDDEN TESTS` markers. `make env` installs it (as the module
`week13_checks`). Every check is a function of a `Kernel` (_client.py), registered by grade id in
`DECIDED_OUTSIDE`. When grading, the grader (coursetools/verdicts.py, in RobustExecute) runs it
in its own process: it sends data requests into the sandboxed kernel, gets plain data back and
decides against references computed here; the cell's own code is not run, and the kernel never
sees this package. In the source notebook (nbval, the instructor's own run) `run()` gives the
check a `LocalKernel` on the notebook's globals: the same requests, the same verdict.

A failing check raises `CheckFailed`, which IPython renders as one line
(no traceback frames, no path, no hidden source).
"""

from . import _cache, _client, _pristine as P
from . import ex1, ex2, ex4, visible
from ._report import CheckFailed

# The registry, by grade id: one dict per exercise module, no registration on import.
DECIDED_OUTSIDE = {**ex1.CHECKS, **ex2.CHECKS, **ex4.CHECKS, **visible.CHECKS}
# Of those, the visible test cells: students run them as written; when grading, their twins in
# visible.py decide, and a failure shows as the cell's own AssertionError would.
VISIBLE = frozenset(visible.CHECKS)

INTERRUPTED = "interrupted: your code ran past the cell's time limit (an endless loop, or far too much work)"


def decide(grade_id, kernel):
    """The verdict of the check `grade_id` that is decided outside the kernel: None when it
    passes, else the one-line message (for a visible cell, "<exception name>: <message>", as the
    cell itself would show it: AssertionError for its assertions). `kernel` serves its requests (a LocalKernel, or the grading
    kernel across the sandbox). Whatever the kernel hands back, this returns a message or None;
    only a dead kernel (`_client.KernelDied`) goes up to the caller."""
    fn = DECIDED_OUTSIDE[grade_id]
    visible = grade_id in VISIBLE
    try:
        fn(kernel)
    except CheckFailed as e:
        return f"AssertionError: {e.args[0]}" if visible else e.args[0]
    except _client.KernelDied:
        raise
    except _client.Interrupted:
        return f"CellTimeoutError: {grade_id}: {INTERRUPTED}" if visible else f"{grade_id}: {INTERRUPTED}"
    except _client.Raised as e:
        if visible:  # as the cell shows it: the student's exception, its message
            return f"{e.type_name}: {e.message}"
        if e.is_a("NameError"):
            return f"{grade_id}: {e.message} (run the solution cell of this exercise first)"
        return f"{grade_id}: your code raised {e.type_name}: {e.message}"
    except _client.Malformed as e:
        return f"{grade_id}: the answer could not be read as data: {e}"
    except Exception as e:  # data of an unexpected shape reached a comparison
        return f"{grade_id}: the answer could not be checked ({type(e).__name__}: {str(e)[:200]})"
    return None


def use_reference_folder(path):
    """Keep the reference values in `path` between grading processes (None: in this process only);
    the grader calls it before each check (see _cache.py)."""
    _cache.use_folder(path)


def _shell():
    """The running IPython shell, or None (a check run outside a kernel)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _one_line_errors_until_the_cell_ends():
    """Render any error in the rest of the running cell as one line, without source context.

    A hidden test cell goes on after its hidden region (a visible smoke line
    for Validate); if that line fails, IPython's usual traceback would print
    the neighbouring source lines, hidden ones included. The handler is
    removed again when the cell finishes.
    """
    shell = _shell()
    if shell is None:
        return

    def one_line(self, etype, value, tb, tb_offset=None):
        if P.isinstance(value, CheckFailed):
            stb = value._render_traceback_()
        else:
            stb = [f"{etype.__name__}: {value}"[:500]]
        self._showtraceback(etype, value, stb)  # publishes the error output, as IPython would
        return stb

    def reset(*args):
        shell.set_custom_exc((), None)
        shell.events.unregister("post_run_cell", reset)

    shell.set_custom_exc((BaseException,), one_line)
    shell.events.register("post_run_cell", reset)


def run(grade_id, ns):
    """Run the hidden check `grade_id` against the notebook namespace `ns`."""
    _one_line_errors_until_the_cell_ends()
    if grade_id not in DECIDED_OUTSIDE:  # an instructor error, never a student's
        raise KeyError(f"no hidden check registered for {grade_id!r}")
    try:
        message = decide(grade_id, _client.LocalKernel(ns))
    except KeyboardInterrupt:  # the cell's time limit interrupted the check: one line, no frames
        raise CheckFailed(f"{grade_id}: {INTERRUPTED}") from None
    if message is not None:
        raise CheckFailed(message)
    if grade_id.startswith("ex2_"):
        _reference_training_until_the_cell_ends(ns)


def _reference_training_until_the_cell_ends(ns):
    """After a passing Exercise 2 check, the cell's visible smoke line (kept for Validate) runs with
    the reference train_epoch/evaluate too, as the check did: a mistake in Cell 4 costs points in
    Cell 4 only."""
    shell = _shell()
    if shell is None:
        return
    from ._reference import evaluate, train_epoch

    saved = {name: ns.get(name) for name in ("train_epoch", "evaluate")}
    ns["train_epoch"], ns["evaluate"] = train_epoch, evaluate

    def restore(*args):
        ns.update(saved)
        shell.events.unregister("post_run_cell", restore)

    shell.events.register("post_run_cell", restore)


__all__ = ["run", "decide", "use_reference_folder", "CheckFailed", "DECIDED_OUTSIDE", "VISIBLE"]
