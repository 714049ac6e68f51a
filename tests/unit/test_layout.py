"""The code's shape: production never imports test data, nothing edits sys.path, and no tooling
configures a child by writing its own process's environment (read from the source, with ast)."""

import ast
import re

import pytest

from coursetools import REPO

PRODUCTION = sorted([*(REPO / "coursetools").rglob("*.py"), REPO / "nbgrader_config.py",
                     *(REPO / "autograder").rglob("*.py")])
TOOLING = sorted([*PRODUCTION, *(REPO / "benchmarks").glob("*.py"), *(REPO / "sample_submissions").glob("*.py"),
                  *(REPO / "tests").rglob("*.py")])
TEST_DATA = ("sample_submissions", "tests", "benchmarks", "conftest")


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("path", PRODUCTION, ids=lambda p: str(p.relative_to(REPO)))
def test_production_never_imports_test_data(path):
    bad = [name for name in _imports(path) if name.split(".")[0] in TEST_DATA]
    assert bad == [], f"{path.relative_to(REPO)} imports {bad}"


def _environment_writes_and_path_edits(path):
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        target = None
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            for t in getattr(node, "targets", None) or [getattr(node, "target", None)]:
                if isinstance(t, ast.Subscript):
                    target = ast.unparse(t.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = ast.unparse(node.func.value)
            if node.func.attr in ("update", "pop", "setdefault", "clear", "__setitem__") and owner == "os.environ":
                target = owner
            if node.func.attr in ("insert", "append", "extend") and owner in ("sys.path", "_sys.path"):
                target = owner
            if ast.unparse(node.func) == "os.putenv":
                target = "os.putenv"
        if target in ("os.environ", "sys.path", "os.putenv"):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return found


# nbval starts its kernels from the pytest process's environment only: tests/environ.py hides
# coverage's variable from them there, the one allowed write (and what it restores).
ENVIRONMENT_EDIT_ALLOWED = {REPO / "tests" / "environ.py"}


@pytest.mark.parametrize("path", [p for p in TOOLING if p not in ENVIRONMENT_EDIT_ALLOWED],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_no_sys_path_edit_and_no_process_environment_write(path):
    assert _environment_writes_and_path_edits(path) == []


def test_the_rule_finds_what_it_is_meant_to_find(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os, sys\nos.environ['X'] = '1'\nos.environ.update(Y='2')\nsys.path.insert(0, 'here')\n"
                   "env = dict(os.environ)\nenv['X'] = '1'\n")
    assert len(_environment_writes_and_path_edits(bad)) == 3  # a copy of the environment may change freely


def test_no_scratch_course_copies_the_tooling():
    """Courses are made in one place (coursetools/course.py), from the course's own files only."""
    from coursetools import course

    assert set(course.COURSE_FILES + course.COURSE_FOLDERS + course.GENERATED_FOLDERS).isdisjoint(
        {"coursetools", "autograder", "sample_submissions"})
    copies_tooling = re.compile(r'for \w+ in \([^)]*"(coursetools|autograder)"[^)]*\):\s*\n\s*shutil\.copytree')
    for path in TOOLING:
        if "unit" in path.parts:
            continue
        assert not copies_tooling.search(path.read_text()), f"{path.relative_to(REPO)} copies the tooling into a course"


def test_a_real_class_and_its_gradebook_are_never_committed():
    """nbgrader's working folders of a real class, its gradebook and grade exports are git-ignored at the
    course root (student work and grades must never reach the repository)."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["gradebook.db", "submitted/alice/week13/pytorch_fundamentals.ipynb", "autograded/alice/week13/x.ipynb",
             "feedback/alice/week13/x.html", "exchange/week13/inbound/x", "grades.csv", "grades_week13.csv"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=REPO, capture_output=True, text=True)
    assert sorted(proc.stdout.split()) == sorted(paths), proc.stdout + proc.stderr
    kept = ["source/week13/pytorch_fundamentals.ipynb", "release/week13/pytorch_fundamentals.ipynb"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *kept], cwd=REPO, capture_output=True, text=True)
    assert proc.stdout == "", f"committed course files are ignored: {proc.stdout}"


def _module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _internal_imports(path, modules):
    """The coursetools modules `path` imports, at its top or inside a function (a lazy import still
    makes a cycle: each module then needs the other one loaded to do its work)."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in modules and m != here and m != "coursetools"}


def _cycle(graph):
    """One import cycle of `graph` ({module: modules it imports}) as a list of modules, or []."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_course_tooling_has_no_import_cycle():
    """classgrade and distributed share the roster (coursetools/roster.py) instead of importing each other."""
    paths = sorted((REPO / "coursetools").rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _internal_imports(p, modules) for p in paths}
    assert "coursetools.roster" in graph["coursetools.distributed"]
    assert _cycle(graph) == []


def test_the_cycle_rule_finds_a_cycle_through_a_lazy_import(tmp_path):
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
