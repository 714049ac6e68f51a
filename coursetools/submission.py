"""What a submission folder (`submitted/<student>/<assignment>/`) holds, read as data, never followed.

A submission is its notebook. The folder may also hold what the student (or an LMS download) put
beside it, and the rename marker the autograde hook writes when the notebook was saved under
another name; none of it is trusted:

- `problem(folder, name)`: why the folder cannot be graded (the notebook is a link, a pipe or a
  device; the marker is not a bare `*.ipynb` name of a regular file in the folder), or None;
- `find_notebook(folder, name)`: the notebook to grade (the expected name, else the lone
  notebook of the folder), with a note;
- `read_marker` / `marker_text`: the rename marker, `<file name>` and the sha256 of the copy made;
- `extras(folder, name, shipped)`: what else is there (never graded, listed in the notes; nbgrader's
  own exchange files, coursetools/exchange.py, are not listed);
- `feedback_name(folder, name)`: the file name the student's feedback is released under.

Pure functions of the file system (lstat only; coursetools/safefiles.py), used by the autograde
hook (coursetools/hook.py), RebuildFromRelease's notes and grade-class's checks.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import exchange, safefiles

MARKER_SUFFIX = ".renamed-from"
MiB = 1024 ** 2
NOTEBOOK_LIMIT = 128 * MiB  # a notebook file larger than this is refused (stored outputs are dropped anyway)
IGNORED = (".ipynb_checkpoints",)  # editor leftovers: never graded, never listed


def marker_path(folder: Path | str, name: str) -> Path:
    return Path(folder) / (name + MARKER_SUFFIX)


def _kind(path: Path) -> str | None:
    try:
        return safefiles.kind(path.lstat().st_mode)
    except FileNotFoundError:
        return None


def is_bare_notebook_name(text: str) -> bool:
    """A file name of a notebook in the folder itself: no folder, no `..`, no control characters."""
    return (bool(text) and text.endswith(".ipynb") and "/" not in text and "\\" not in text
            and text not in (".", "..") and not text.startswith(".") and text.isprintable())


@dataclass(frozen=True)
class Marker:
    original: str  # the bare name of the student's renamed notebook
    sha256: str  # of the copy the hook made under the expected name


def marker_text(original: str, data: bytes) -> str:
    return f"{original}\nsha256:{hashlib.sha256(data).hexdigest()}\n"


def read_marker(folder: Path | str, name: str) -> tuple[Marker | None, str | None]:
    """(marker, None), (None, None) when there is none, or (None, why it is refused)."""
    path = marker_path(folder, name)
    what = _kind(path)
    if what is None:
        return None, None
    if what != "file":
        return None, f"{path.name} is a {what}, not a file"
    try:
        lines = safefiles.read_regular(path, 4096).decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        return None, f"{path.name} cannot be read ({type(err).__name__})"
    original = lines[0].strip() if lines else ""
    if not is_bare_notebook_name(original) or original == name:
        return None, f"{path.name} must name a notebook file in the same folder, not {original[:80]!r}"
    if _kind(Path(folder) / original) not in (None, "file"):
        return None, f"{path.name} names {original}, which is a {_kind(Path(folder) / original)}"
    sha = lines[1].strip().removeprefix("sha256:") if len(lines) > 1 else ""
    return Marker(original, sha), None


def problem(folder: Path | str, name: str) -> str | None:
    """Why the submission in `folder` must not be graded, or None."""
    folder = Path(folder)
    what = _kind(folder)
    if what != "folder":
        return f"the submission folder is a {what}" if what else "no submission folder"
    if _kind(folder.parent) == "symbolic link":
        return f"the student folder {folder.parent.name}/ is a symbolic link"
    expected = _kind(folder / name)
    if expected not in (None, "file"):
        return f"{name} is a {expected}, not a file"
    _, refused = read_marker(folder, name)
    if refused:
        return refused
    if expected is None:
        candidates = [(rel, kind) for rel, kind in safefiles.entries(folder)
                      if "/" not in rel and rel.endswith(".ipynb")]
        if len(candidates) == 1 and candidates[0][1] != "file":
            return f"{candidates[0][0]} is a {candidates[0][1]}, not a file"
    return None


def find_notebook(folder: Path | str, name: str) -> tuple[Path | None, str]:
    """(path, note) of the notebook to grade, or (None, reason). Nothing is followed: a link is
    refused (problem), and only regular files directly in the folder count."""
    folder = Path(folder)
    refused = problem(folder, name)
    if refused:
        return None, refused
    if _kind(folder / name) == "file":
        return folder / name, ""
    listed = [(rel, kind) for rel, kind in safefiles.entries(folder)
              if rel.endswith(".ipynb") and not any(part in IGNORED for part in rel.split("/"))]
    here = [rel for rel, kind in listed if "/" not in rel and kind == "file"]
    if len(listed) == 1 and len(here) == 1:
        return folder / here[0], f"notebook found as {here[0]}"
    if not listed:
        return None, f"no notebook in the submission (expected {name})"
    return None, f"{len(listed)} notebooks and none named {name}: " + ", ".join(Path(r).name for r, _ in listed)


def extras(folder: Path | str, name: str, shipped: set[str] = frozenset()) -> list[str]:
    """What the folder holds besides the notebook (and the marker and the renamed original): each
    top-level entry as "name" or "name (kind)", except editor leftovers and names the release
    itself ships (`shipped`, e.g. its data/ folder: the release's copy is used, never the student's)."""
    folder = Path(folder)
    marker, _ = read_marker(folder, name)
    own = {name, marker_path(folder, name).name, *([marker.original] if marker else [])}
    out = []
    for rel, kind in safefiles.entries(folder):
        if "/" in rel or rel in own or rel in IGNORED or rel in shipped or exchange.is_own(folder, rel):
            continue
        shown = "".join(c if c.isalnum() or c in "._-+ ()" else "?" for c in rel)[:60]  # a name is student text
        out.append(shown if kind == "file" else f"{shown} ({kind})")
    return out


def feedback_name(folder: Path | str, name: str) -> str:
    """The file name of the feedback of the notebook `name` (e.g. "pytorch_fundamentals.ipynb") of the
    submission `folder`: the student's own notebook name when the autograde hook graded a renamed
    notebook (its marker; or, where no hook ran on this folder, as on a Dask client, the lone notebook
    `find_notebook` grades), since `nbgrader fetch_feedback` looks for the name the student submitted;
    else `name`; with ".html"."""
    marker, _ = read_marker(folder, name)
    if marker is not None:
        return Path(marker.original).with_suffix(".html").name
    found, _ = find_notebook(folder, name)
    return Path(found.name if found is not None else name).with_suffix(".html").name
