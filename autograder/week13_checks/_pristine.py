"""References to builtins, captured when the package is imported, and the comparisons of numbers.

The checks run in the grader's process (they never enter the kernel), and in the source notebook
beside the instructor's own code; they use these names instead of the public ones. Comparisons
are done on plain Python floats and ints.
"""

import builtins
import math

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
