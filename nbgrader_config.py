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
# coursetools.gradebook.gradebook_url reads $WEEK13_DB_URL the way the course tooling does (a bare
# postgresql:// URL means the pinned psycopg2 driver), so nbgrader and coursetools always agree.
if (ROOT / "coursetools").is_dir() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if os.environ.get("WEEK13_DB_URL"):
    from coursetools.gradebook import gradebook_url

    c.CourseDirectory.db_url = gradebook_url(ROOT)
# The grading notes (review flags are for the instructor) never travel into feedback/.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.pt", "*.grading.json"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback never shows hidden-test code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
    "coursetools.redact.RedactHiddenSource",  # output lines that reproduce autograder/ source
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

# Autograding closes the holes of plain nbgrader (coursetools/nbgrader_ext.py), inside nbgrader's
# own pipeline, so that `nbgrader autograde`, the formgrader's Autograde button and `grade-class`
# grade alike: stale scores cleared and renamed notebooks found before reading (the hook), the
# submission rebuilt on the release's skeleton (sanitize step), kernel state restored before each
# test cell, a whole-notebook time limit, recovery from dead or unresponsive kernels, warnings on
# stderr not fatal, test cells that did not run earn nothing (autograde step).
if (ROOT / "coursetools").is_dir():
    import functools

    from coursetools.gradebook import gradebook_url
    from coursetools.nbgrader_ext import prepare_submission

    c.Autograde.pre_convert_hook = functools.partial(
        prepare_submission, db_url=gradebook_url(ROOT), notebook_name="pytorch_fundamentals.ipynb")
    c.Autograde.sanitize_preprocessors = [
        "nbgrader.preprocessors.ClearOutput",
        "coursetools.nbgrader_ext.RebuildFromRelease",
        "nbgrader.preprocessors.DeduplicateIds",
        "nbgrader.preprocessors.OverwriteKernelspec",
        "nbgrader.preprocessors.OverwriteCells",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
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
    # (RobustExecute derives its CellTimeoutError message from the timeout in force.)

# A tiny model trains fastest on one thread, and parallel graders must not
# oversubscribe the cores (see README, "Grading a class").
os.environ.setdefault("OMP_NUM_THREADS", "1")
c.Execute.timeout = 60

# --- sandbox (coursetools/sandbox.py) ---
# Every grading kernel runs in a bubblewrap sandbox (README, "Running student code safely"):
# its own PID and network namespaces, the course read-only but for the folder the notebook is
# graded in, a private /tmp, and the limits below. Where bubblewrap cannot run, grading refuses,
# unless the class is trusted: WEEK13_UNSANDBOXED=1 (or allow_unsandboxed below) grades unsandboxed.
if (ROOT / "coursetools").is_dir():
    c.RobustExecute.kernel_manager_class = "coursetools.sandbox.SandboxedKernelManager"
    c.Execute.kernel_manager_class = "coursetools.sandbox.SandboxedKernelManager"
    c.SandboxedKernelManager.allow_unsandboxed = os.environ.get("WEEK13_UNSANDBOXED") == "1"
    c.SandboxedKernelManager.memory_limit = 6 * 1024**3  # address space per process (torch reserves ~0.6 GB)
    c.SandboxedKernelManager.process_limit = 128  # processes + threads per sandbox (pids cgroup; a kernel uses ~15)
    c.SandboxedKernelManager.cpu_limit = 1.0  # CPUs per sandbox (cpu cgroup quota)
    c.SandboxedKernelManager.open_files_limit = 1024
    c.SandboxedKernelManager.file_size_limit = 64 * 1024**2  # largest file a submission may write
    c.SandboxedKernelManager.tmp_size = 256 * 1024**2  # private /tmp and /dev/shm (in memory)
    # the graded notebook keeps metadata.week13_grading (e.g. which mode graded it) through autograde
    c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("week13_grading",)}
c.RedactHiddenSource.hidden_dir = str(HIDDEN)  # feedback shows no output line copied from it
c.RedactHiddenSource.release_dir = str(ROOT / "release")  # ... unless students see it there too
