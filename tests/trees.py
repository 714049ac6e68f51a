"""Checksums of a whole folder tree, taken without following anything a submission may have left
(links are recorded by their target, pipes and sockets by their kind): the suites compare a course
before and after grading hostile submissions."""

import hashlib
import os
import stat
from pathlib import Path


def checksums(root, skip=()):
    """{relative path: sha256 | "link -> target" | kind} of everything under `root` except the
    gradebook, the grades export and the folders in `skip` (written by the grader; the grades are
    checked from the gradebook instead)."""
    root, skip = Path(root), {Path(s) for s in skip}
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip and not (here / d).is_symlink()]
        out[str(here.relative_to(root)) + "/"] = "dir"
        for name in [*filenames, *(d for d in os.listdir(here) if (here / d).is_symlink() and d not in filenames)]:
            path = here / name
            if path.name.startswith("gradebook.db") or path.name.startswith("grades_"):
                continue
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                out[str(path.relative_to(root))] = "link -> " + os.readlink(path)
            elif stat.S_ISREG(mode):
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[str(path.relative_to(root))] = f"mode {stat.S_IFMT(mode):o}"
    return out


def changed(before, after):
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


REFERENCE_CACHE = ".reference_cache"  # RobustExecute.reference_cache: written by the grader, never by a kernel


def stale_references(root):
    """The files of the course's reference cache whose value is not what the check's own function
    computes here (a poisoned or corrupt cache), as {path: "stale"}."""
    import importlib
    import json

    out = {}
    for path in sorted((Path(root) / REFERENCE_CACHE).glob("*/*.json")):
        try:
            stored = json.loads(path.read_text())
            module, name, args = json.loads(stored["key"])
            fn = getattr(importlib.import_module(module), name).__wrapped__
            fresh = json.loads(json.dumps(fn(*args)))
        except Exception as e:  # unreadable, or a key no check makes
            out[f"{path.relative_to(root)}"] = f"unreadable ({type(e).__name__})"
            continue
        if stored.get("value") != fresh:
            out[f"{path.relative_to(root)}"] = "stale"
    return out
