"""References to builtins and torch internals, captured when the package is imported.

The grader imports this package at kernel start, before student code runs.
Checks call these instead of the public names, so a submission that
replaces `torch.allclose`, `builtins.isinstance`, `float.__eq__`-like
behaviour or `torch.Tensor.tolist` cannot change what a check sees.
Comparisons are done on plain Python floats and ints.
"""

import builtins
import math

import torch

type = builtins.type
isinstance = builtins.isinstance
len = builtins.len
float = builtins.float
int = builtins.int
list = builtins.list
dict = builtins.dict
str = builtins.str
tuple = builtins.tuple
abs = builtins.abs
range = builtins.range
zip = builtins.zip
repr = builtins.repr
isfinite = math.isfinite
all = builtins.all
any = builtins.any
sorted = builtins.sorted
sum = builtins.sum
min = builtins.min
max = builtins.max
enumerate = builtins.enumerate
getattr = builtins.getattr
hasattr = builtins.hasattr
setattr = builtins.setattr
exec = builtins.exec
compile = builtins.compile
callable = builtins.callable

Tensor = torch.Tensor
device = torch.device
dtype_float32 = torch.float32
dtype_int64 = torch.int64

_TB = torch._C.TensorBase  # a C type: its methods cannot be replaced
_tolist = _TB.tolist
_detach = _TB.detach
_cpu = _TB.cpu
_dtype = _TB.dtype.__get__
_shape = _TB.shape.__get__
_device = _TB.device.__get__


def is_plain_tensor(t):
    """True for an exact torch.Tensor (no subclass, no lookalike)."""
    return type(t) is Tensor


def dtype_of(t):
    return _dtype(t)


def shape_of(t):
    return tuple(_shape(t))


def device_of(t):
    return _device(t)


def values(t):
    """The numbers of an exact tensor, as nested Python lists (or a scalar)."""
    return _tolist(_cpu(_detach(t)))


def close(a, b, rtol=1e-5, atol=1e-6):
    """|a - b| <= atol + rtol |b| for two plain Python numbers."""
    a, b = float(a), float(b)
    return isfinite(a) and abs(a - b) <= atol + rtol * abs(b)


def all_close(a, b, rtol=1e-5, atol=1e-6):
    """Element-wise `close` for equal-length (nested) lists of numbers."""
    if type(a) is list or type(b) is list:
        if type(a) is not list or type(b) is not list or len(a) != len(b):
            return False
        return all(all_close(x, y, rtol, atol) for x, y in zip(a, b))
    return type(a) in (float, int) and close(a, b, rtol, atol)
