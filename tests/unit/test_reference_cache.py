"""The reference values the checks keep between grading processes (week13_checks/_cache.py), and
where the grader lets them be kept (RobustExecute.reference_folder)."""

import json
import subprocess
import sys

import pytest

from coursetools.preprocessors import RobustExecute
from coursetools.sandbox import SandboxedKernelManager
from week13_checks import _cache


@pytest.fixture
def counted(tmp_path):
    """A cached function that counts its runs, and the folder it may keep values in."""
    runs = []

    @_cache.cached
    def history(epochs, lr):
        runs.append((epochs, lr))
        return {"lr": (lr,) * epochs, "loss": [1 / (e + 1) for e in range(epochs)]}

    yield history, runs, tmp_path / "cache"
    _cache.use_folder(None)


def test_a_value_is_computed_once_per_process_and_kept_as_json(counted):
    history, runs, _ = counted
    _cache.use_folder(None)
    first = history(3, 0.5)
    assert history(3, 0.5) is first and runs == [(3, 0.5)]
    assert first == {"lr": [0.5, 0.5, 0.5], "loss": [1.0, 0.5, 1 / 3]}  # tuples as JSON gives them back
    history(2, 0.5)
    assert runs == [(3, 0.5), (2, 0.5)]


def test_without_a_folder_nothing_is_written(counted):
    history, _, folder = counted
    _cache.use_folder(None)
    history(3, 0.5)
    assert not folder.exists()


def test_a_later_process_reads_the_value_instead_of_computing_it(counted):
    history, runs, folder = counted
    _cache.use_folder(folder)
    computed = history(3, 0.5)
    history.cache_clear()  # as a new grading process starts
    assert history(3, 0.5) == computed and runs == [(3, 0.5)]
    files = list(folder.glob("*/*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["value"] == computed


@pytest.mark.parametrize("damage", ["not json", '{"key": "another call", "value": 1}', '[1, 2]'])
def test_an_unreadable_or_foreign_file_is_computed_again(counted, damage):
    history, runs, folder = counted
    _cache.use_folder(folder)
    computed = history(3, 0.5)
    (file,) = folder.glob("*/*.json")
    file.write_text(damage)
    history.cache_clear()
    assert history(3, 0.5) == computed and len(runs) == 2
    assert json.loads(file.read_text())["value"] == computed  # rewritten


def test_another_cpu_or_torch_keeps_its_own_values(monkeypatch):
    """Float rounding differs between CPUs (AVX2, AVX-512) and torch releases: their values never mix."""
    _cache.machine_key.cache_clear()
    here = _cache.machine_key()
    monkeypatch.setattr(_cache, "_cpu", lambda: "vendor_id: other\nflags: fpu avx512f")
    _cache.machine_key.cache_clear()
    elsewhere = _cache.machine_key()
    monkeypatch.setattr(_cache.metadata, "version", lambda dist: "0.0.1")
    _cache.machine_key.cache_clear()
    other_versions = _cache.machine_key()
    _cache.machine_key.cache_clear()
    assert len({here, elsewhere, other_versions}) == 3


class _Km:
    def __init__(self, shown):
        self.shows = lambda path: shown


def _step(tmp_path, sandboxed, km, cache=".reference_cache"):
    step = RobustExecute(reference_cache=cache)
    step.config.CourseDirectory.root = str(tmp_path)
    step._sandboxed, step._km_seen = sandboxed, km
    return step


def test_values_are_kept_on_disk_only_beside_a_sandbox_that_cannot_see_them(tmp_path):
    assert _step(tmp_path, True, _Km(False)).reference_folder() == tmp_path / ".reference_cache"
    assert _step(tmp_path, True, _Km(False), cache="").reference_folder() is None
    assert _step(tmp_path, True, _Km(True)).reference_folder() is None  # the sandbox shows the folder
    assert _step(tmp_path, False, _Km(False)).reference_folder() is None  # unsandboxed: the kernel could write it
    assert _step(tmp_path, None, object()).reference_folder() is None  # a plain kernel manager


def test_the_sandbox_says_which_host_paths_it_shows(tmp_path):
    km = SandboxedKernelManager()
    assert km.shows(tmp_path)  # no sandbox made yet: assume it shows everything
    km._shown = [str(tmp_path / "venv"), str(tmp_path / "course" / "autograded" / "alice")]
    assert km.shows(tmp_path / "venv" / "lib") and km.shows(tmp_path / "course" / "autograded" / "alice")
    assert not km.shows(tmp_path / "course" / ".reference_cache") and not km.shows(tmp_path / "venv2")


READ = """
import json, sys
from week13_checks import ex2, use_reference_folder
use_reference_folder(sys.argv[1])
print(json.dumps(ex2.reference(2, 0.05, 21, False)))
print("torch" in sys.modules)
"""


def test_a_second_grading_process_gets_exercise_2s_reference_without_importing_torch(tmp_path):
    """The grader's plugin and checks import no torch; with the value on disk, none is needed."""
    outs = [subprocess.run([sys.executable, "-c", READ, str(tmp_path)], capture_output=True, text=True,
                           timeout=300, check=True).stdout.split("\n") for _ in range(2)]
    assert outs[0][0] == outs[1][0] and len(json.loads(outs[0][0])["train_loss"]) == 2
    assert (outs[0][1], outs[1][1]) == ("True", "False")
    plain = subprocess.run([sys.executable, "-c", "import sys, coursetools.hook, coursetools.notes, "
                            "coursetools.preprocessors, week13_checks; "
                            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"],
                           capture_output=True, text=True, timeout=300, check=True)
    assert plain.stdout.strip() == "[]"
