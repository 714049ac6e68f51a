"""The one exception type a hidden check raises, and the checks every exercise shares."""

from collections.abc import Mapping

from ._pristine import float, isinstance, len, list, type

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


def expect_floats_per_epoch(values, epochs, label, hint=lambda v: ""):
    """`values` (e.g. history['train_loss']) is a list of `epochs` Python floats; `hint(v)` is
    appended to the message about a value `v` that is not a float."""
    got = f"a list of {len(values)}" if type(values) is list else f"a {type(values).__name__}"
    expect(type(values) is list and len(values) == epochs,
           f"{label} should be a list of {epochs} Python floats (one per epoch), got {got}")
    for v in values:
        if type(v) is not float:
            raise CheckFailed(f"{label} should hold Python floats, got {type(v).__name__}{hint(v)}")


def is_mapping(value):
    """A dict or any other mapping (OrderedDict, defaultdict, ...): the exercises ask for a mapping."""
    return isinstance(value, Mapping)
