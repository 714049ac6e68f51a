"""nbgrader configuration for the Week 13 course (PyTorch Fundamentals).

The course root is the folder of this file: source/, release/, submitted/,
autograded/ and feedback/ live beside it, and so does the gradebook.
nbgrader executes this file several times per command, so everything here
is idempotent.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader)

ROOT = Path(__file__).resolve().parent
HIDDEN = ROOT / "autograder"

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "pytorch-fundamentals"
c.CourseDirectory.db_assignments = [dict(name="week13")]
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
        "--IPKernelApp.exec_lines=['import week13_checks']",
    ]

# A tiny model trains fastest on one thread, and parallel graders must not
# oversubscribe the cores (see README, "Grading a class").
os.environ.setdefault("OMP_NUM_THREADS", "1")
c.Execute.timeout = 120
