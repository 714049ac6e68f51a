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
def course(tmp_path, nb):
    hidden = tmp_path / "autograder" / "checks"
    hidden.mkdir(parents=True)
    (hidden / "ex1.py").write_text(textwrap.dedent(f"""\
        {SHARED}

        def check():
            {SECRET}
            return expected
        """))
    release = tmp_path / "release" / "week13"
    release.mkdir(parents=True)
    nbformat.write(nb.notebook(nb.code(SHARED)), str(release / "nb.ipynb"))
    step = redact.RedactHiddenSource(hidden_dir=str(hidden.parent), release_dir=str(release.parent))
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


def test_hidden_lines_min_length_and_release(tmp_path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "c.py").write_text(f"x = 1\n{SECRET}\n{SHARED}\n")
    assert redact.hidden_lines(tmp_path / "h") == {SECRET, SHARED}
    assert redact.hidden_lines(tmp_path / "h", min_length=100) == set()
