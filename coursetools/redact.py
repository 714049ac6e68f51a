"""Feedback never shows the hidden checks, even when a submission prints them.

`RedactHiddenSource` (a `nbgrader generate_feedback` preprocessor, in nbgrader_config.py) replaces
every output line of the notebook (streams, results, displays of any text type, JSON data,
output metadata, error tracebacks) that contains a line of the hidden checks' source (the files
of the installed `hidden_modules`) with "[hidden test line removed]": a line that *is* a hidden
line, and a longer line that holds one anywhere (hidden lines printed joined on one line, inside
a repr, between other text), also once HTML entities and backslash escapes (`\n`, `\'`) are
undone.
Only lines worth hiding count: at least `min_length` characters once stripped, and not text
that the release notebook itself shows students (a shared docstring, an import, a call such as
`optimizer.zero_grad()` that a visible test's message names).

What it cannot catch: source the submission transforms before printing it (base64, compression,
reversed or re-encoded text, an image of it). The sandbox keeps the hidden checks readable to the
kernel (it imports them), so redaction is the line of defence for feedback, not a secret.
"""

import html
import importlib.util
import json
import re
from collections.abc import Iterable
from pathlib import Path

import nbformat
from traitlets import Integer, List, Unicode

from nbgrader.preprocessors import NbGraderPreprocessor

from . import HIDDEN_MODULES

REMOVED = "[hidden test line removed]"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# IPython traceback decorations before a source line: "----> 12 ", "     13 ", "File x:12, in f"
LINE_NUMBER = re.compile(r"^\s*(?:-*>\s*)?\d+\s+")


def _lines_of_notebooks(folder):
    out = set()
    for path in Path(folder).rglob("*.ipynb") if folder and Path(folder).is_dir() else ():
        if ".ipynb_checkpoints" in path.parts:
            continue
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception:
            continue
        for cell in nb.cells:
            out.update(line.strip() for line in cell.source.splitlines())
    return out


def module_sources(names: Iterable[str]) -> list[Path]:
    """The source files of the modules `names` as this environment would import them (a package:
    every .py file under its folder); a module that is not installed has none."""
    out = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        origin = Path(spec.origin)
        out += sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
    return [p for p in out if "__pycache__" not in p.parts]


def hidden_lines(sources: Iterable[Path] | Path, release_dir: Path | str | None = None,
                 min_length: int = 20) -> set[str]:
    """The stripped lines of the `sources` (.py files, or folders of them) worth hiding."""
    files = []
    for source in [sources] if isinstance(sources, (str, Path)) else sources:
        source = Path(source)
        files += sorted(source.rglob("*.py")) if source.is_dir() else [source] if source.is_file() else []
    lines = set()
    for path in files:
        if "__pycache__" in path.parts:
            continue
        lines.update(line.strip() for line in path.read_text(errors="replace").splitlines())
    # a hidden line the release shows students, alone or inside a longer line, is no secret
    shown = "\n".join(_lines_of_notebooks(release_dir))
    return {line for line in lines if len(line) >= min_length and line not in shown}


ANCHOR = 16  # characters of each hidden line used to find it inside longer text
_ESCAPES = re.compile(r"\\[nrt'\"\\]")
_UNESCAPE = {"\\n": "\n", "\\r": "\r", "\\t": "\t", "\\'": "'", '\\"': '"', "\\\\": "\\"}


class _Finder:
    """Finds whether a text holds any hidden line: each hidden line is indexed by its first ANCHOR
    characters, and every position of the text is looked up (linear in the text's length)."""

    def __init__(self, hidden: set[str]):
        self.hidden = hidden
        self.anchors: dict[str, list[str]] = {}
        for line in hidden:
            self.anchors.setdefault(line[:ANCHOR], []).append(line)

    def holds(self, text: str) -> bool:
        if len(text) < ANCHOR:
            return False
        anchors = self.anchors
        for i in range(len(text) - ANCHOR + 1):
            found = anchors.get(text[i:i + ANCHOR])
            if found and any(text.startswith(line, i) for line in found):
                return True
        return False


_FINDERS: dict[int, _Finder] = {}


def _finder(hidden: set[str]) -> _Finder:
    key = id(hidden)
    if key not in _FINDERS or _FINDERS[key].hidden is not hidden:
        _FINDERS[key] = _Finder(hidden)
    return _FINDERS[key]


def _variants(line: str) -> list[str]:
    """The line as printed, and as it reads once decorations, HTML entities and escapes are undone."""
    plain = ANSI.sub("", line).strip()
    out = [plain, LINE_NUMBER.sub("", plain).strip()]
    unescaped = html.unescape(plain)
    out.append(unescaped)
    if "\\" in unescaped:
        out.extend(_ESCAPES.sub(lambda m: _UNESCAPE[m.group(0)], unescaped).splitlines())
    return out


def redact_text(text: str, hidden: set[str]) -> tuple[str, int]:
    """`text` with every line that reproduces or holds a hidden line replaced; (text, lines removed)."""
    if not hidden or not text:
        return text, 0
    finder = _finder(hidden)
    out, removed = [], 0
    for line in text.splitlines(keepends=True):
        variants = set(_variants(line))
        if any(v in hidden for v in variants) or any(finder.holds(v.strip()) for v in variants):
            ending = line[len(line.rstrip("\r\n")):]
            out.append(REMOVED + ending)
            removed += 1
        else:
            out.append(line)
    return "".join(out), removed


class RedactHiddenSource(NbGraderPreprocessor):
    hidden_modules = List(
        Unicode(), list(HIDDEN_MODULES),
        help="Modules whose source lines feedback must not show (the hidden checks and the guard, as "
             "installed; a package's every .py file)").tag(config=True)
    release_dir = Unicode("", help="Folder of the release notebooks: lines they show students are not "
                                   "redacted").tag(config=True)
    min_length = Integer(20, help="Shortest stripped line that counts as a hidden line").tag(config=True)

    _cache = {}

    def _hidden(self):
        key = (tuple(self.hidden_modules), self.release_dir, self.min_length)
        if key not in self._cache:
            self._cache[key] = hidden_lines(module_sources(self.hidden_modules), self.release_dir, self.min_length)
        return self._cache[key]

    def preprocess(self, nb, resources):
        hidden = self._hidden()
        removed = 0
        for cell in nb.cells:
            for output in cell.get("outputs", []) if cell.cell_type == "code" else ():
                removed += self._redact_output(output, hidden)
        if removed:
            self.log.info("Removed %d output lines that showed hidden test source", removed)
        return nb, resources

    @staticmethod
    def _redact_output(output, hidden):
        removed = 0

        def fix(value):
            nonlocal removed
            if isinstance(value, list):  # a multi-line string stored as a list of lines
                text, n = redact_text("".join(value), hidden)
                removed += n
                return text.splitlines(keepends=True)
            if isinstance(value, str):
                text, n = redact_text(value, hidden)
                removed += n
                return text
            return value

        def fix_structured(value):  # JSON data or metadata: any string in it may hold a hidden line
            nonlocal removed
            text = json.dumps(value, ensure_ascii=False)
            redacted, n = redact_text(text.replace("\\n", "\n"), hidden)
            if n:
                removed += n
                return {"redacted": REMOVED}
            return value

        if output.get("output_type") == "stream":
            output["text"] = fix(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, (str, list)) and (not mime.startswith("image/") or mime.endswith("+xml")):
                    output["data"][mime] = fix(value)
                elif not isinstance(value, (str, list)):
                    fixed = fix_structured(value)
                    if fixed is not value:
                        output["data"][mime] = fixed
            if output.get("metadata"):
                output["metadata"] = fix_structured(output["metadata"])
        elif output.get("output_type") == "error":
            output["traceback"] = [fix(entry) for entry in output.get("traceback", [])]
            output["evalue"] = fix(output.get("evalue", ""))
            output["ename"] = fix(output.get("ename", ""))
        return removed
