"""The pre-commit checks: notebooks stripped the way nbgrader needs them, ruff on code and notebooks.

The hooks of .pre-commit-config.yaml are run here as pre-commit runs them,
on scratch copies: the strip check fails on a dirty notebook and passes on
the committed ones, and stripping a dirty copy gives back the committed file
byte for byte (outputs gone, nbgrader metadata and cell ids kept).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from environ import untraced_env

from coursetools import RELEASE_NB, REPO, SOURCE_NB, WORKED_NB
from coursetools import notebooks as nbs

CONFIG = REPO / ".pre-commit-config.yaml"
BIN = Path(sys.executable).parent


def _env():
    # the hooks run installed tools, none of the course's code: untraced by coverage (twice as fast)
    env = untraced_env()
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return env


def _hooks():
    config = yaml.safe_load(CONFIG.read_text())
    return {hook["id"]: (repo, hook) for repo in config["repos"] for hook in repo["hooks"]}


def _command(hook_id, *extra):
    """The hook's command line, as pre-commit builds it (entry, then args, then the files)."""
    _, hook = _hooks()[hook_id]
    argv = [*shlex.split(hook["entry"]), *hook.get("args", []), *extra]
    if shutil.which(argv[0], path=_env()["PATH"]) is None:
        pytest.skip(f"{argv[0]} is not installed in this environment (pip install {argv[0]})")
    return argv


def _run(argv, cwd):
    return subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)


def _dirty(nb_path, dest):
    """A copy of a clean notebook as it looks after a session in Jupyter: outputs, counts, editor metadata."""
    nb = nbs.read(nb_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[0].execution_count = 1
    code[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    code[1].execution_count = 2
    code[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=2)]
    code[0].metadata["ExecuteTime"] = {"end_time": "2026-11-25T10:00:00.000Z"}
    code[1].metadata["scrolled"] = True
    code[1].metadata["jupyter"] = {"source_hidden": True}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["vscode"] = {"interpreter": {"hash": "0"}}
    nb.metadata["celltoolbar"] = "Create Assignment"
    nbs.write(nb, dest)
    return dest


def test_hooks_are_local_and_use_the_installed_tools():
    """pre-commit cannot clone hook repositories here: every hook is local and runs an installed tool."""
    hooks = _hooks()
    assert {"nbstripout", "ruff"} <= set(hooks)
    for repo, hook in hooks.values():
        assert repo["repo"] == "local" and hook["language"] == "system", hook["id"]


def test_strip_hook_keeps_nbgrader_metadata_and_ids_and_skips_the_worked_notebook():
    _, hook = _hooks()["nbstripout"]
    assert "--keep-id" in hook["args"], "without --keep-id nbstripout renumbers the cell ids"
    assert "nbgrader" not in " ".join(hook["args"])
    files = re.compile(hook["files"])
    for path in (SOURCE_NB, RELEASE_NB):
        assert files.search(path.relative_to(REPO).as_posix())
    assert not files.search(WORKED_NB.relative_to(REPO).as_posix()), "notebooks/ keeps its outputs"


@pytest.mark.parametrize("path", [SOURCE_NB, RELEASE_NB], ids=["source", "release"])
def test_strip_check_passes_on_the_committed_notebook(path, tmp_path):
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    proc = _run(_command("nbstripout", "--verify", str(copy)), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _run(_command("nbstripout", str(copy)), tmp_path)  # the hook itself: changes nothing
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert copy.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", [SOURCE_NB, RELEASE_NB], ids=["source", "release"])
def test_strip_check_fails_on_a_dirty_notebook_and_the_hook_cleans_it(path, tmp_path):
    dirty = _dirty(path, tmp_path / path.name)
    assert nbs.clean_problems(dirty, allow_outputs=False), "the project's own check sees the mess too"
    proc = _run(_command("nbstripout", "--verify", str(dirty)), tmp_path)
    assert proc.returncode != 0, f"the strip check passed a dirty notebook:\n{proc.stdout}{proc.stderr}"
    proc = _run(_command("nbstripout", str(dirty)), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert nbs.clean_problems(dirty, allow_outputs=False) == []
    assert dirty.read_bytes() == path.read_bytes(), "stripped, the notebook is the committed file again"


def _scratch_repo(tmp_path):
    """A git repository with the hook configuration and the course's notebooks, for a real pre-commit run."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _command("nbstripout")
    _command("ruff")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.skip("pre-commit is not installed in this environment (pip install pre-commit)")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in (".pre-commit-config.yaml", "ruff.toml"):
        shutil.copy(REPO / name, repo / name)
    for path in (SOURCE_NB, RELEASE_NB, WORKED_NB):
        dest = repo / path.relative_to(REPO)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True, timeout=60)
    return repo


def _pre_commit(repo, *args):
    env = _env()
    env["PRE_COMMIT_HOME"] = str(repo.parent / "pre-commit-home")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, timeout=60)
    return subprocess.run([sys.executable, "-m", "pre_commit", "run", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)


def test_pre_commit_fails_on_a_dirty_notebook(tmp_path):
    repo = _scratch_repo(tmp_path)
    target = repo / SOURCE_NB.relative_to(REPO)
    _dirty(SOURCE_NB, target)
    proc = _pre_commit(repo, "nbstripout", "--all-files")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "files were modified by this hook" in proc.stdout
    assert target.read_bytes() == SOURCE_NB.read_bytes()
    proc = _pre_commit(repo, "nbstripout", "--all-files")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    worked = repo / WORKED_NB.relative_to(REPO)
    assert worked.read_bytes() == WORKED_NB.read_bytes(), "the worked notebook keeps its outputs"


def test_ruff_hook_checks_notebooks_but_not_the_release(tmp_path):
    """ruff reads notebooks natively; the release's stubs (undefined names by design) are excluded."""
    repo = _scratch_repo(tmp_path)
    bad = nbformat.v4.new_notebook()
    bad.cells = [nbformat.v4.new_code_cell("import os\nprint(undefined_name)")]
    bad.cells[0].id = "bad"
    for folder in ("source/week13", "release/week13"):
        nbformat.write(bad, str(repo / folder / "bad.ipynb"))
    proc = _pre_commit(repo, "ruff", "--files", "source/week13/bad.ipynb", "release/week13/bad.ipynb")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "source/week13/bad.ipynb" in proc.stdout and "F401" in proc.stdout and "F821" in proc.stdout
    assert "release/week13/bad.ipynb" not in proc.stdout
    proc = _pre_commit(repo, "ruff", "--files", str(RELEASE_NB.relative_to(REPO)))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_passes_on_every_committed_file():
    """`make lint`'s ruff on the repository as committed: the Python files and the source and worked
    notebooks (the release is excluded in ruff.toml: its stubs leave names undefined by design)."""
    files = subprocess.run(["git", "ls-files", "*.py", "*.ipynb"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    assert "source/week13/pytorch_fundamentals.ipynb" in files and len(files) > 40
    proc = _run(_command("ruff", *files), REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_ci_sets_ci_true_and_runs_the_readme_test_command(tmp_path):
    """`.ci/run` exports CI=true itself (the skip rule depends on it) and runs `make test`; its system
    packages are only installed when missing (a stub apt-get records any call)."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "make").write_text('#!/bin/sh\necho "make $* CI=$CI" >> "$STUB_LOG"\n')
    (stubs / "apt-get").write_text('#!/bin/sh\necho "apt-get $*" >> "$STUB_LOG"\n')
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {k: v for k, v in _env().items() if k != "CI"}
    env.update(PATH=f"{stubs}{os.pathsep}{env['PATH']}", STUB_LOG=str(log))
    proc = subprocess.run(["bash", str(REPO / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = log.read_text().splitlines()
    assert calls[-1] == "make test CI=true", calls
    assert "make test took" in proc.stdout
