"""Reading and writing files that a submission or a grading kernel left, without following them.

Everything under `submitted/` and everything a grading kernel wrote is the student's: a name may be
a symbolic link to the gradebook, a FIFO that blocks a reader, a device that never ends. The
trusted side (the grader, running as the instructor) therefore never opens such a path by name:

- `entries(folder)` lists what is there with `lstat` (nothing is followed), each with its kind;
- `read_regular(path, limit)` opens with O_NOFOLLOW | O_NONBLOCK, checks that what it opened is a
  regular file (`fstat`) and reads at most `limit` bytes;
- `write_new(path, data)` creates a file with O_CREAT | O_EXCL | O_NOFOLLOW (never through a link,
  never over something already there);
- `collect(folder, ...)` reads every regular file under a folder within a count and a byte limit
  and says what it left out and why.

Pure functions of the file system, no nbgrader: coursetools/hook.py (the hook),
coursetools/sandbox.py (the kernel's throwaway folder), coursetools/distributed.py (files that
cross machines) and coursetools/classgrade.py use them.
"""

import io
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 ** 2


def kind(mode: int) -> str:
    """What an `lstat` mode is, in words."""
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"),
                       (stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "device"),
                       (stat.S_ISBLK, "device")):
        if test(mode):
            return name
    return "special file"


def entries(folder: Path | str) -> list[tuple[str, str]]:
    """(relative path, kind) of everything under `folder`, depth first, sorted, links not followed
    (a linked folder is listed as a link, never entered)."""
    folder = Path(folder)
    out = []

    def walk(here: Path, rel: str) -> None:
        try:
            names = sorted(os.listdir(here))
        except OSError:
            return
        for name in names:
            path, sub = here / name, f"{rel}{name}"
            try:
                what = kind(os.lstat(path).st_mode)
            except OSError:
                continue
            out.append((sub, what))
            if what == "folder":
                walk(path, sub + "/")

    try:
        if kind(os.lstat(folder).st_mode) == "folder":
            walk(folder, "")
    except FileNotFoundError:
        pass
    return out


class NotRegular(OSError):
    """What was opened is not a regular file (a link, a pipe, a device, a folder)."""


def read_regular(path: Path | str, limit: int) -> bytes:
    """The bytes of the regular file `path`, never through a link; NotRegular otherwise; OSError
    (EFBIG) when it holds more than `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if err.errno == 40:  # ELOOP: the last component is a symbolic link
            raise NotRegular(f"{path} is a symbolic link") from err
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(f"{path} is a {kind(info.st_mode)}, not a file")
        if info.st_size > limit:
            raise OSError(27, f"{path} holds {info.st_size} bytes, more than {limit}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(MiB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise OSError(27, f"{path} holds more than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_new(path: Path | str, data: bytes) -> None:
    """Create `path` with `data`: never through a symbolic link, never over an existing entry."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def replace_file(path: Path | str, data: bytes) -> None:
    """Write `path` anew: whatever entry is there (a file, a link) is removed first, never followed."""
    path = Path(path)
    try:
        if kind(os.lstat(path).st_mode) == "folder":
            raise IsADirectoryError(f"{path} is a folder")
        os.unlink(path)
    except FileNotFoundError:
        pass
    write_new(path, data)


@dataclass
class Collected:
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes
    left_out: list[str] = field(default_factory=list)  # "path (why)"


def collect(folder: Path | str, *, max_files: int = 200, max_bytes: int = 64 * MiB,
            skip=lambda rel: False) -> Collected:
    """The regular files under `folder` (relative path -> bytes), links not followed, at most
    `max_files` files and `max_bytes` bytes in all; everything else is listed in `left_out` with the
    reason. `skip(rel)`: paths to pass over silently."""
    out = Collected()
    total = 0
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return out
    for rel, what in entries(folder):
        if skip(rel) or what == "folder":
            continue
        if what != "file":
            out.left_out.append(f"{rel} ({what})")
            continue
        if len(out.files) >= max_files:
            out.left_out.append(f"{rel} (more than {max_files} files)")
            continue
        try:
            data = read_regular(folder / rel, max_bytes - total)
        except NotRegular as err:
            out.left_out.append(f"{rel} ({err})")
            continue
        except OSError:
            out.left_out.append(f"{rel} (over the {max_bytes // MiB} MiB limit)")
            continue
        out.files[rel] = data
        total += len(data)
    return out


def write_tree(folder: Path | str, files: dict[str, bytes]) -> None:
    """`files` ({relative path: bytes}) written under `folder`, which must not exist yet or be
    empty of what is written: a name that leaves the folder (absolute, `..`) is refused, and
    nothing is written through a link."""
    folder = Path(folder)
    for rel in files:
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or ".." in parts or any(p in ("", ".") for p in parts):
            raise ValueError(f"a file outside {folder}: {rel!r}")
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        here = folder
        for part in Path(rel).parts[:-1]:
            here = here / part
            try:
                os.mkdir(here)
            except FileExistsError:
                if kind(os.lstat(here).st_mode) != "folder":
                    raise ValueError(f"{rel!r}: {here} is not a folder") from None
        write_new(here / Path(rel).name, data)


def remove(path: Path | str) -> None:
    """Remove whatever entry is at `path` (a file, a link, a folder), never following a link."""
    path = Path(path)
    try:
        what = kind(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    if what == "folder":
        shutil.rmtree(path)
    else:
        os.unlink(path)


def zipped(files: dict[str, bytes]) -> bytes:
    """`files` ({relative path: bytes}) as the bytes of a zip archive (deflated, fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in sorted(files):
            archive.writestr(zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0)), files[rel], zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
