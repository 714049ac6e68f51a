"""nbgrader configuration for the Week 13 course (PyTorch Fundamentals).

The course root is the folder of this file: source/, release/, submitted/,
autograded/ and feedback/ live beside it, and so does the gradebook.
nbgrader executes this file several times per command, so everything here
is idempotent.

The tooling (`coursetools`) and the hidden checks (`week13_checks`, `grading_guard`) are
installed in the environment (`make env`), so this file and every kernel import them by name.
Every setting below is a documented trait of the class that uses it (`help=` in
coursetools/preprocessors/, sandbox.py and redact.py); what depends on a setting (the timeout's
error, the kernel's start-up imports, the guard's names) is derived from it there. This file is
the edge where the environment is read: $WEEK13_DB_URL and $WEEK13_UNSANDBOXED, once each.
"""

import functools
import os
import sys
from pathlib import Path

try:
    from coursetools import NOTEBOOK
    from coursetools.gradebook import DB_URL_VARIABLE, gradebook_url
    from coursetools.hook import after_autograde, after_feedback, before_feedback, prepare_submission
    from coursetools.sandbox import UNSANDBOXED_VARIABLE
except ImportError as err:  # nbgrader would log it and go on with its defaults: no sandbox, no checks
    raise SystemExit(f"nbgrader_config.py: the course is not installed in this Python ({sys.executable}: {err}). "
                     "Run `make env` and use .venv/bin/nbgrader, or `pip install --no-deps --editable .` "
                     "in the course folder.") from None

c = get_config()  # noqa: F821  (provided by nbgrader)

ROOT = Path(__file__).resolve().parent

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "pytorch-fundamentals"
# The gradebook: gradebook.db beside this file, or any database SQLAlchemy speaks, e.g. a
# PostgreSQL server shared by graders on several machines (docs/dask.md).
# One rule for the URL (a bare postgresql:// means the pinned psycopg2 driver), shared with the tooling.
c.CourseDirectory.db_url = gradebook_url(ROOT, os.environ.get(DB_URL_VARIABLE))
# A submission is its notebook, and feedback is its HTML: nbgrader copies every other file of
# submitted/<student>/<assignment>/ into autograded/ (where the grading kernel would import a
# grading_guard.py the student put there, and a link would be followed as the instructor) and every
# other file of autograded/ into feedback/. These absolute patterns (nbgrader matches each pattern
# with glob in the file's folder, and an absolute one is taken as it is) stop both copies, so only
# the release's own files (data/, from source/) join the graded notebook, and feedback/ gets the HTML.
# The notes list what was left out (RebuildFromRelease); the kernel runs in a throwaway copy anyway
# (coursetools/sandbox.py). Relative patterns: editor leftovers and the grading notes (review flags
# are for the instructor) never travel.
_OWN_FILES_ONLY = [str(ROOT / folder / "*" / "*" / pattern)
                   for folder in ("submitted", "autograded") for pattern in ("*", ".*")]
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.pt", "*.grading.json", *_OWN_FILES_ONLY]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback never shows hidden-test code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
    "coursetools.redact.RedactHiddenSource",  # output lines that reproduce the hidden checks' source
]
c.RedactHiddenSource.release_dir = str(ROOT / "release")  # lines students see there are not hidden
# Student content (markdown, HTML outputs) is rendered sanitised in the feedback and in the
# formgrader (both render with nbconvert's HTMLExporter): no <script>, no event handler attributes.
c.HTMLExporter.sanitize_html = True

# Autograding closes the holes of plain nbgrader (coursetools/hook.py, coursetools/preprocessors/),
# inside nbgrader's own pipeline, so that `nbgrader autograde`, the formgrader's Autograde button and `grade-class`
# grade alike: stale scores cleared and renamed notebooks found before reading (the hook), the
# submission rebuilt on the release's skeleton (sanitize step), kernel state restored before each
# test cell, a whole-notebook time limit, recovery from dead or unresponsive kernels, output byte
# limits, warnings on stderr not fatal, test cells that did not run or raised earn nothing (autograde step).
c.Autograde.pre_convert_hook = functools.partial(
    prepare_submission, db_url=c.CourseDirectory.db_url, notebook_name=NOTEBOOK)
# nbgrader's exchange files (timestamp.txt, submission_secret.txt: the copies above leave them out)
# follow the notebook as checked data, so that a resubmission is regraded and release_feedback finds
# them; a renamed notebook's feedback takes the name the student submitted (coursetools/exchange.py).
c.Autograde.post_convert_hook = functools.partial(after_autograde, root=ROOT)
c.GenerateFeedback.post_convert_hook = functools.partial(after_feedback, root=ROOT, notebook_name=NOTEBOOK)
# Late work: the penalty is recomputed from the score as it is now (hand grades included) before
# feedback is generated and when grades are exported, with nbgrader's own late-submission settings
# (e.g. c.LateSubmissionPlugin.penalty_method = "zero", or AssignLatePenalties.plugin_class; docs/jupyterhub.md).
c.GenerateFeedback.pre_convert_hook = functools.partial(before_feedback, db_url=c.CourseDirectory.db_url)
c.ExportApp.plugin_class = "coursetools.late.CsvExportPlugin"
# An LMS's download: `nbgrader zip_collect week13` reads the names Canvas or Moodle gives the files
# of its archive (put it in downloaded/week13/archive/): Canvas's LATE marker is kept as a lateness,
# and with c.CanvasCollector.roster = "<Canvas gradebook export>.csv" Canvas user ids are mapped to
# the students' ids; Moodle's needs c.MoodleCollector.worksheet = "<grading worksheet>.csv" (ids and
# submission times). coursetools/lms.py, docs/jupyterhub.md.
c.ZipCollectApp.collector_plugin = "coursetools.lms.LmsCollector"
# nbgrader release_feedback stops at the first student without nbgrader submit's secret (one collected
# from an LMS): this one releases the others and names each student left out (coursetools/exchange_release.py).
c.ExchangeFactory.release_feedback = "coursetools.exchange_release.ReleaseFeedback"
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "coursetools.preprocessors.RebuildFromRelease",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "coursetools.preprocessors.OverwriteCellsQuietly",  # nbgrader #1961: no checksum warning for hidden cells
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "coursetools.preprocessors.RobustExecute",
    "coursetools.preprocessors.StderrIsNotFailure",
    "coursetools.preprocessors.NotRunIsFailure",
    "coursetools.preprocessors.SanitizeStudentHtml",  # what the formgrader and feedback show is clean
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "coursetools.preprocessors.ErrorsScoreZero",  # a test cell with an error scores 0, whatever it displayed
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# RobustExecute's own defaults hold: 60 s a cell (timeout), 600 s a notebook (notebook_timeout),
# the guard and the hidden checks imported at kernel start (hidden_modules).
c.RobustExecute.raise_on_iopub_timeout = False
# The graded notebook is saved before the kernel stops: a graceful shutdown only waits
# 1.5 s for torch to finalise (benchmarks/README.md).
c.RobustExecute.shutdown_kernel = "immediate"
# the graded notebook keeps metadata.week13_grading (e.g. which mode graded it) through autograde
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("week13_grading",)}

# --- sandbox (coursetools/sandbox.py) ---
# Every grading kernel runs in a bubblewrap sandbox (docs/sandbox.md):
# its own PID and network namespaces, the course read-only but for the folder the notebook is
# graded in, a private /tmp, one CPU thread (threads), and the limits below. Where bubblewrap
# cannot run, grading refuses, unless the class is trusted: WEEK13_UNSANDBOXED=1 grades unsandboxed.
# Only grading kernels (RobustExecute: autograde, the formgrader's button, the Dask workers) are
# sandboxed. Validate (nbgrader's Execute) is the student's own run on the student's own machine,
# a laptop without bubblewrap included: never sandboxed, never refused.
c.RobustExecute.kernel_manager_class = "coursetools.sandbox.SandboxedKernelManager"
c.SandboxedKernelManager.allow_unsandboxed = os.environ.get(UNSANDBOXED_VARIABLE) == "1"
c.SandboxedKernelManager.memory_limit = 6 * 1024**3  # address space per process (torch reserves ~0.6 GB)
c.SandboxedKernelManager.process_limit = 128  # processes + threads per sandbox (pids cgroup; a kernel uses ~15)
c.SandboxedKernelManager.cpu_limit = 1.0  # CPUs per sandbox (cpu cgroup quota)
c.SandboxedKernelManager.open_files_limit = 1024
c.SandboxedKernelManager.file_size_limit = 64 * 1024**2  # largest file a submission may write
c.SandboxedKernelManager.tmp_size = 256 * 1024**2  # private /tmp and /dev/shm (in memory)
