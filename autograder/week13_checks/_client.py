"""The grader's side of a check decided outside the kernel: requests out, plain data back.

A check of this kind is a function of a `Kernel`: it asks the kernel to run the student's code on
inputs it chose (`new`, `item`, `attr`, `batches`, ...), gets plain data back (see _probe.py) and
decides from that data, against references it computed itself. It never sees an object of the
student's interpreter, so no code in the notebook can change its verdict except by handing back
the right values.

Two kernels speak the same requests:
- `LocalKernel(ns)`: the probe runs in this interpreter, on the namespace `ns`. The source
  notebook's hidden cells use it (`run(grade_id, globals())`: nbval, the instructor's own run);
  the answers still go through JSON text, so both paths read the same data.
- the grading kernel, across the sandbox (coursetools/verdicts.py, used by RobustExecute).

What comes back is parsed as JSON only, bounded in size; anything else is a failed check.
"""

import hashlib
import json
import secrets

from . import _probe

MAX_REPLY = 8 * 1024 ** 2  # characters of one answer


class Raised(Exception):
    """The student's code raised while serving a request: its exception's class names and message."""

    def __init__(self, types, message):
        super().__init__(message)
        self.types, self.message = types, message

    @property
    def type_name(self):
        return self.types[0] if self.types else "Exception"

    def is_a(self, name):
        """True when the exception is a `name` (or a subclass of it, e.g. FileNotFoundError of OSError)."""
        return name in self.types


class Malformed(Exception):
    """The kernel's answer is not the data a request gets back (too large, not JSON, wrong shape)."""


class Interrupted(Exception):
    """A request ran past the check's time limit (the kernel was interrupted)."""


class KernelDied(Exception):
    """The kernel died while serving a request."""


def parse(text):
    """The result of one answer: its "ok" data, or `Raised`; `Malformed` for anything else."""
    if type(text) is not str or len(text) > MAX_REPLY:
        raise Malformed("the kernel's answer is not text of at most 8 MiB")
    try:
        reply = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise Malformed(f"the kernel's answer is not JSON ({type(e).__name__})") from None
    return answer(reply)


def answer(reply):
    """The "ok" data of one parsed answer; `Raised` for an exception, `Malformed` for anything else."""
    if type(reply) is not dict:
        raise Malformed("the kernel's answer is not a JSON object")
    if "ok" in reply:
        return reply["ok"]
    raised = _reported(reply.get("raised"))
    if raised is not None:
        raise raised
    raise Malformed("the kernel's answer has neither a result nor an exception")


def _reported(raised):
    """The `Raised` of an exception reported as data (_probe.raised), or None when it is not one."""
    if type(raised) is dict and type(raised.get("types")) is list and type(raised.get("message")) is str:
        return Raised([str(t) for t in raised["types"]][:64], raised["message"][:_probe.MAX_MESSAGE])
    return None


def raise_reported(raised):
    """Raise the student's exception that a fixture met and reported as data: `Raised`, or
    `Malformed` when the report is not one."""
    raise _reported(raised) or Malformed("the kernel's answer lacks the exception it met")


class Kernel:
    """Requests, as methods. `_send(request_text) -> answer_text` is the transport."""

    def __init__(self):
        self._handles = 0
        self._prefix = f"h{secrets.token_hex(4)}_"  # handles of one check never name another check's objects

    def _send(self, request):
        raise NotImplementedError

    def call(self, op, **fields):
        return parse(self._send(json.dumps({"op": op, **fields})))

    def new(self, name, *args, **kwargs):
        """Call the notebook's `name` (a class or function) with `args`; a handle to what it returned."""
        self._handles += 1
        handle = f"{self._prefix}{self._handles}"
        self.call("new", bind=handle, name=name, args=list(args), kwargs=kwargs)
        return handle

    def csv(self, name, text):
        """Write an input file where the kernel can read it; its path there."""
        return value(self.call("csv", name=name, text=text), str)

    def path(self, name):
        """A path beside the input files, not written."""
        return value(self.call("path", name=name), str)

    def fixture(self, name, sources, function, **kwargs):
        """Call `function(ns, **kwargs)` of the fixture `name`: code (sources, as text) that builds
        a check's inputs in the kernel, calls the student's code and returns plain data. The sources
        are sent when the kernel lacks them (the first check of a kernel that uses them: the probe
        keeps them under their digest), so most checks take one round trip."""
        sources = list(sources)
        digest = hashlib.sha256("\0".join(sources).encode()).hexdigest()
        d = self.call("call", fixture=name, digest=digest, function=function, kwargs=kwargs)
        if kind(d) == "undefined":
            self.call("define", name=name, digest=digest, sources=sources)
            d = self.call("call", fixture=name, digest=digest, function=function, kwargs=kwargs)
        if kind(d) != "data":
            raise Malformed(f"expected the data of {function}, got {type_name(d)}")
        return d.get("value")

    def item(self, handle, index):
        return self.call("item", obj=handle, index=index)

    def items_at(self, handle, indices):
        """`handle[i]` for every i, in one round trip: for each, its description or the `Raised` of
        the exception it raised (not raised here: the caller meets it where it reads that item)."""
        indices = list(indices)
        if len(indices) > _probe.MAX_ITEMS:
            raise ValueError(f"at most {_probe.MAX_ITEMS} items per request")
        d = self.call("each", requests=[{"op": "item", "obj": handle, "index": i} for i in indices])
        if kind(d) != "answers" or type(d.get("items")) is not list or len(d["items"]) != len(indices):
            raise Malformed(f"expected {len(indices)} answers, got {type_name(d)}")
        out = []
        for reply in d["items"]:
            try:
                out.append(answer(reply))
            except Raised as e:
                out.append(e)
        return out

    def attr(self, handle, name):
        return self.call("attr", obj=handle, name=name)

    def len(self, handle):
        return self.call("len", obj=handle)

    def batches(self, handle, batch_size):
        return items(self.call("batches", obj=handle, batch_size=batch_size))


class LocalKernel(Kernel):
    """The probe in this interpreter, on the namespace `ns` (the notebook's globals)."""

    def __init__(self, ns):
        super().__init__()
        self._ns = ns

    def _send(self, request):
        return _probe.serve(self._ns, request)


def handle_attr(handle, attr):
    """A request argument: attribute `attr` of the object behind `handle`, read in the kernel."""
    return {"__handle__": handle, "attr": attr}


def tensor(values, dtype):
    """A request argument: a tensor the kernel builds (torch.tensor(values, dtype=torch.<dtype>))."""
    return {"__tensor__": values, "dtype": dtype}


def ndarray(values, dtype):
    """A request argument: a NumPy array the kernel builds."""
    return {"__ndarray__": values, "dtype": dtype}


# --- reading what came back (every reader fails with Malformed on data of another shape) ---

def kind(d):
    return d.get("kind") if type(d) is dict else None


def pairs(d):
    """The (key, value) descriptions of a described mapping."""
    if kind(d) != "mapping" or type(d.get("items")) is not list:
        raise Malformed(f"expected a mapping, got {type_name(d)}")
    out = []
    for pair in d["items"]:
        if type(pair) is not list or len(pair) != 2:
            raise Malformed("a mapping's item is not a pair")
        out.append((pair[0], pair[1]))
    return out


def lookup(d, key):
    """The description of the value under the string `key` of a described mapping, or None."""
    for k, v in pairs(d):
        if kind(k) == "str" and k.get("value") == key:
            return v
    return None


def type_name(d):
    """The Python type name the kernel reported."""
    k = kind(d)
    if k in ("tensor", "other", "mapping", "npscalar"):
        return str(d.get("type"))
    return {"none": "NoneType"}.get(k, str(k))


def value(d, *types):
    """The plain value of a described int, float, bool, str or None."""
    if kind(d) not in ("int", "float", "bool", "str", "none") or (types and type(d.get("value")) not in types):
        raise Malformed(f"expected {' or '.join(t.__name__ for t in types) or 'a plain value'}, got {type_name(d)}")
    return d.get("value")


def items(d):
    """The elements of a described list or tuple."""
    if kind(d) not in ("list", "tuple") or type(d.get("items")) is not list:
        raise Malformed(f"expected a list or a tuple, got {type_name(d)}")
    return d["items"]


def is_plain_tensor(d):
    """An exact torch.Tensor (no subclass, no lookalike)."""
    return kind(d) == "tensor" and d.get("exact") is True


def shape_of(d):
    shape = d.get("shape") if kind(d) == "tensor" else None
    if type(shape) is not list or not all(type(n) is int for n in shape):
        raise Malformed("a tensor without a shape")
    return tuple(shape)


def dtype_of(d):
    """torch's name of the dtype, e.g. 'torch.float32'."""
    return f"torch.{d.get('dtype')}" if kind(d) == "tensor" else "no dtype"


def values(d):
    """The numbers of a described tensor as nested lists of Python numbers (or one number)."""
    if not is_plain_tensor(d):
        raise Malformed(f"expected a tensor, got {type_name(d)}")
    if "values" not in d:
        raise Malformed(f"a tensor of shape {d.get('shape')} has too many values to compare")
    return _numbers(d["values"])


def _numbers(v):
    if type(v) is list:
        return [_numbers(x) for x in v]
    if type(v) in (int, float) or type(v) is bool:
        return v
    raise Malformed("a tensor's values are not numbers")
