"""Reference values kept between grading processes.

`grade-class` grades each student in an `nbgrader autograde` process of its own, so a value that
`functools.cache` keeps lasts for one student only. The reference runs of Exercises 2 and 4 cost
a torch import and a few trainings in each of those processes. `@cached` keeps each value in
memory and, where the grader named a folder (`use_folder`), in a JSON file there too. A later
process reads the file and does not import torch at all.

The file is only reused where it would be computed the same way. Its folder is named by a hash
of the checks' own source files, the torch and NumPy versions, the Python version and the CPU
(its model and flags: float rounding differs between, say, AVX2 and AVX-512). Every value goes
through JSON before its first use, so a value read from a file and a value just computed are the
same value, and the verdict never depends on which one a process got. A file that is unreadable,
or that holds another key, is computed again and rewritten.

The grader names a folder only for a sandboxed kernel, and only one the sandbox does not show
(the course's root; coursetools/preprocessors/robustexecute.py). No value in it ever passes
through the kernel.
"""

import functools
import hashlib
import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

_HERE = Path(__file__).parent
_folder = []  # [Path] while the grader keeps values on disk


def use_folder(path):
    """Keep values in `path` (created on first write), or in memory only when `path` is None."""
    _folder[:] = [Path(path)] if path else []


def _cpu():
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor()
    first = text.split("\n\n", 1)[0]  # the first processor's block
    return "\n".join(line for line in first.splitlines()
                     if line.split(":", 1)[0].strip() in ("vendor_id", "model name", "flags", "Features", "CPU part"))


@functools.cache
def machine_key():
    """What a reference value depends on besides its arguments, as a short hash."""
    h = hashlib.sha256()
    for path in sorted(_HERE.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in ("torch", "numpy"):
        try:
            h.update(f"{dist}={metadata.version(dist)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=?\0".encode())
    h.update(f"{platform.machine()}\0{platform.python_version()}\0{_cpu()}".encode())
    return h.hexdigest()[:24]


def _path(key):
    return _folder[0] / machine_key() / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def _load(key):
    try:
        stored = json.loads(_path(key).read_text())
    except (OSError, ValueError):
        return None
    if type(stored) is not dict or stored.get("key") != key or "value" not in stored:
        return None
    return stored


def _store(key, value):
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"key": key, "value": value}, f)
        os.replace(tmp, path)  # whole or not at all: two graders writing at once both write the same value
    except OSError:
        pass  # a folder that cannot be written: the value is still kept in memory


def cached(fn):
    """`fn(*args)`, whose arguments and value are JSON data, computed once per process and, where a
    folder is in use, once per machine; the value as JSON gives it back (tuples become lists)."""
    memo = {}

    @functools.wraps(fn)
    def wrapper(*args):
        key = json.dumps([fn.__module__, fn.__qualname__, list(args)])
        if key in memo:
            return memo[key]
        stored = _load(key) if _folder else None
        if stored is None:
            value = json.loads(json.dumps(fn(*args)))
            if _folder:
                _store(key, value)
        else:
            value = stored["value"]
        memo[key] = value
        return value

    wrapper.cache_clear = memo.clear
    return wrapper


def torch_reference(fn):
    """`cached`, for a reference run in the grader's torch: computed with torch on one thread, as
    in the grading kernel (OMP_NUM_THREADS=1), so that its sums run in the kernel's order."""
    @functools.wraps(fn)
    def on_one_thread(*args):
        from ._reference import one_thread

        with one_thread():
            return fn(*args)

    return cached(on_one_thread)
