"""environment.yml and requirements.txt pin the same packages, and the course uses what it pins."""

import re
import sys
from pathlib import Path

from coursetools import REPO
from conda_check import conda_parts  # environment.yml read as conda reads it, one reader for all


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)(\s*;\s*(.+))?", line)
        if m:  # a pin, with its environment marker if it has one (part of what must agree)
            pins[m.group(1).lower()] = m.group(2) + (f"; {m.group(4)}" if m.group(4) else "")
    return pins


def _requirements():
    return _pins((REPO / "requirements.txt").read_text().splitlines())


def _environment_pip():
    return _pins(conda_parts()[1])


def test_requirements_pin_every_line():
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert len(lines) == len(_requirements()), "every requirement is pinned with =="


def test_environment_and_requirements_agree():
    assert _environment_pip() == _requirements()


def test_the_conda_environment_installs_the_course_itself():
    """Without the course installed, nbgrader_config.py stops every nbgrader command (and the kernels
    could not import the hidden checks): environment.yml's pip list installs it, editable, last."""
    pip = conda_parts()[1]
    assert pip[-1] in ("--editable .", "-e ."), pip[-3:]


def test_torch_is_the_pinned_cpu_release():
    """The build tag, not only the version: a CUDA build of 2.13.0 (what a plain `pip install torch`
    gives on Linux) is not the course's CPU wheel."""
    assert _requirements()["torch"] == "2.13.0"
    import torch

    assert torch.__version__ == ("2.13.0" if sys.platform == "darwin" else "2.13.0+cpu"), torch.__version__
    assert torch.version.cuda is None, f"a CUDA build ({torch.version.cuda})"


def _torch_install_line(*make_args):
    """The command `make env` would run to install torch in a fresh environment (make's dry run)."""
    import subprocess

    out = subprocess.run(["make", "-n", "-W", "requirements.txt", "env", "VENV=build/none", *make_args], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.replace("\\\n", " ").splitlines() if "torch==" in line)
    return subprocess.run(["bash", "-c", "echo " + line], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.split()  # the words pip gets, the pin read from requirements.txt


def test_make_env_asks_for_the_cpu_build_by_name():
    """A fresh `make env` asks for torch 2.13.0+cpu with PyTorch's CPU index: never PyPI's plain 2.13.0, the
    CUDA build on Linux (several GB); another build only when asked for (TORCH_BUILD)."""
    if sys.platform == "darwin":  # macOS wheels are CPU builds and carry no tag
        assert _torch_install_line()[-1] == "torch==2.13.0"
        return
    words = _torch_install_line()
    assert words[-1] == "torch==2.13.0+cpu" and "https://download.pytorch.org/whl/cpu" in words, words
    cuda = _torch_install_line("TORCH_BUILD=cu128")
    assert cuda[-1] == "torch==2.13.0+cu128" and "https://download.pytorch.org/whl/cu128" in cuda, cuda


def test_environment_uses_python_311():
    assert conda_parts()[0] == "3.11"


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    from packaging.markers import Marker

    for name, pinned in _requirements().items():
        pinned, _, marker = pinned.partition("; ")
        if marker and not Marker(marker).evaluate():
            continue  # not for this platform
        assert version(name).split("+")[0] == pinned, name


# the tools of `make test` and `make lint`, and the optional grading back ends: extras, never what a
# course user must install
NOT_RUNTIME = {"test": {"pytest", "pytest-cov", "pytest-xdist", "nbval", "playwright"}, "dev": {"pre-commit", "nbstripout", "ruff"},
               "postgres": {"psycopg2-binary"}, "cluster": {"dask", "distributed"}}


def test_the_installed_course_declares_the_lock_as_ranges_and_extras():
    """The installed metadata (pyproject.toml, `make env`): each pin of requirements.txt declared once, as
    a range the pinned version satisfies, with the same platform marker; test, lint, PostgreSQL and Dask
    packages only in their extras."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    lock = _requirements()
    declared = {}
    for text in requires("week13-pytorch-fundamentals"):
        req = Requirement(text)
        marker = str(req.marker or "")
        extra = re.search(r'extra == "([^"]+)"', marker)
        platform = re.sub(r'\s*(and\s+)?extra == "[^"]+"', "", marker).strip()
        assert req.name not in declared, f"{req.name} declared twice"
        declared[req.name] = extra.group(1) if extra else None
        assert req.name in lock, f"{req.name} is declared but not pinned in requirements.txt"
        pinned, _, lock_marker = lock[req.name].partition("; ")
        assert req.specifier.contains(pinned), f"{req.name}: the lock's {pinned} is outside {req.specifier}"
        assert platform == lock_marker, (req.name, platform, lock_marker)
    assert set(declared) == set(lock), "every pin of requirements.txt is declared, and nothing else"
    for extra, names in NOT_RUNTIME.items():
        assert {n for n, e in declared.items() if e == extra} == names, extra


def test_the_editable_install_leaves_no_build_artefact_in_a_source_folder():
    """setup.cfg puts the editable install's metadata in the repository root (git-ignored), not in
    autograder/, which pyproject.toml maps as the root of the top-level modules."""
    for folder in ("autograder", "autograder/week13_checks", "coursetools"):
        assert not list((REPO / folder).glob("*.egg-info")), folder


def test_the_course_tool_and_the_hidden_checks_are_installed():
    """`week13` is on the environment's PATH, and the modules every kernel imports by name resolve to
    this checkout (an editable install), not to a copy."""
    import importlib.util
    import shutil
    import sys
    from pathlib import Path

    tool = shutil.which("week13", path=str(Path(sys.executable).parent))
    assert tool, "make env installs the `week13` command"
    for name, path in (("coursetools", "coursetools/__init__.py"), ("week13_checks", "autograder/week13_checks/__init__.py"),
                       ("grading_guard", "autograder/grading_guard.py")):
        assert Path(importlib.util.find_spec(name).origin).resolve() == (REPO / path).resolve(), name


def test_the_commands_the_readme_names_start(tmp_path):
    """`week13`, `python -m sample_submissions` and `python -m benchmarks` (from the repository root,
    as the Makefile runs them) parse their arguments: the commands a newcomer types exist."""
    import subprocess
    import sys
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    for command, expected in (([str(bin_dir / "week13"), "grade-class", "--help"], "--cell-timeout"),
                              ([sys.executable, "-m", "coursetools", "--help"], "grade-class"),
                              ([sys.executable, "-m", "sample_submissions", "--help"], "--all"),
                              ([sys.executable, "-m", "benchmarks", "--help"], "--compare")):
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and expected in proc.stdout, (command, proc.stdout, proc.stderr)


def test_the_course_config_stops_loudly_where_the_course_is_not_installed(tmp_path):
    """nbgrader logs an exception in its config file and goes on with its defaults (no sandbox, no
    rebuild, hidden checks that cannot import): where `coursetools` cannot be imported, every nbgrader
    command of the course exits non-zero with one line saying how to install it."""
    import subprocess

    from coursetools.course import copy_course

    course = copy_course(tmp_path / "course")
    missing = tmp_path / "not-installed" / "coursetools"  # shadows the installed package
    missing.mkdir(parents=True)
    (missing / "__init__.py").write_text("raise ImportError('coursetools is not installed here')\n")
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PYTHONPATH": str(missing.parent),
           "HOME": str(tmp_path)}
    for args in (["db", "student", "list"], ["validate", str(REPO / "release" / "week13" / "pytorch_fundamentals.ipynb")]):
        proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course, env=env,
                              capture_output=True, text=True, timeout=120)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, (args, out[-2000:])
        assert "the course is not installed" in out and "make env" in out and "Traceback" not in out, out[-2000:]
