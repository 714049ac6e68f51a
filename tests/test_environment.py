"""environment.yml and requirements.txt pin the same packages, and the course uses what it pins."""

import re

from coursetools import REPO


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _requirements():
    return _pins((REPO / "requirements.txt").read_text().splitlines())


def _environment_pip():
    text = (REPO / "environment.yml").read_text()
    pip_block = text.split("- pip:", 1)[1]
    return _pins(pip_block.splitlines())


def test_requirements_pin_every_line():
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert len(lines) == len(_requirements()), "every requirement is pinned with =="


def test_environment_and_requirements_agree():
    assert _environment_pip() == _requirements()


def test_torch_is_the_pinned_cpu_release():
    assert _requirements()["torch"] == "2.13.0"
    import torch

    assert torch.__version__.split("+")[0] == "2.13.0"


def test_environment_uses_python_311():
    assert re.search(r"^\s*-\s*python=3\.11\s*$", (REPO / "environment.yml").read_text(), re.M)


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    for name, pinned in _requirements().items():
        assert version(name).split("+")[0] == pinned, name
