"""A test-only Dask worker plugin: the worker process dies as soon as it starts grading a marked
student, as if that student's notebook crashed every machine it landed on (the sandbox keeps
student code itself from reaching the worker, so the test plays the crash from outside).

tests/test_distributed.py registers it on the workers; their PYTHONPATH includes tests/."""

import os

from distributed.diagnostics.plugin import WorkerPlugin


class KillWorkerOn(WorkerPlugin):
    name = "week13-kill-worker-on"

    def __init__(self, student):
        self.student = student

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and f"-{self.student}-" in str(key):
            os._exit(137)
