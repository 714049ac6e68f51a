"""End to end in a real browser: the notebook as students (and the instructor) see it in JupyterLab.

JupyterLab runs from the course environment on 127.0.0.1, over a scratch
course root (nbgrader_config.py, source/, autograder/, the committed
release/ and notebooks/, a gradebook with the class of tests/test_class_grading.py),
and Debian's Chromium, driven by Playwright, opens it headless:

- the release notebook renders, its imports run, a guided cell shows its
  output, an exercise stub shows `NotImplementedError`;
- nbgrader's Validate button is in the notebook toolbar and reports failures
  on the untouched release;
- the worked notebook, cleared and run again, draws its plots as images;
- the formgrader (the instructor's view) lists the assignment `week13`, and
  the submissions of the class graded by `make grade-class` with their scores.

Each check saves a screenshot into build/screenshots/ (`make screenshots`: docs/screenshots/).
Skipped, with the reason, where Chromium or Playwright is missing. Only
localhost traffic: any other request the page makes is blocked and fails the
test, and Chromium's own background traffic is switched off.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from courses import copy_of
from environ import untraced_env

from coursetools import ASSIGNMENT, NOTEBOOK, RELEASE_NB, REPO, WORKED_NB
from coursetools import notebooks as nbs

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# `make screenshots` sets WEEK13_SCREENSHOTS=docs/screenshots (the ones the README shows); a plain
# test run writes to build/ so it never dirties the checkout (two of them differ from run to run).
SCREENSHOTS = Path(os.environ.get("WEEK13_SCREENSHOTS") or REPO / "build" / "screenshots")
VIEWPORT = {"width": 1280, "height": 900}
# The machine's network is closed: without these Chromium floods refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SERVER_START_S = 90      # JupyterLab answering /api/status
UI_S = 60                # any one thing appearing on the page
VALIDATE_S = 240         # the Validate button's whole run (it executes the notebook)
RUN_ALL_S = 300          # the worked notebook, Restart and Run All
STDERR_MIME = "application/vnd.jupyter.stderr"  # JupyterLab renders errors and stderr with this type


def _skip_reason():
    if not Path(CHROMIUM).is_file():
        return f"browser test skipped: Chromium not found at {CHROMIUM} (apt-get install chromium, or set $CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser test skipped: Playwright for Python is not installed (pip install playwright)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


# ---------------------------------------------------------------- the server

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid):
    """Every process below `pid` (Linux /proc); kernels run in sessions of their own."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def course_root(robust_class, tmp_path_factory):
    """A copy of the class that tests/test_class_grading.py grades (tests/conftest.py,
    `robust_class`: config, source, hidden tests, a gradebook with a graded class), with the
    committed release and worked notebook: what students get and what the formgrader shows. A copy:
    the class's own course stays as grade-class left it, whatever runs before or after."""
    root = copy_of(robust_class.course, tmp_path_factory.mktemp("browser") / "course")
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    # What students get is the committed release (test_generated checks it is what this generates).
    shutil.rmtree(root / "release")
    for folder in ("release", "notebooks"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    return root


@pytest.fixture(scope="module")
def lab(course_root, tmp_path_factory):
    """JupyterLab on 127.0.0.1 over the scratch course root; stopped, kernels included, at the end."""
    home = tmp_path_factory.mktemp("jupyter")
    config = home / "config"
    (config / "labconfig").mkdir(parents=True)
    # No news/update check (the network is closed; it would also put a notification on every screenshot).
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    (config / "jupyter_server_config.json").write_text(json.dumps(
        {"LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = untraced_env()  # the Lab's kernels are not traced by coverage
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        OMP_NUM_THREADS="1",
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    log = (home / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         f"--ServerApp.token={token}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={course_root}",
         "--ServerApp.port_retries=0", f"--LabApp.user_settings_dir={home / 'settings'}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}"],
        cwd=course_root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def log_tail():
        log.flush()
        return (home / "jupyterlab.log").read_text()[-4000:]

    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log_tail()}")
            try:
                req = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{log_tail()}")
            time.sleep(0.5)
        yield {"base": base, "token": token, "root": course_root, "log": log_tail}
    finally:
        below = _descendants(proc.pid)  # the kernels, started in sessions of their own
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # JupyterLab shuts its kernels down on SIGTERM
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        _kill(p for p in below if Path(f"/proc/{p}").exists())
        log.close()


# ---------------------------------------------------------------- the browser

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab):
    """A fresh browser tab; any request that does not go to our JupyterLab is blocked and fails the test."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(UI_S * 1000)
    context.set_default_navigation_timeout(UI_S * 1000)
    expect.set_options(timeout=UI_S * 1000)  # assertions have their own default (5 s), too short on a loaded machine
    foreign = []

    def only_localhost(route):
        if route.request.url.startswith(lab["base"] + "/") or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", only_localhost)
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert not foreign, f"requests beyond localhost: {foreign}"
    assert not errors, f"uncaught errors in the page: {errors}"


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path


def _open_notebook(page, lab, relpath, workspace):
    """Open `relpath` in JupyterLab (a workspace of its own), wait for its kernel, hide the file browser."""
    from playwright.sync_api import expect

    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{relpath}?token={lab['token']}")
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-MarkdownOutput h1").first).to_be_visible()
    status = page.locator("#jp-main-statusbar")
    expect(status).to_contain_text("Python 3 (ipykernel) | Idle")
    if page.locator("#jp-left-stack").is_visible():
        page.keyboard.press("Control+b")  # more room for the notebook in the screenshots
        expect(page.locator("#jp-left-stack")).to_be_hidden()
    return panel


def _menu(page, menu, item):
    page.locator(".lm-MenuBar-item", has_text=menu).click()
    page.locator(".lm-Menu-item:visible", has_text=item).first.click()


def _scroll_to_top(locator):
    locator.evaluate("el => el.scrollIntoView({block: 'start'})")


# ---------------------------------------------------------------- the checks

def test_student_opens_the_release_notebook(page, lab):
    """It renders, imports run, a guided cell shows its output, an exercise stub raises NotImplementedError."""
    from playwright.sync_api import expect

    release = nbs.read(RELEASE_NB)
    panel = _open_notebook(page, lab, f"release/{ASSIGNMENT}/{NOTEBOOK}", "student")
    expect(panel.locator(".jp-MarkdownOutput h1").first).to_contain_text("Week 13 — PyTorch Fundamentals")
    expect(page.locator("#jp-main-statusbar")).to_contain_text(f"Cell 1/{len(release.cells)}")

    # The cells a student meets first: title, imports, Cell 1's text, a guided demo, broadcasting, the first stub.
    ids = [c.id for c in release.cells]
    setup, demo, stub = ids.index("setup"), ids.index("cell1-demo-tensors"), ids.index("cell1-solution")
    assert "raise NotImplementedError()" in release.cells[stub].source
    cells = panel.locator(".jp-Notebook .jp-Cell")
    cells.nth(0).locator(".jp-InputPrompt").click()
    for _ in range(stub + 1):
        page.keyboard.press("Shift+Enter")

    stub_out = cells.nth(stub).locator(".jp-OutputArea-output")
    expect(stub_out).to_contain_text("NotImplementedError")
    expect(cells.nth(stub).locator(f".jp-OutputArea-output[data-mime-type='{STDERR_MIME}']")).to_have_count(1)

    expect(cells.nth(setup).locator(".jp-InputPrompt")).to_have_text("[1]:")
    expect(cells.nth(setup).locator(".jp-OutputArea-output")).to_have_count(0)  # imports: no error, no warning
    demo_out = cells.nth(demo).locator(".jp-OutputArea")
    expect(demo_out).to_contain_text("torch.float32 (12,)")
    expect(demo_out).to_contain_text("(3, 4) (1, 3, 4) (3,)")
    expect(demo_out).to_contain_text("tensor([[ 0.,  1.,  2.,  3.],")
    expect(cells.nth(demo).locator(f".jp-OutputArea-output[data-mime-type='{STDERR_MIME}']")).to_have_count(0)

    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle")
    _scroll_to_top(cells.nth(demo))
    expect(demo_out).to_be_in_viewport(ratio=1)
    _shot(page, "student-guided-cell.png")
    _scroll_to_top(cells.nth(stub - 1))
    expect(stub_out).to_be_in_viewport(ratio=1)
    _shot(page, "student-exercise-stub.png")


def test_validate_button_reports_failures_on_the_untouched_release(page, lab):
    from playwright.sync_api import expect

    panel = _open_notebook(page, lab, f"release/{ASSIGNMENT}/{NOTEBOOK}", "validate")
    button = panel.locator(".jp-Toolbar .validate-button")
    expect(button).to_be_visible()
    expect(button).to_contain_text("Validate")
    button.click()
    dialog = page.locator(".jp-Dialog")
    message = dialog.locator("#validation-message")
    expect(message).to_be_visible(timeout=VALIDATE_S * 1000)
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Validation Results")
    expect(message).to_have_class(_has_word("validation-failed"))
    expect(message).to_contain_text("The following cell failed:")
    expect(message).to_contain_text("NameError")  # the first test cell, run after an unanswered stub
    assert "Success!" not in message.inner_text()
    _shot(page, "validate-untouched-release.png")
    dialog.get_by_role("button", name="Ok").click()
    expect(dialog).to_have_count(0)


def _has_word(word):
    import re

    return re.compile(rf"(^|\s){re.escape(word)}(\s|$)")


def test_worked_notebook_draws_its_plots(page, lab):
    """Cleared and run again in the browser, the worked notebook draws every figure it stores, as images."""
    from playwright.sync_api import expect

    worked = nbs.read(WORKED_NB)
    code_cells = sum(c.cell_type == "code" for c in worked.cells)
    figures = sum("image/png" in o.get("data", {}) for c in worked.cells if c.cell_type == "code" for o in c.outputs)
    assert figures >= 1
    panel = _open_notebook(page, lab, f"notebooks/{NOTEBOOK}", "worked")
    images = panel.locator(".jp-OutputArea-output img")
    expect(images).to_have_count(figures)  # the stored figures, as committed
    _menu(page, "Edit", "Clear Outputs of All Cells")
    expect(images).to_have_count(0)
    _menu(page, "Run", "Run All Cells")
    # Done when every code cell shows an execution count (none "[*]", none blank).
    page.wait_for_function(
        """([panelSel, n]) => {
            const prompts = [...document.querySelector(panelSel).querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length === n && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
        }""",
        arg=[".jp-NotebookPanel:not(.lm-mod-hidden)", code_cells],
        timeout=RUN_ALL_S * 1000,
    )
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle")
    expect(panel.locator(f".jp-OutputArea-output[data-mime-type='{STDERR_MIME}']")).to_have_count(0)
    expect(images).to_have_count(figures)
    for i in range(figures):
        img = images.nth(i)
        img.scroll_into_view_if_needed()
        size = img.evaluate("el => el.decode().then(() => [el.naturalWidth, el.naturalHeight])")
        assert size[0] > 100 and size[1] > 100, f"figure {i} is not a drawn image: {size}"
    first_plot = panel.locator(".jp-Notebook .jp-Cell").filter(has=page.locator(".jp-OutputArea-output img")).first
    _scroll_to_top(first_plot)
    expect(images.first).to_be_in_viewport(ratio=1)
    _shot(page, "worked-notebook-plot.png")


def test_formgrader_lists_the_assignment(page, lab):
    """The instructor's view: nbgrader's formgrader, served by the same JupyterLab, lists week13."""
    from playwright.sync_api import expect

    page.goto(f"{lab['base']}/formgrader?token={lab['token']}")
    expect(page.locator("h1", has_text="Manage Assignments")).to_be_visible()
    row = page.locator("table tbody tr", has=page.get_by_role("link", name=ASSIGNMENT, exact=True))
    expect(row).to_have_count(1)
    expect(row).to_be_visible()
    _shot(page, "formgrader-assignments.png")

    # The same view from inside JupyterLab: Nbgrader -> Formgrader opens it in a panel.
    page.goto(f"{lab['base']}/lab/workspaces/instructor?token={lab['token']}")
    _menu(page, "Nbgrader", "Formgrader")
    panel = page.frame_locator(".jp-MainAreaWidget:visible iframe").first
    expect(panel.get_by_role("link", name=ASSIGNMENT, exact=True)).to_be_visible()


def test_formgrader_shows_the_graded_class(page, lab, robust_class):
    """After `make grade-class`: every submission listed, graded ones with their score, the others flagged."""
    from playwright.sync_api import expect

    statuses = robust_class.statuses

    results = robust_class.results
    page.goto(f"{lab['base']}/formgrader?token={lab['token']}")  # logs in: the table's API calls need the cookie
    page.goto(f"{lab['base']}/formgrader/manage_submissions/{ASSIGNMENT}")
    rows = page.locator("table tbody tr", has=page.locator("td.score"))
    expect(rows).to_have_count(len(statuses))
    for student, result in results.items():
        row = rows.filter(has=page.locator("td.student-id", has_text=student))
        # nbgrader's score includes the ungraded written answer (5 points) in the maximum
        expect(row.locator("td.score")).to_have_text(f"{result.total:g} / 100")
    _shot(page, "formgrader-submissions.png")


def test_the_class_report_shows_what_the_class_missed(page, lab, robust_class):
    """Issue 23: `week13 class-report` on the graded class (in this test's copy of it), opened in the
    browser: the checks the class failed most, the most costly first, the points per part and a
    histogram each, every image drawn."""
    from playwright.sync_api import expect

    from coursetools.grading import PARTS
    from coursetools.report import class_report

    class_report(lab["root"])  # into the copy's build/class-report/
    page.goto(f"{lab['base']}/files/build/class-report/index.html?token={lab['token']}")  # its images are in it
    expect(page.locator("h1")).to_have_text(f"{ASSIGNMENT}: class report")
    expect(page.locator("figure img")).to_have_count(len(PARTS))
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    counts = {}
    for result in robust_class.results.values():
        for gid in result.failures:
            counts[gid] = counts.get(gid, 0) + 1
    first = page.locator("table").first.locator("tbody tr").first
    expect(first.locator("td").nth(1)).to_have_text(str(max(counts.values())))
    assert counts[first.locator("td").first.inner_text()] == max(counts.values())
    expect(page.get_by_text(f"{len(robust_class.results)} students graded")).to_be_visible()
    _shot(page, "class-report.png")
