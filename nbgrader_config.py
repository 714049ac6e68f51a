"""nbgrader configuration for the Week 13 course (PyTorch Fundamentals).

The course root is the folder of this file: source/, release/, submitted/,
autograded/ and feedback/ live beside it, and so does the gradebook.
nbgrader executes this file several times per command, so everything here
is idempotent.
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader)

ROOT = Path(__file__).resolve().parent
HIDDEN = ROOT / "autograder"

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "pytorch-fundamentals"
# The gradebook: gradebook.db beside this file, or any database SQLAlchemy speaks, e.g. a
# PostgreSQL server shared by graders on several machines (README, "Grading across machines").
# coursetools.grading.gradebook_url reads $WEEK13_DB_URL the way the course tooling does (a bare
# postgresql:// URL means the pinned psycopg2 driver), so nbgrader and coursetools always agree.
if (ROOT / "coursetools").is_dir() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if os.environ.get("WEEK13_DB_URL"):
    from coursetools.grading import gradebook_url

    c.CourseDirectory.db_url = gradebook_url(ROOT)
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.pt"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback never shows hidden-test code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]

# The hidden tests (autograder/week13_checks) reach the grading kernel through
# PYTHONPATH, and are imported when the kernel starts, before any student code,
# so that they hold the real torch/builtins functions.
if HIDDEN.is_dir():
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(HIDDEN) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(HIDDEN)] + paths)
    c.Execute.extra_arguments = [
        "--HistoryManager.hist_file=:memory:",
        "--IPKernelApp.exec_lines=['import grading_guard, week13_checks']",
    ]

# Autograding closes the holes of plain nbgrader (coursetools/nbgrader_ext.py):
# kernel state restored before each test cell, a whole-notebook time limit,
# recovery from dead or unresponsive kernels, warnings on stderr not fatal,
# test cells that did not run earn nothing.
if (ROOT / "coursetools").is_dir():
    c.Autograde.autograde_preprocessors = [
        "coursetools.nbgrader_ext.RobustExecute",
        "coursetools.nbgrader_ext.StderrIsNotFailure",
        "coursetools.nbgrader_ext.NotRunIsFailure",
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
    c.RobustExecute.extra_arguments = c.Execute.extra_arguments
    c.RobustExecute.timeout = int(os.environ.get("WEEK13_CELL_TIMEOUT", "60"))
    c.RobustExecute.notebook_timeout = int(os.environ.get("WEEK13_NOTEBOOK_TIMEOUT", "600"))
    c.RobustExecute.raise_on_iopub_timeout = False
    # The graded notebook is saved before the kernel stops: a graceful shutdown only waits
    # 1.5 s for torch to finalise (benchmarks/README.md).
    c.RobustExecute.shutdown_kernel = "immediate"
    c.RobustExecute.error_on_timeout = {
        "ename": "CellTimeoutError",
        "evalue": f"the cell ran longer than {c.RobustExecute.timeout} s and was interrupted",
        "traceback": [f"CellTimeoutError: the cell ran longer than {c.RobustExecute.timeout} s and was interrupted"],
    }

# A tiny model trains fastest on one thread, and parallel graders must not
# oversubscribe the cores (see README, "Grading a class").
os.environ.setdefault("OMP_NUM_THREADS", "1")
c.Execute.timeout = 60
