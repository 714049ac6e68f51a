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
# The modules of autograder/ (installed by `make env`): the guard first, then the hidden checks. The
# default of RobustExecute.hidden_modules (imported at kernel start) and of
# RedactHiddenSource.hidden_modules (never shown in feedback).
HIDDEN_MODULES = ("grading_guard", "week13_checks")
