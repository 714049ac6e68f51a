# Week 13 — PyTorch Fundamentals. The two commands a newcomer needs:
#   make course   set up, generate release/ and notebooks/, grade the sample submissions
#   make test     set up, run every test (notebooks, sync, grader suite, environment)
# Both create the virtual environment in .venv on first use, with the course installed in it
# (editable: `week13`, the course tool, and the hidden checks importable by every kernel). Also:
#   make grade-class  grade every submission under submitted/ (parallel, feedback, grades CSV, summary)
#                     SCHEDULER=tcp://HOST:8786: on a Dask cluster (make dask-scheduler, make dask-worker)
#   make check        the fast unit tests (tests/unit: pure functions and preprocessors, seconds)
#   make lint         the pre-commit hooks (nbstripout on source/ and release/, ruff) on every file
#   make screenshots  refresh docs/screenshots/ from the browser test
#   make bench        time running and grading the course on this machine (not a test; benchmarks/README.md)
#   make student-bundle  what students get (build/student/week13/ and its .zip): notebook, data, packages
#   make grade-samples / grade-all   the sample submissions, graded in build/sample_course

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export OMP_NUM_THREADS ?= 1

.PHONY: course test check conda-check env release notebooks data student-bundle grade-samples grade-all grade-class dask-scheduler dask-worker lint screenshots bench clean

course: release notebooks grade-samples

# With the coverage of the course's code (pyproject.toml, [tool.coverage]): its data in build/, its
# table at the end. Two pytest workers (pytest-xdist): each test file whole in one of them, the files
# that share a graded class together, the longest first (tests/workers.py); while one worker waits on
# a single kernel, a browser or a server, the other keeps the second core busy.
TEST_WORKERS ?= 2
test: env
	mkdir -p build
	COVERAGE_FILE=$(CURDIR)/build/.coverage $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load \
		--no-loadscope-reorder --cov --cov-report=term

# The fast tier alone: no kernels, no nbgrader processes, no servers.
check: env
	$(BIN)/python -m pytest tests/unit -p no:cacheprovider -q

env: $(VENV)/.installed

# torch first and alone, pinned, and its CPU build by name: on Linux and Windows the pin gets the local
# tag +cpu (PyPI's own Linux wheel of 2.13.0 is the CUDA build, several GB), found on PyTorch's CPU
# index or in a wheelhouse pip already knows (find-links); macOS wheels are CPU builds without a tag.
# Another build on purpose: make env TORCH_BUILD=cu128 (its index and tag; then the CPU test fails).
# Then the rest, pinned (requirements.txt, the lock); then the course itself, editable and --no-deps
# (pyproject.toml's dependencies and extras are ranges around those pins, all already installed).
TORCH_BUILD ?= cpu
TORCH_INDEX ?= https://download.pytorch.org/whl/$(TORCH_BUILD)
TORCH_TAG = $(if $(filter Darwin,$(shell uname -s)),,+$(TORCH_BUILD))
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --retries 1 --extra-index-url $(TORCH_INDEX) \
	    "$$(grep -E '^torch==' requirements.txt)$(TORCH_TAG)"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

release: env
	$(BIN)/nbgrader generate_assignment week13 --force

notebooks: env
	$(BIN)/week13 notebooks

data: env
	$(BIN)/week13 data

student-bundle: env
	$(BIN)/week13 student-bundle

grade-samples: env
	$(BIN)/python -m sample_submissions

grade-all: env
	$(BIN)/python -m sample_submissions --all

# An instructor's class: submitted/<student>/week13/ (nbgrader's layout). WORKERS defaults to the cores.
# SCHEDULER=tcp://HOST:8786 grades on a Dask cluster instead (docs/dask.md).
grade-class: env
	$(BIN)/week13 grade-class $(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

# A Dask cluster for grade-class: the scheduler on one machine, workers on every grading machine (a
# clone at the same commit, `make env` run there). The scheduler and the workers import the installed coursetools.
# Each worker process grades one student at a time (one thread; its kernels on one core).
DASK_WORKERS ?= $(shell nproc 2>/dev/null || echo 1)
dask-scheduler: env
	DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1.0 \
	DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=$${ALLOWED_FAILURES:-2} \
	$(BIN)/dask scheduler --port $${PORT:-8786}

dask-worker: env
	test -n "$(SCHEDULER)" || { echo "usage: make dask-worker SCHEDULER=tcp://HOST:8786"; exit 2; }
	OMP_NUM_THREADS=1 WEEK13_WORKER_DIR=$(CURDIR)/build/dask-worker \
	$(BIN)/dask worker $(SCHEDULER) --nthreads 1 --nworkers $(DASK_WORKERS) --local-directory $(CURDIR)/build/dask-worker

lint: env
	$(BIN)/pre-commit run --all-files

screenshots: env
	WEEK13_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/test_browser.py -p no:cacheprovider

# conda's install from environment.yml, repeated in a fresh venv of its own (no conda channel is reachable
# from CI), and the reference graded by that environment's nbgrader (docs/setup.md). Minutes: it installs every pin.
conda-check: env
	$(BIN)/python tests/conda_check.py --python $(PYTHON)

# Not a test: figures and ratios on this machine, JSON in benchmarks/results/. COPIES, REPEAT as in the README.
bench: env
	$(BIN)/python -m benchmarks $(if $(COPIES),--copies $(COPIES)) $(if $(REPEAT),--repeat $(REPEAT))

# Scratch output only. A class's submitted/, autograded/, feedback/, gradebook.db (hand grades!)
# and grades_week13.csv are never removed by make: delete them yourself when the term is over.
clean:
	rm -rf build .pytest_cache .ruff_cache
