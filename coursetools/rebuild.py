"""A submission rebuilt on the release's skeleton: pure functions on notebooks, no I/O.

The autograde pipeline (`coursetools.preprocessors.RebuildFromRelease`, set in
nbgrader_config.py) calls `rebuild` on every submission, so `nbgrader autograde`,
the formgrader's Autograde button and `grade-class` grade the same notebook:

- every test and read-only cell is the release's, with its metadata, also when
  the student deleted, duplicated, split, retagged or converted it;
- the student's answers count where the student put them: solution cells keep
  the student's source; the student's own cells are kept in order, as plain
  cells; a solution cell that was deleted, or left as the release's stub while
  the answer sits in another cell, no longer overrides that answer;
- each such repair is described by a note (shown to the student in feedback).
"""

import ast
import json
import re

import nbformat

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_fixed(cell: nbformat.NotebookNode) -> bool:
    """Release cells the student may not change: tests and read-only cells."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta) and not meta.get("solution")


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _copy(cell):
    return nbformat.from_dict(json.loads(json.dumps(cell)))


def _plain(cell, cell_id):
    """The student's own cell, without metadata (no tags, no nbgrader marks)."""
    make = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
    out = make(cell.source)
    out.id = cell_id
    return out


STUB_REPLACED = ("# (not answered in this cell: the release's stub is left out so that\n"
                 "#  the answer written in another cell of the notebook is the one graded)")
DELETED = "# (this solution cell was deleted: the answer written in other cells is graded)"


def _defined_names(source):
    """Top-level names a cell defines (functions, classes, assignments); empty if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _moved(student_order, release_order, fixed_gids):
    """Solution grade ids whose nearest preceding test/read-only cell differs from the release's."""
    def anchors(order):
        out, last = {}, None
        for gid in order:
            if gid in fixed_gids:
                last = gid
            else:
                out[gid] = last
        return out

    present = set(student_order)
    release_anchors = anchors([g for g in release_order if g in present])
    return [g for g, a in anchors(student_order).items() if release_anchors.get(g, a) != a]


def rebuild(release_nb: nbformat.NotebookNode,
            student_nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """The student's answers on the release's skeleton; returns (notebook, notes).

    `notes` says, one line each, what was repaired: deleted, emptied, moved,
    split or unanswered solution cells, extra grade cells. An unchanged stub is
    left out only when the student's own code cells define a name the stub
    defines (the answer is there); otherwise it stays, and nbgrader reports
    "No response".
    """
    notes = []
    release_index_by_gid = {grade_id(c): i for i, c in enumerate(release_nb.cells) if grade_id(c)}
    release_index_by_id = {c.get("id"): i for i, c in enumerate(release_nb.cells) if not grade_id(c) and c.get("id")}
    fixed_gids = {grade_id(c) for c in release_nb.cells if grade_id(c) and is_fixed(c)}
    chosen = {}  # release index -> the student's version of that cell
    extras = {}  # release index (or -1) -> the student's own cells that follow it
    order = []  # grade ids in the student's order (first occurrence)
    previous = -1
    for cell in student_nb.cells:
        gid = grade_id(cell)
        if gid in release_index_by_gid:
            index = release_index_by_gid[gid]
            if gid not in order:
                order.append(gid)
            if is_fixed(release_nb.cells[index]):
                previous = index  # a test or read-only cell: the release's copy is used
                continue
            if index in chosen:  # a split (or copied) solution cell: keep it, as a plain cell
                extras.setdefault(previous, []).append(cell)
                notes.append(f"{gid}: more than one cell, kept in order")
                continue
            chosen[index] = cell
            previous = index
        elif gid is None and cell.get("id") in release_index_by_id and release_index_by_id[cell.get("id")] not in chosen:
            index = release_index_by_id[cell.get("id")]
            chosen[index] = cell
            previous = index
        else:
            if gid is not None:
                notes.append(f"unknown grade id {gid!r}: kept as a plain cell")
            extras.setdefault(previous, []).append(cell)

    own_names = set()  # what the student's own code cells define (an answer written outside its cell)
    for cells in extras.values():
        for c in cells:
            if c.cell_type == "code":
                own_names |= _defined_names(c.source)
    for gid in _moved(order, [grade_id(c) for c in release_nb.cells if grade_id(c)], fixed_gids):
        notes.append(f"{gid}: moved; graded in its place in the release")

    out, n_extra = [], 0
    used_ids = {c.get("id") for c in release_nb.cells}

    def add_extras(key: int) -> None:
        nonlocal n_extra
        for extra in extras.get(key, []):
            n_extra += 1
            cell_id = extra.get("id")
            if not cell_id or cell_id in used_ids or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", cell_id):
                cell_id = f"student-{n_extra}"
            used_ids.add(cell_id)
            out.append(_plain(extra, cell_id))

    add_extras(-1)
    for index, release_cell in enumerate(release_nb.cells):
        cell = _copy(release_cell)
        student = chosen.get(index)
        gid = grade_id(release_cell)
        if is_fixed(release_cell):
            pass  # always the release's copy, metadata included
        elif student is not None:
            cell.source = student.source
            if is_solution(release_cell) and release_cell.cell_type == "code":
                if not student.source.strip():
                    notes.append(f"{gid}: the solution cell is empty")
                elif student.source.strip() == release_cell.source.strip() and _defined_names(student.source) & own_names:
                    cell.source = STUB_REPLACED
                    notes.append(f"{gid}: left as the release's stub; your code in other cells is graded")
        elif is_solution(release_cell):
            if release_cell.cell_type == "code":
                cell.source = DELETED
                notes.append(f"{gid}: the solution cell was deleted; your code in other cells is graded")
            else:
                notes.append(f"{gid}: missing, the empty release cell was used")
        out.append(cell)
        add_extras(index)
    for cell in out:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb = nbformat.v4.new_notebook(cells=out, metadata=json.loads(json.dumps(release_nb.metadata)))
    nb.nbformat_minor = release_nb.nbformat_minor
    nbformat.validate(nb)
    return nb, notes


# Code that reaches into the kernel or the grader. Verdicts of the checks decided outside the
# kernel do not depend on it (coursetools/verdicts.py); the guard undoes what it can before the
# other test cells (autograder/grading_guard.py). Such submissions are flagged so that a person
# looks at them before the grade is published. The flags come from the parsed code of every cell
# the student wrote (IPython's own transform first, so magics parse), with names resolved through
# the cell's imports (`import sys as s; s.modules` is sys.modules), so spelling a module's name in
# pieces still shows: dynamic imports and exec of computed code are flagged themselves. A cell
# that does not parse is read as text with the patterns below.
SUSPICIOUS = {
    "IPython hooks": r"input_transformers|ast_transformers|set_custom_exc|events\.register|register_magic",
    "the grader": r"grading_guard|week13_checks|__w13|autograder",
    "the interpreter": r"sys\.modules|sys\.settrace|sys\.setprofile|sys\.(?:display|except)hook|"
                       r"\bbuiltins\b|__builtins__|os\._exit|\bctypes\b|gc\.get_objects|_getframe|importlib",
}
_GRADER = re.compile(SUSPICIOUS["the grader"])
# IPython's shell attributes a correct answer never needs (magics, `!cmd` and `%timeit` use others).
_IPYTHON_HOOKS = {"input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
                  "ast_transformers", "set_custom_exc", "events", "register_magic_function", "register_magics",
                  "set_hook", "showtraceback", "_showtraceback", "user_ns_hidden", "display_formatter",
                  "displayhook", "display_pub", "InteractiveTB", "excepthook", "run_cell", "run_cell_async",
                  "transform_cell", "ex", "ev"}
# Modules, and dotted names below them, that reach into the interpreter.
_INTERPRETER = ("gc", "ctypes", "importlib", "builtins", "sys.modules", "sys._getframe", "sys.settrace",
                "sys.setprofile", "sys.displayhook", "sys.excepthook", "sys.addaudithook", "sys.meta_path",
                "sys.path_hooks", "sys.monitoring", "sys._current_frames", "threading.settrace",
                "threading.setprofile", "os._exit", "inspect.currentframe", "inspect.stack", "inspect.trace",
                "inspect.getouterframes", "inspect.getinnerframes", "_thread", "marshal", "types.FrameType",
                "types.CodeType", "types.FunctionType")
# Attributes of frames, tracebacks, generators and functions: the way into another function's state.
_FRAME_ATTRIBUTES = {"f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame", "gi_frame",
                     "cr_frame", "ag_frame", "__globals__", "__code__", "__closure__", "__builtins__",
                     "__subclasses__", "__mro__", "__bases__"}


def _transformed(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


class _Reaches(ast.NodeVisitor):
    """The flags of one parsed cell."""

    def __init__(self):
        self.flags: set[str] = set()
        self.aliases: dict[str, str] = {}

    def dotted(self, node) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def name(self, name: str) -> None:
        if _GRADER.search(name):
            self.flags.add("the grader")
        if _under(name, _INTERPRETER):
            self.flags.add("the interpreter")

    def visit_Import(self, node):
        for a in node.names:
            self.aliases[(a.asname or a.name).split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            self.name(a.name)

    def visit_ImportFrom(self, node):
        module = "." * node.level + (node.module or "")
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{module}.{a.name}"
            self.name(f"{module}.{a.name}")

    def visit_Name(self, node):
        self.name(self.aliases.get(node.id, node.id))
        if node.id in ("__builtins__", "__import__"):
            self.flags.add("the interpreter")

    def visit_Attribute(self, node):
        dotted = self.dotted(node)
        if dotted:
            self.name(dotted)
        if node.attr in _FRAME_ATTRIBUTES:
            self.flags.add("the interpreter")
        if node.attr in _IPYTHON_HOOKS and isinstance(node.value, ast.Call) and \
                self.dotted(node.value.func) == "get_ipython":
            self.flags.add("IPython hooks")
        self.generic_visit(node)

    def visit_Call(self, node):
        func = self.dotted(node.func)
        args = node.args
        if func in ("exec", "eval", "compile", "__import__") and args and not _is_str(args[0]):
            self.flags.add("the interpreter")  # code or a module name computed at run time
        if func in ("getattr", "setattr", "delattr", "hasattr") and len(args) >= 2:
            if not _is_str(args[1]):
                self.flags.add("the interpreter")  # an attribute name computed at run time
            else:
                owner = self.dotted(args[0])
                if owner:
                    self.name(f"{owner}.{args[1].value}")
                if args[1].value in _FRAME_ATTRIBUTES or args[1].value in _IPYTHON_HOOKS and \
                        isinstance(args[0], ast.Call) and self.dotted(args[0].func) == "get_ipython":
                    self.flags.add("the interpreter" if args[1].value in _FRAME_ATTRIBUTES else "IPython hooks")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and _GRADER.search(node.value):
            self.flags.add("the grader")


def _is_str(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def reaches(source: str) -> set[str]:
    """The flags of one cell's code: what it reaches that a correct answer never needs."""
    try:
        tree = ast.parse(_transformed(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {what for what, pattern in SUSPICIOUS.items() if re.search(pattern, source)}
    visitor = _Reaches()
    visitor.visit(tree)
    return visitor.flags


def suspicious(nb: nbformat.NotebookNode, release_nb: nbformat.NotebookNode) -> list[str]:
    """What the student's own code touches that a correct answer never needs (empty: nothing)."""
    fixed = {c.source for c in release_nb.cells if is_fixed(c)}
    flags: set[str] = set()
    for c in nb.cells:
        if c.cell_type == "code" and c.source not in fixed:
            flags |= reaches(c.source)
    return [what for what in SUSPICIOUS if what in flags]
