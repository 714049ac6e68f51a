"""nbgrader's exchange files of a submission, carried to where nbgrader's own commands read them.

`nbgrader submit` writes `timestamp.txt` and `submission_secret.txt` beside the student's notebook,
and `nbgrader collect` copies them into `submitted/<student>/<assignment>/`. nbgrader reads them
again later from the folders it makes itself:

- `nbgrader autograde` (without --force) regrades a resubmission only when the timestamp in
  `submitted/` is newer than the one in `autograded/`;
- `nbgrader release_feedback` reads both files in `feedback/<student>/<assignment>/` (the secret
  names the released file: md5(secret + notebook name), which `fetch_feedback` recomputes on the
  student's side from the name the student submitted).

The course's configuration stops nbgrader's copy of every file of a submission but its notebook
(`CourseDirectory.ignore` in nbgrader_config.py: a submission's other files are the student's, and
nbgrader's copy follows links), so these two are carried here instead, as data: each only when it
is a regular file (never followed), small, and what nbgrader writes (a timestamp nbgrader parses; a
hexadecimal secret). Anything else is left behind, so nothing of the student's reaches `feedback/`,
which is released to the student, but these two checked lines.

Used by the pre- and post-convert hooks of autograde and generate_feedback (coursetools/hook.py).
"""

import re
from pathlib import Path

from . import safefiles

TIMESTAMP = "timestamp.txt"
SECRET = "submission_secret.txt"
NAMES = (TIMESTAMP, SECRET)
_LIMIT = 4096  # nbgrader writes one line: a timestamp, or 128 hexadecimal digits
_SECRET = re.compile(r"[0-9a-fA-F]{16,512}")


def _valid(name: str, text: str) -> bool:
    if name == SECRET:
        return bool(_SECRET.fullmatch(text))
    from nbgrader.utils import parse_utc

    try:
        return bool(text) and parse_utc(text) is not None
    except (ValueError, OverflowError, TypeError):
        return False


def read(folder: Path | str) -> dict[str, str]:
    """{file name: its text} of the exchange files in `folder` that are what nbgrader writes:
    regular files (never followed), at most 4 KiB, a timestamp nbgrader parses, a hexadecimal secret."""
    out = {}
    for name in NAMES:
        try:
            text = safefiles.read_regular(Path(folder) / name, _LIMIT + 1).decode("ascii")
        except (OSError, UnicodeDecodeError):  # missing, a link, a pipe, not text
            continue
        if len(text) <= _LIMIT and _valid(name, text.strip()):
            out[name] = text
    return out


def is_own(folder: Path | str, name: str) -> bool:
    """`name` in the submission `folder` is an exchange file nbgrader wrote (read() accepts it)."""
    return name in NAMES and name in read(folder)


def carry(src: Path | str, dest: Path | str) -> list[str]:
    """Write the valid exchange files of `src` into the folder `dest` (if it exists), replacing what
    is there and removing those `src` does not have; returns the names written."""
    dest = Path(dest)
    if not dest.is_dir() or dest.is_symlink():
        return []
    found = read(src)
    for name in NAMES:
        if name in found:
            safefiles.replace_file(dest / name, found[name].encode("ascii"))
        else:
            safefiles.remove(dest / name)
    return sorted(found)

