"""Checks decided outside the grading kernel: the transport between the grader and the kernel.

A check of `week13_checks.DECIDED_OUTSIDE` runs here, in the grader's process, in a thread of
its own (`decide_in_thread`). Every request it makes crosses into the sandboxed kernel over the
kernel's own shell channel, as one `execute_request` that calls the probe (week13_checks/_probe.py,
whose text this module sends into the kernel): its answer comes back as a user expression, a
string, which is read with `ast.literal_eval` (literals only) and parsed as JSON
(`_client.parse`): data, never objects, never pickle. An answer that is not such data is a failed
check with a clear message. Each request is bounded in time by what is left of the check's
budget (the cell's timeout); past it the kernel is interrupted and the check fails. A kernel
that dies while serving a request ends the check at once (`KernelDied`).
"""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from week13_checks import _client, _probe

PROBE_SOURCE = Path(_probe.__file__).read_text()
REPLY = "__w13_reply__"
_INSTALL = ("if '__w13_serve__' not in globals():\n"
            "    __w13_probe_ns__ = {'__name__': '__w13_probe__'}\n"
            f"    exec(compile({PROBE_SOURCE!r}, '<week13 probe>', 'exec'), __w13_probe_ns__)\n"
            "    __w13_serve__ = __w13_probe_ns__['serve']\n")


def request_code(request: str, install: bool = True) -> str:
    """The code one request runs in the kernel: the request served into the variable the grader
    reads back, after (`install`) the probe installed where it is missing. The probe's text is
    most of a request's cost (4 of 10 ms measured), so it is sent once per kernel, and again
    whenever the kernel answers that it lacks the probe (a restarted kernel, or a submission that
    deleted it)."""
    return (_INSTALL if install else "") + f"{REPLY} = __w13_serve__(globals(), {request!r})\n"


def _lacks_probe(reply: dict | None) -> bool:
    content = (reply or {}).get("content", {})
    return content.get("status") == "error" and content.get("ename") == "NameError"


def answer_text(reply: dict | None) -> str:
    """The answer string in an execute_reply; `_client.Malformed` when there is none."""
    if reply is None:
        raise _client.Malformed("no answer")
    content = reply.get("content", {})
    if content.get("status") != "ok":
        raise _client.Malformed(f"the request failed in the kernel ({str(content.get('ename'))[:80]})")
    value = content.get("user_expressions", {}).get("r", {})
    text = value.get("data", {}).get("text/plain") if value.get("status") == "ok" else None
    if type(text) is not str or len(text) > 2 * _client.MAX_REPLY:
        raise _client.Malformed("the kernel's answer is missing or too large")
    try:
        answer = ast.literal_eval(text)
    except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError):
        raise _client.Malformed("the kernel's answer is not a string literal") from None
    if type(answer) is not str:
        raise _client.Malformed("the kernel's answer is not a string")
    return answer


class GradingKernel(_client.Kernel):
    """The sandboxed kernel of a RobustExecute, seen from a check's thread.

    `ask(code, timeout) -> (reply | None, alive)` is a coroutine of the executor, run on its
    event loop; `deadline` (time.monotonic) bounds the whole check."""

    def __init__(self, ask, loop: asyncio.AbstractEventLoop, deadline: float, probe: dict | None = None):
        super().__init__()
        self._ask, self._loop, self._deadline = ask, loop, deadline
        self._probe = {} if probe is None else probe  # {"installed": bool}, the executor's for its kernel
        self.interrupted = False
        self.requests = 0  # sent so far (the grader's debug log shows them per check)

    def _send(self, request: str) -> str:
        reply = self._round_trip(request, install=not self._probe.get("installed"))
        if _lacks_probe(reply):
            reply = self._round_trip(request, install=True)
        self._probe["installed"] = not _lacks_probe(reply)
        return answer_text(reply)

    def _round_trip(self, request: str, install: bool) -> dict:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.interrupted = True
            raise _client.Interrupted()
        self.requests += 1
        future = asyncio.run_coroutine_threadsafe(self._ask(request_code(request, install), remaining), self._loop)
        reply, alive = future.result()
        if not alive:
            raise _client.KernelDied()
        if reply is None:
            self.interrupted = True
            raise _client.Interrupted()
        return reply


async def decide_in_thread(checks: Any, grade_id: str, kernel: GradingKernel) -> str | None:
    """`checks.decide(grade_id, kernel)` in a worker thread, so that the event loop stays free to
    carry the kernel's messages; its message, or None when the check passes."""
    return await asyncio.to_thread(checks.decide, grade_id, kernel)


def failed_output(message: str, visible: bool = False) -> NotebookNode:
    """The error output of a failed check, as the kernel would render a CheckFailed, or for a
    visible test cell the AssertionError its own code raises."""
    if visible:  # "<exception name>: <message>" (week13_checks.decide)
        ename, _, evalue = message.partition(": ")
        return nbformat.v4.new_output("error", ename=ename if ename.isidentifier() else "AssertionError",
                                      evalue=evalue if ename.isidentifier() else message, traceback=[message])
    return nbformat.v4.new_output("error", ename="CheckFailed", evalue=message,
                                  traceback=[f"Hidden test failed: {message}"])


__all__ = ["GradingKernel", "answer_text", "decide_in_thread", "failed_output", "request_code"]
