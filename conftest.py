"""Test-wide setup: hidden tests on the kernels' path, one thread per kernel.

nbval starts a kernel per notebook in the notebook's folder; with
`autograder/` on PYTHONPATH the source notebook's hidden tests run there
too, so the reference solution provably passes them.
"""

import os
from pathlib import Path

_HIDDEN = str(Path(__file__).resolve().parent / "autograder")
_paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
if _HIDDEN not in _paths:
    os.environ["PYTHONPATH"] = os.pathsep.join([_HIDDEN] + _paths)
os.environ.setdefault("OMP_NUM_THREADS", "1")
