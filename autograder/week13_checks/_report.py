"""The one exception type a hidden check raises."""

_MAX = 400


class CheckFailed(AssertionError):
    """A hidden test failed; the message says what to fix.

    IPython calls `_render_traceback_` instead of printing frames, so the
    notebook and the feedback show only this line: no hidden-test source,
    no file paths.
    """

    def __init__(self, message):
        message = str(message)
        if len(message) > _MAX:
            message = message[: _MAX - 3] + "..."
        super().__init__(message)

    def _render_traceback_(self):
        return [f"Hidden test failed: {self.args[0]}"]


def expect(condition, message):
    """Fail with `message` unless `condition` is true (a real bool)."""
    if condition is not True:
        raise CheckFailed(message)
