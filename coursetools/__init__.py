"""Course tooling for Week 13 (PyTorch Fundamentals).

Everything that is generated in this repository (the release, the worked
notebook, the data files, sample submissions) is produced by a function in
this package, so that CI can run the same function and compare.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "week13"
NOTEBOOK = "pytorch_fundamentals.ipynb"
SOURCE_NB = REPO / "source" / ASSIGNMENT / NOTEBOOK
RELEASE_NB = REPO / "release" / ASSIGNMENT / NOTEBOOK
WORKED_NB = REPO / "notebooks" / NOTEBOOK
# The modules of autograder/ (installed by `make env`): the guard, then the hidden checks. Both are
# never shown in feedback (RedactHiddenSource.hidden_modules). The grading kernel imports and sees
# the guard only (KERNEL_MODULES: RobustExecute.hidden_modules, SandboxedKernelManager.readable_modules):
# every hidden check is decided in the grader's process (coursetools/verdicts.py), so the checks'
# source and references never enter the sandbox.
HIDDEN_MODULES = ("grading_guard", "week13_checks")
KERNEL_MODULES = ("grading_guard",)
