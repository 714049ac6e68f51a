"""coursetools.redact.RedactHiddenSource: feedback never shows a line of the hidden checks."""

import textwrap
from types import SimpleNamespace

import nbformat
import pytest
from nbformat.v4 import new_output

from coursetools import redact

SECRET = "expected = torch.tensor([0.25, 0.5, 0.25])  # hidden input"
SHARED = "from torch.utils.data import DataLoader, Dataset"


@pytest.fixture
def course(tmp_path, nb, monkeypatch):
    """Hidden checks installed as a package (`w13_unit_checks`, found on the path like the real ones)."""
    hidden = tmp_path / "autograder" / "w13_unit_checks"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(hidden.parent))
    (hidden / "ex1.py").write_text(textwrap.dedent(f"""\
        {SHARED}

        def check():
            {SECRET}
            return expected
        """))
    release = tmp_path / "release" / "week13"
    release.mkdir(parents=True)
    nbformat.write(nb.notebook(nb.code(SHARED)), str(release / "nb.ipynb"))
    step = redact.RedactHiddenSource(hidden_modules=["w13_unit_checks"], release_dir=str(release.parent))
    return SimpleNamespace(step=step)


def graded(nb, *outputs):
    cell = nb.test("t", "check()")
    cell.outputs = list(outputs)
    return nb.notebook(cell)


def test_a_printed_hidden_line_is_redacted(course, nb):
    notebook = graded(nb, new_output("stream", name="stdout", text=f"before\n    {SECRET}\nafter\n"))
    out, _ = course.step.preprocess(notebook, {})
    assert out.cells[0].outputs[0].text == f"before\n{redact.REMOVED}\nafter\n"


def test_a_hidden_line_in_a_traceback_is_redacted(course, nb):
    error = new_output("error", ename="AssertionError", evalue="x",
                       traceback=[f"\x1b[0;32m----> 4\x1b[0m {SECRET}\n", "AssertionError: x"])
    out, _ = course.step.preprocess(graded(nb, error), {})
    assert out.cells[0].outputs[0].traceback == [f"{redact.REMOVED}\n", "AssertionError: x"]


def test_a_hidden_line_in_a_result_is_redacted(course, nb):
    result = new_output("execute_result", data={"text/plain": SECRET}, execution_count=1)
    out, _ = course.step.preprocess(graded(nb, result), {})
    assert out.cells[0].outputs[0].data["text/plain"] == redact.REMOVED


def test_an_ordinary_line_is_not_redacted(course, nb):
    text = "epoch 1: loss 0.6931, accuracy 0.5000\nreturn expected\n"  # short lines never count
    out, _ = course.step.preprocess(graded(nb, new_output("stream", name="stdout", text=text)), {})
    assert out.cells[0].outputs[0].text == text


def test_a_line_the_release_shows_is_not_redacted(course, nb):
    text = f"{SHARED}\n"
    out, _ = course.step.preprocess(graded(nb, new_output("stream", name="stderr", text=text)), {})
    assert out.cells[0].outputs[0].text == text


def test_a_visible_message_naming_a_call_the_hidden_checks_also_make_is_kept(tmp_path, nb, monkeypatch):
    """A hidden line that the release shows inside a longer line (a visible test's message naming
    `optimizer.zero_grad()`) is no secret: the student's reason for lost points stays readable."""
    hidden = tmp_path / "autograder" / "w13_unit_checks2"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("def fit(optimizer):\n    optimizer.zero_grad()\n")
    monkeypatch.syspath_prepend(str(hidden.parent))
    message = "AssertionError: stale gradients took part: clear them first (optimizer.zero_grad())"
    release = tmp_path / "release" / "week13"
    release.mkdir(parents=True)
    nbformat.write(nb.notebook(nb.code(f'assert ok, "{message.split(": ", 1)[1]}"')), str(release / "nb.ipynb"))
    step = redact.RedactHiddenSource(hidden_modules=["w13_unit_checks2"], release_dir=str(release.parent))
    error = new_output("error", ename="AssertionError", evalue="x", traceback=[message])
    out, _ = step.preprocess(graded(nb, error), {})
    assert out.cells[0].outputs[0].traceback == [message]
    # and the same hidden line printed on its own, with the release not showing it, is still removed
    other = tmp_path / "other_release" / "week13"
    other.mkdir(parents=True)
    nbformat.write(nb.notebook(nb.code("pass")), str(other / "nb.ipynb"))
    step = redact.RedactHiddenSource(hidden_modules=["w13_unit_checks2"], release_dir=str(other.parent))
    out, _ = step.preprocess(graded(nb, error), {})
    assert out.cells[0].outputs[0].traceback == [redact.REMOVED]


def test_hidden_lines_min_length_and_release(tmp_path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "c.py").write_text(f"x = 1\n{SECRET}\n{SHARED}\n")
    assert redact.hidden_lines(tmp_path / "h") == {SECRET, SHARED}
    assert redact.hidden_lines(tmp_path / "h", min_length=100) == set()


def test_module_sources_follow_the_installed_modules(tmp_path, monkeypatch):
    """A package gives every .py file under it, a module its file, a missing module nothing."""
    (tmp_path / "pkg_w13" / "sub").mkdir(parents=True)
    for rel in ("pkg_w13/__init__.py", "pkg_w13/sub/a.py", "mod_w13.py"):
        (tmp_path / rel).write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    got = redact.module_sources(["pkg_w13", "mod_w13", "no_such_module_w13"])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in got) == [
        "mod_w13.py", "pkg_w13/__init__.py", "pkg_w13/sub/a.py"]


def test_the_real_hidden_checks_are_found_where_they_are_installed():
    names = [p.name for p in redact.module_sources(redact.RedactHiddenSource().hidden_modules)]
    assert "grading_guard.py" in names and "ex4.py" in names
