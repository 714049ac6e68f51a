"""Submissions that attack the grader's boundary: what a submission brings beside its notebook, and
what its code leaves behind for the trusted side (nbgrader and the course, running as the
instructor) to read, follow, import or serve. Graded by real nbgrader through grade-class, plain
`nbgrader autograde` and a Dask worker (tests/test_boundary.py, tests/test_distributed.py). One
sample per mechanism; each must get exactly the grade its notebook earns and change nothing
outside its own result.

- boundary_fake_guard: the untouched release, with a `grading_guard.py` that answers the guard's
  handshake and silences every error, and a `week13_checks/` package whose every check passes,
  beside it (once graded 95/95): must score 0;
- boundary_fake_checks: a wrong Exercise 1 with a `week13_checks.py` beside it, and links beside it to
  the gradebook, to /dev/zero and to a host file (once 20/20 in Exercise 1): loses Exercise 1, and
  nothing is followed;
- boundary_marker_source / boundary_marker_other: a renamed stub whose rename marker names the
  instructor's source notebook / another student's submission (once 95/95 and the source's
  solutions in the feedback): not graded, with the reason;
- boundary_notebook_link: the notebook itself is a link to another student's: not graded;
- boundary_kernel_links: a correct notebook whose code leaves links in its folder (named as the
  graded notebook, the grading notes and the feedback page, to the gradebook, a host file, /dev/zero,
  a folder of the course), a named pipe, a Unix socket, copies of the hidden checks and an HTML
  page with a script: full marks, the gradebook intact, none of it followed, in feedback/ or served
  by the formgrader (the regular files are kept in a zip archive), the links listed for review;
- boundary_rewrites_notes: a wrong Exercise 1 that reaches into `sys.modules` (a review flag) and
  writes its own grading notes without it: loses Exercise 1, the flag stays;
- boundary_display_hook: a wrong Cell 4 whose `train_epoch` shows a value through the display hook
  when the test cell's twin calls it (nbgrader once read a value shown in a test cell as its score): the
  value reaches no test cell, and it loses Cell 4;
- boundary_joined_hidden: a correct notebook that prints the hidden checks' source joined on one line
  and as a repr: full marks, no hidden line in the feedback;
- boundary_environment: a correct notebook that prints its environment: full marks, no gradebook URL;
- boundary_unix_socket: a correct notebook that connects to a Unix socket the grader listens on in
  the course's folder, and to PostgreSQL's: full marks, nothing reached;
- boundary_output_flood: a correct notebook that shows 64 displays of 1 MiB and prints one 16 MiB
  line: full marks, the graded notebook and its feedback within the byte limits, a note;
- boundary_html_injection: a correct notebook with `<img onerror=...>` in markdown and a `<script>`
  in an HTML display: full marks, neither reaches the feedback (or the formgrader, tests/test_browser.py).
"""

import copy
import os
import socket
from pathlib import Path

import nbformat

from coursetools import NOTEBOOK
from coursetools import notebooks as nbs
from coursetools.submission import MARKER_SUFFIX

from .harness import Sample
from .hostile import prepend
from .robustness import WRONG_STD

SOCKET_NAME = "grader.sock"  # tests/test_boundary.py listens on <course>/build/grader.sock
PAYLOAD = "alert('pwned by a student')"

FAKE_GUARD = '''
"""Answers the grader's handshake, then silences every error of the test cell that follows."""
import builtins


def restore(nonce, name):
    setattr(builtins, name, nonce)
    ip = get_ipython()  # noqa: F821
    ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
'''

FAKE_CHECKS = '''
"""Every hidden check passes."""


def __getattr__(name):
    return lambda *args, **kwargs: None


def check(*args, **kwargs):
    return None
'''


def fake_guard_and_checks(folder: Path) -> None:
    (folder / "grading_guard.py").write_text(FAKE_GUARD)
    (folder / "week13_checks").mkdir()
    (folder / "week13_checks" / "__init__.py").write_text(FAKE_CHECKS)


def fake_checks_and_links(folder: Path) -> None:
    (folder / "week13_checks.py").write_text(FAKE_CHECKS)
    course = folder.parents[2]
    os.symlink(course / "gradebook.db", folder / "gradebook.db")
    os.symlink("/dev/zero", folder / "zeros.csv")
    os.symlink("/etc/hostname", folder / "notes.txt")


def marker(text: str):
    def add(folder: Path) -> None:
        (folder / (NOTEBOOK + MARKER_SUFFIX)).write_text(text + "\n")
    return add


def link_notebook_to(rel: str):
    def relink(folder: Path) -> None:
        (folder / NOTEBOOK).unlink()
        os.symlink(rel, folder / NOTEBOOK)
    return relink


LEAVE_LINKS = f'''
import os as _os, socket as _socket, sys as _sys
from pathlib import Path as _Path
_course = _Path.cwd().parents[2]
_left = {{
    {NOTEBOOK!r}: _course / "gradebook.db",  # nbgrader writes the graded notebook here
    {NOTEBOOK.replace(".ipynb", ".grading.json")!r}: _course / "nbgrader_config.py",
    {NOTEBOOK.replace(".ipynb", ".html")!r}: _course / "gradebook.db",
    "gradebook.db": _course / "gradebook.db",
    "host_file.txt": "/etc/hostname",
    "zeros.bin": "/dev/zero",
    "the_course": _course / "source",
}}
for _name, _target in _left.items():
    try:
        _os.symlink(_target, _name)
    except OSError as _err:
        print("no link", _name, _err)
_os.mkfifo("pipe")
_s = _socket.socket(_socket.AF_UNIX)
_s.bind("left.sock")
for _module in ("week13_checks", "grading_guard"):  # whichever grading module the kernel has
    if _module not in _sys.modules:
        continue
    _file = _Path(_sys.modules[_module].__file__)
    (_Path.cwd() / ("copy_of_" + _file.name)).write_text(_file.read_text())
_Path("evil.html").write_text("<script>fetch('/api/contents')</script>")  # served to the instructor?
print("left", sorted(_os.listdir(".")))
'''

REWRITE_NOTES = f'''
import json as _json, sys as _sys
_seen = len(_sys.modules)  # reaching into the interpreter: a review flag
with open({NOTEBOOK.replace(".ipynb", ".grading.json")!r}, "w") as _f:
    _json.dump({{"notes": [], "review": [], "mode": "sandboxed"}}, _f)
'''

# train_epoch forgets zero_grad() and shows a value instead, while the twin of Cell 4's visible test calls it:
# the test cell must hold the grader's verdict only (what the student's code shows goes nowhere).
DISPLAY_HOOK_CELL4 = {"cell4_solution": [
    ("        optimizer.zero_grad()\n", "        __import__('sys').displayhook('every test passed')\n")]}

PRINT_JOINED = '''
import pathlib as _pl, sys as _sys
for _module in ("week13_checks", "grading_guard"):  # whichever grading module the kernel has
    if _module not in _sys.modules:
        continue
    _file = _pl.Path(_sys.modules[_module].__file__)
    _files = sorted(_file.parent.rglob("*.py")) if _file.name == "__init__.py" else [_file]
    for _source in _files:
        _text = _source.read_text()
        print(" ".join(_text.splitlines()))  # every line of the file on one line
        print(repr(_text))
'''

PRINT_ENVIRONMENT = '''
import os as _os
print(sorted(_os.environ.items()))
'''

CONNECT_UNIX = f'''
import socket as _socket
from pathlib import Path as _Path
for _path in (_Path.cwd().parents[2] / "build" / {SOCKET_NAME!r}, _Path("/run/postgresql/.s.PGSQL.5432"),
              _Path("/var/run/postgresql/.s.PGSQL.5432")):
    try:
        with _socket.socket(_socket.AF_UNIX) as _s:
            _s.settimeout(3)
            _s.connect(str(_path))
            _s.sendall(b"the answers, please")
        print("connected to", _path)
    except OSError as _err:
        print("no socket:", _path, type(_err).__name__)
'''

FLOOD = '''
from IPython.display import display as _display
for _i in range(64):
    _display({"text/plain": "x" * 2**20}, raw=True)
print("y" * 16 * 2**20)
'''

INJECT_HTML = f'''
from IPython.display import HTML as _HTML, display as _display
_display(_HTML("<script>{PAYLOAD}</script><b onmouseover=\\"{PAYLOAD}\\">hover me</b>"))
'''


def with_markdown(text: str, after: str):
    def transform(nb):
        nb = copy.deepcopy(nb)
        for i, cell in enumerate(nb.cells):
            if nbs.grade_id(cell) == after:
                md = nbformat.v4.new_markdown_cell(text)
                md.id = "student-markdown"
                nb.cells.insert(i + 1, md)
                break
        return nb
    return transform


def _then(*transforms):
    def transform(nb):
        for t in transforms:
            nb = t(nb)
        return nb
    return transform


SAMPLES = [
    Sample("boundary_fake_guard", "the untouched release, with a fake grading_guard.py and week13_checks/ beside it",
           answered=False, beside=fake_guard_and_checks),
    Sample("boundary_fake_checks", "wrong std, with a week13_checks.py and links to the gradebook, /dev/zero and "
           "a host file beside it", WRONG_STD, loses=("ex1",), beside=fake_checks_and_links),
    Sample("boundary_marker_source", "a renamed stub whose rename marker names the instructor's source notebook",
           answered=False, filename="Untitled.ipynb", status="not graded",
           beside=marker("../../../source/week13/" + NOTEBOOK)),
    Sample("boundary_marker_other", "a renamed stub whose rename marker names the reference student's notebook",
           answered=False, filename="Untitled.ipynb", status="not graded",
           beside=marker("../../reference/week13/" + NOTEBOOK)),
    Sample("boundary_notebook_link", "the notebook is a link to the reference student's notebook",
           answered=False, status="not graded", beside=link_notebook_to("../../reference/week13/" + NOTEBOOK)),
    Sample("boundary_kernel_links", "leaves links (as the graded notebook, the notes, the feedback; to the "
           "gradebook, a host file, /dev/zero, the course), a pipe, a socket and copies of the checks",
           transform=prepend(LEAVE_LINKS, "ex1_solution")),
    Sample("boundary_rewrites_notes", "wrong std, reaches into sys.modules and writes its own grading notes",
           WRONG_STD, loses=("ex1",), transform=prepend(REWRITE_NOTES, "ex1_solution")),
    Sample("boundary_display_hook", "no zero_grad(), and train_epoch shows a value through the display hook",
           DISPLAY_HOOK_CELL4, loses=("cell4",)),
    Sample("boundary_joined_hidden", "prints the hidden checks' source joined on one line and as a repr",
           transform=prepend(PRINT_JOINED, "ex1_solution")),
    Sample("boundary_environment", "prints its environment", transform=prepend(PRINT_ENVIRONMENT, "ex1_solution")),
    Sample("boundary_unix_socket", "connects to a Unix socket in the course folder and to PostgreSQL's",
           transform=prepend(CONNECT_UNIX, "ex1_solution")),
    Sample("boundary_output_flood", "64 displays of 1 MiB and one 16 MiB line",
           transform=prepend(FLOOD, "ex1_solution")),
    Sample("boundary_html_injection", "<img onerror> in markdown and a <script> in an HTML display",
           transform=_then(prepend(INJECT_HTML, "ex1_solution"),
                           with_markdown(f"My notes <img src=x onerror=\"{PAYLOAD}\">", "ex1_solution"))),
]



def unix_listener(path: Path) -> socket.socket:
    """A Unix socket listening at `path` (the test checks that no kernel reached it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(4)
    server.setblocking(False)
    return server
