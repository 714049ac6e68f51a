"""CI never goes green by skipping: with CI=true a skipped test (a missing Chromium, PostgreSQL
server or bubblewrap) fails the run and says why; outside CI it stays a skip."""

import subprocess
import sys

from environ import untraced_env

from coursetools import REPO

SKIPPING = '''
import pytest


def test_needs_a_browser():
    pytest.skip("Chromium not found at /usr/bin/chromium")
'''


def _run(tmp_path, ci):
    (tmp_path / "test_needs.py").write_text(SKIPPING)
    env = {k: v for k, v in untraced_env().items() if k != "CI"}  # conftest.py is not measured code
    if ci:
        env["CI"] = "true"
    env["PYTHONPATH"] = str(REPO / "tests")  # tests/conftest.py's own modules (pyproject's pythonpath, outside its rootdir)
    return subprocess.run([sys.executable, "-m", "pytest", str(tmp_path / "test_needs.py"), "-p", "tests.conftest",
                           "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_a_skip_fails_under_ci_with_its_reason(tmp_path):
    proc = _run(tmp_path, ci=True)
    assert proc.returncode != 0, proc.stdout
    assert "CI must not skip a test" in proc.stdout and "Chromium not found" in proc.stdout


def test_a_skip_is_a_skip_outside_ci(tmp_path):
    proc = _run(tmp_path, ci=False)
    assert proc.returncode == 0 and "1 skipped" in proc.stdout, proc.stdout
