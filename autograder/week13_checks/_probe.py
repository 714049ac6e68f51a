"""The kernel side of a check decided outside the kernel: a small interpreter of data requests.

The grader (coursetools/verdicts.py) sends this file's text into the grading kernel, once per
kernel, and then one request at a time: a JSON object that names an operation on the student's
code (build a dataset, index it, read an attribute, batch it with a DataLoader, write an input
file). `serve` runs it in the notebook's namespace and answers with JSON made of plain values
only: numbers, strings, lists, and tensors described as dtype, shape and nested lists of numbers.
The grader compares those values with references it computed itself, outside the kernel.

Nothing here is trusted: a submission may replace any of it, and then only changes the data it
hands back. The file holds no expected value and imports nothing of the hidden checks, so it may
be read in the kernel. It is self-contained (the grader sends its text, not a module name).
"""

import json
import os
import tempfile

MAX_VALUES = 100_000  # numbers of one tensor that cross; a larger tensor crosses as dtype and shape only
MAX_ITEMS = 1_000  # elements of one list or tuple, and batches of one DataLoader
MAX_MESSAGE = 500  # characters of an exception's message

_objects = {}  # handle -> object built by a request
_fixtures = {}  # name -> (digest, namespace) of a fixture's sources (code of the check's inputs, sent as text)
_folder = []  # the request files' folder, made on first use


def _tmp(name):
    if not _folder:
        _folder.append(tempfile.mkdtemp(prefix="w13-probe-"))
    return os.path.join(_folder[0], os.path.basename(name))


def _decode(arg):
    """A request argument: plain JSON, or a tagged value (a handle's attribute, a tensor, an array)."""
    if type(arg) is list:
        return [_decode(a) for a in arg]
    if type(arg) is not dict:
        return arg
    if "__handle__" in arg:
        obj = _objects[arg["__handle__"]]
        return getattr(obj, arg["attr"]) if "attr" in arg else obj
    if "__tensor__" in arg:
        import torch
        return torch.tensor(arg["__tensor__"], dtype=getattr(torch, arg["dtype"]))
    if "__ndarray__" in arg:
        import numpy
        return numpy.asarray(arg["__ndarray__"], dtype=arg["dtype"])
    return {k: _decode(v) for k, v in arg.items()}


def describe(value, depth=0):
    """Plain data about `value`: what the grader may compare. Tensors are described through the
    C methods of torch's TensorBase, NumPy arrays and scalars through their own `tolist`/`item`,
    lists, tuples and mappings element by element (four levels deep)."""
    import torch
    kind = type(value)
    if isinstance(value, torch.Tensor):
        base = torch._C.TensorBase
        shape = list(base.shape.__get__(value))
        out = {"kind": "tensor", "exact": kind is torch.Tensor, "type": kind.__name__,
               "dtype": str(base.dtype.__get__(value)).replace("torch.", ""), "shape": shape,
               "device": str(base.device.__get__(value))}
        if base.numel(value) <= MAX_VALUES:
            out["values"] = base.tolist(base.cpu(base.detach(value)))
        return out
    if value is None or kind in (bool, int, float, str):
        return {"kind": "none" if value is None else kind.__name__,
                "value": value[:MAX_MESSAGE * 20] if kind is str else value}
    numpy = _numpy()
    if numpy is not None and kind is numpy.ndarray:
        out = {"kind": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape)}
        if value.size <= MAX_VALUES and value.dtype.kind in "biuf":
            out["values"] = value.tolist()
        return out
    if numpy is not None and isinstance(value, numpy.generic):
        return {"kind": "npscalar", "type": kind.__name__, "number": isinstance(value, numpy.number)
                and value.dtype.kind in "iuf", "value": value.item() if value.dtype.kind in "biuf" else None}
    if kind in (list, tuple) and depth < 4:
        return {"kind": kind.__name__, "length": len(value),
                "items": [describe(v, depth + 1) for v in value[:MAX_ITEMS]]}
    if _is_mapping(value) and depth < 4:
        pairs = list(value.items())
        return {"kind": "mapping", "type": kind.__name__, "length": len(pairs),
                "items": [[describe(k, depth + 1), describe(v, depth + 1)] for k, v in pairs[:MAX_ITEMS]]}
    return {"kind": "other", "type": kind.__name__}


def _numpy():
    import sys
    return sys.modules.get("numpy")


def _is_mapping(value):
    from collections.abc import Mapping
    return isinstance(value, Mapping)


def _run(ns, op):
    what = op["op"]
    if what == "csv":  # an input file the grader chose, written where the kernel can read it
        path = _tmp(op["name"])
        with open(path, "w", newline="") as f:
            f.write(op["text"])
        return describe(path)
    if what == "path":  # a file name in the same folder, not written
        return describe(_tmp(op["name"]))
    if what == "new":
        _objects.pop(op["bind"], None)
        if op["name"] not in ns:
            raise NameError(f"name {op['name']!r} is not defined")
        obj = ns[op["name"]](*_decode(op.get("args", [])), **_decode(op.get("kwargs", {})))
        _objects[op["bind"]] = obj
        return {"kind": "other", "type": type(obj).__name__}
    if what == "each":  # several requests in one round trip, each answered on its own (ok or raised)
        return {"kind": "answers", "items": [_answer(ns, sub) for sub in op["requests"][:MAX_ITEMS]]}
    if what == "define":  # the code that builds a check's inputs in the kernel (no expected value in it)
        fixture = {"__name__": f"__w13_fixture_{op['name']}__", "describe": describe, "raised": raised}
        for i, source in enumerate(op["sources"]):
            exec(compile(source, f"<week13 fixture {op['name']} {i}>", "exec"), fixture)
        _fixtures[op["name"]] = (op.get("digest"), fixture)
        return {"kind": "none", "value": None}
    if what == "call":  # a fixture function: it calls the student's code and returns plain data
        digest, fixture = _fixtures.get(op["fixture"], (None, None))
        if fixture is None or digest != op.get("digest"):
            return {"kind": "undefined"}  # the grader sends the sources, then calls again
        return {"kind": "data", "value": fixture[op["function"]](ns, **op.get("kwargs", {}))}
    obj = _objects[op["obj"]]
    if what == "item":
        return describe(obj[op["index"]])
    if what == "attr":
        return describe(getattr(obj, op["name"], None))
    if what == "len":
        return describe(obj.__len__())
    if what == "batches":
        from torch.utils.data import DataLoader
        batches = []
        for batch in DataLoader(obj, batch_size=op["batch_size"]):
            batches.append(describe(batch))
            if len(batches) >= MAX_ITEMS:
                break
        return {"kind": "list", "length": len(batches), "items": batches}
    raise ValueError(f"unknown request {what!r}")


def raised(e):
    """An exception the student's code raised, as data: its class names (most derived first) and message."""
    return {"types": [c.__name__ for c in type(e).__mro__], "message": str(e)[:MAX_MESSAGE]}


def _answer(ns, op):
    try:
        return {"ok": _run(ns, op)}
    except Exception as e:  # the student's code raised: its exception's type names and message
        return {"raised": raised(e)}


def serve(ns, request):
    """Run one request (a JSON text) in the namespace `ns`; the answer as a JSON text."""
    try:
        op = json.loads(request)
    except ValueError as e:
        return json.dumps({"raised": raised(e)})
    return json.dumps(_answer(ns, op))
