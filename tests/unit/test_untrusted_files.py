"""The trusted side never follows what a submission or a kernel left (coursetools/safefiles.py,
coursetools/submission.py), keeps outputs within byte limits (coursetools/outputs.py), and feedback
redaction finds hidden lines inside longer text (coursetools/redact.py). No kernels, no nbgrader."""

import html
import json
import os
import threading

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from coursetools import outputs, safefiles, submission
from coursetools.redact import REMOVED, RedactHiddenSource, redact_text

NB = "pytorch_fundamentals.ipynb"


# --- safefiles ------------------------------------------------------------------------------------

def test_collect_keeps_regular_files_and_lists_everything_else(tmp_path):
    (tmp_path / "a.txt").write_text("mine")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"\0" * 10)
    (tmp_path / "to_gradebook").symlink_to("/etc/hostname")
    (tmp_path / "to_folder").symlink_to("/etc")
    os.mkfifo(tmp_path / "pipe")
    got = safefiles.collect(tmp_path)
    assert got.files == {"a.txt": b"mine", "sub/b.bin": b"\0" * 10}
    assert got.left_out == ["pipe (named pipe)", "to_folder (symbolic link)", "to_gradebook (symbolic link)"]


def test_collect_stops_at_its_count_and_byte_limits(tmp_path):
    for i in range(5):
        (tmp_path / f"f{i}").write_bytes(b"x" * 100)
    got = safefiles.collect(tmp_path, max_files=3)
    assert sorted(got.files) == ["f0", "f1", "f2"] and len(got.left_out) == 2
    got = safefiles.collect(tmp_path, max_bytes=250)
    assert sorted(got.files) == ["f0", "f1"]
    assert got.left_out[0].startswith("f2 (over the")


def test_read_regular_never_follows_a_link_and_never_blocks_on_a_pipe(tmp_path):
    (tmp_path / "link").symlink_to("/dev/zero")
    with pytest.raises(safefiles.NotRegular):
        safefiles.read_regular(tmp_path / "link", 100)
    os.mkfifo(tmp_path / "pipe")
    done = []
    reader = threading.Thread(target=lambda: done.append(pytest.raises(safefiles.NotRegular, safefiles.read_regular,
                                                                       tmp_path / "pipe", 100)), daemon=True)
    reader.start()
    reader.join(5)
    assert done, "reading a named pipe must fail at once, not wait for a writer"
    (tmp_path / "big").write_bytes(b"x" * 101)
    with pytest.raises(OSError):
        safefiles.read_regular(tmp_path / "big", 100)


def test_write_tree_refuses_names_that_leave_the_folder_and_never_writes_through_a_link(tmp_path):
    for rel in ("../escape", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError):
            safefiles.write_tree(tmp_path / "out", {rel: b"x"})
    target = tmp_path / "victim"
    target.write_text("keep")
    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "out" / "f").symlink_to(target)
    with pytest.raises(FileExistsError):
        safefiles.write_tree(tmp_path / "out", {"f": b"overwritten"})
    assert target.read_text() == "keep"
    safefiles.replace_file(tmp_path / "out" / "f", b"new")  # the link itself is replaced, never its target
    assert target.read_text() == "keep" and (tmp_path / "out" / "f").read_bytes() == b"new"


# --- submission -----------------------------------------------------------------------------------

def test_find_notebook_and_problem(tmp_path):
    folder = tmp_path / "alice" / "week13"
    folder.mkdir(parents=True)
    assert submission.find_notebook(folder, NB) == (None, f"no notebook in the submission (expected {NB})")
    (folder / "Untitled.ipynb").write_text("{}")
    assert submission.find_notebook(folder, NB) == (folder / "Untitled.ipynb", "notebook found as Untitled.ipynb")
    (folder / NB).symlink_to(tmp_path / "elsewhere.ipynb")
    assert submission.problem(folder, NB) == f"{NB} is a symbolic link, not a file"
    assert submission.find_notebook(folder, NB)[0] is None
    (folder / NB).unlink()
    (folder / (NB + ".renamed-from")).write_text("../../bob/week13/" + NB + "\n")
    assert "must name a notebook file in the same folder" in submission.problem(folder, NB)
    (folder / (NB + ".renamed-from")).write_text("Untitled.ipynb\nsha256:00\n")
    assert submission.problem(folder, NB) is None


def test_extras_name_every_added_entry_but_the_release_s_own_and_editor_leftovers(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / NB).write_text("{}")
    (folder / "week13_checks.py").write_text("")
    (folder / "data").mkdir()
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / "<img src=x onerror=alert(1)>.py").write_text("")
    (folder / "db").symlink_to("/x")
    assert submission.extras(folder, NB, {"data"}) == ["?img src?x onerror?alert(1)?.py", "db (symbolic link)",
                                                       "week13_checks.py"]


# --- outputs ----------------------------------------------------------------------------------------

def _nb(*cells):
    return new_notebook(cells=list(cells))


def test_limit_outputs_cuts_floods_and_keeps_errors():
    flood = new_code_cell("print(...)")
    flood.outputs = [new_output("display_data", data={"text/plain": "x" * 1000}) for _ in range(10)] + [
        new_output("stream", name="stdout", text="y" * 5000),
        new_output("error", ename="AssertionError", evalue="wrong", traceback=["t" * 200_000])]
    small = new_code_cell("1")
    small.outputs = [new_output("stream", name="stdout", text="fine\n")]
    nb = _nb(flood, small)
    assert outputs.limit_outputs(nb, cell_limit=4096, notebook_limit=1 << 20) == [0]
    kinds = [o.output_type for o in nb.cells[0].outputs]
    assert kinds.count("display_data") == 4 and "error" in kinds and kinds[-1] == "stream"
    assert "[output cut" in nb.cells[0].outputs[-1].text
    error = next(o for o in nb.cells[0].outputs if o.output_type == "error")
    assert sum(map(len, error.traceback)) <= outputs.ERROR_LIMIT + 20
    assert nb.cells[1].outputs[0].text == "fine\n"
    nbformat.validate(nb)


def test_limit_outputs_holds_the_notebook_to_its_limit():
    cells = []
    for _ in range(20):
        cell = new_code_cell("print('z' * 1000)")
        cell.outputs = [new_output("stream", name="stdout", text="z" * 1000)]
        cells.append(cell)
    nb = _nb(*cells)
    cut = outputs.limit_outputs(nb, cell_limit=2000, notebook_limit=5500)
    assert cut and sum(outputs.output_bytes(o) for c in nb.cells for o in c.outputs
                       if "[output cut" not in o.get("text", "")) <= 5500


# --- redaction ------------------------------------------------------------------------------------

HIDDEN = {"expect(loss_history[-1] < REFERENCE_LOSS * 1.05)", "def _check_scheduler_is_cosine(model, lr):"}


def test_redaction_finds_hidden_lines_inside_longer_text():
    joined = " ; ".join(sorted(HIDDEN))  # hidden lines printed on one line
    assert redact_text(f"mine\n{joined}\n", HIDDEN) == (f"mine\n{REMOVED}\n", 1)
    as_repr = repr("\n".join(sorted(HIDDEN)))  # a repr: the lines joined by \n escapes
    assert redact_text(as_repr, HIDDEN)[1] == 1
    escaped = html.escape(sorted(HIDDEN)[0])  # as an HTML output would hold it
    assert redact_text("<pre>" + escaped + "</pre>", HIDDEN)[1] == 1
    assert redact_text("expect(loss_history[-1] < 2)\nmy own text\n", HIDDEN) == (
        "expect(loss_history[-1] < 2)\nmy own text\n", 0)


def test_redaction_covers_json_data_metadata_and_error_names():
    cell = new_code_cell("display(...)")
    secret = sorted(HIDDEN)[1]
    cell.outputs = [new_output("display_data", data={"application/json": {"src": [secret]}, "text/plain": "ok"},
                               metadata={"note": "x " + secret}),
                    new_output("error", ename=secret, evalue="e", traceback=[])]
    step = RedactHiddenSource()
    step._cache[(tuple(step.hidden_modules), step.release_dir, step.min_length)] = HIDDEN
    try:
        nb, _ = step.preprocess(_nb(cell), {})
    finally:
        step._cache.clear()
    text = json.dumps(nb.cells[0].outputs)
    assert secret not in text
    assert nb.cells[0].outputs[0].data["text/plain"] == "ok"


# --- sanitising student HTML ----------------------------------------------------------------------

def test_clean_removes_scripts_handlers_and_javascript_links_and_keeps_content():
    from coursetools.sanitize import clean

    dirty = ('<script>alert(1)</script><b onmouseover="alert(2)">hover</b> <img src=x onerror="alert(3)">'
             '<a href="javascript:alert(4)">link</a><table><thead><tr><th>a</th></tr></thead>'
             '<tbody><tr><td>1</td></tr></tbody></table><style>body{display:none}</style><iframe src="//x"></iframe>')
    out = clean(dirty)
    for bad in ("<script", "alert(1)", "onmouseover", "onerror", "javascript:", "<style", "<iframe"):
        assert bad not in out, bad
    assert "<b>hover</b>" in out and "<td>1</td>" in out and '<img src="x">' in out and "<th>a</th>" in out


def test_sanitize_step_cleans_outputs_and_the_students_markdown_only(nb):
    from coursetools.preprocessors import SanitizeStudentHtml

    mine = nbformat.v4.new_markdown_cell('My notes <img src=x onerror="alert(1)"> and **bold**')
    course = nb.readonly_md("intro", "<details><summary>Hint</summary>the course's own</details>")
    plain = nbformat.v4.new_markdown_cell("no markup at all: 2 > 1")
    code = nbformat.v4.new_code_cell("display(...)")
    code.outputs = [new_output("display_data", data={"text/html": "<script>x()</script><p>shown</p>",
                                                     "application/javascript": "x()", "text/plain": "p"})]
    for cell in (mine, course, plain, code):
        SanitizeStudentHtml().preprocess_cell(cell, {}, 0)
    assert mine.source == 'My notes <img src="x"> and **bold**'
    assert course.source == "<details><summary>Hint</summary>the course's own</details>"
    assert plain.source == "no markup at all: 2 > 1", "a cell without markup keeps its text (and its checksum)"
    assert code.outputs[0].data == {"text/html": "<p>shown</p>", "text/plain": "p"}
