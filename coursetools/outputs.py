"""Output a graded notebook may keep, and what an output means for its cell's grade: pure functions
on notebook nodes (no I/O), used by the autograde step (coursetools/preprocessors/).

- `output_bytes(output)`: the size an output adds to the saved notebook (its text and data);
- `limit_outputs(nb, cell_limit, notebook_limit)`: every code cell's outputs cut to `cell_limit`
  bytes, and the notebook's to `notebook_limit`; an error output is always kept (trimmed), since
  it decides the cell's grade; each cut cell ends with a note saying so;
- `errors_score_zero(cell)`: nbgrader scores a test cell by its first error or its first
  `execute_result` (`nbgrader.utils.determine_grade`), so a value displayed before an error
  would decide the grade; in a cell with an error every result becomes a plain display.
"""

import json

from nbformat import NotebookNode

KiB, MiB = 1024, 1024 ** 2
ERROR_LIMIT = 64 * KiB  # of one error's traceback and message, whatever the cell limit


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else json.dumps(value)


def output_bytes(output: dict) -> int:
    kind = output.get("output_type")
    if kind == "stream":
        return len(_text(output.get("text", "")).encode("utf-8", "replace"))
    if kind == "error":
        return sum(len(_text(x).encode("utf-8", "replace")) for x in
                   (output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])))
    return sum(len(_text(v).encode("utf-8", "replace")) for v in output.get("data", {}).values()) + \
        len(json.dumps(output.get("metadata", {})))


def _trim_error(output: dict) -> None:
    evalue = _text(output.get("evalue", ""))
    if len(evalue) > ERROR_LIMIT // 4:
        output["evalue"] = evalue[:ERROR_LIMIT // 4] + " [cut]"
    kept, used = [], 0
    for line in output.get("traceback", []):
        line = _text(line)
        if used + len(line) > ERROR_LIMIT:
            kept.append("[traceback cut]")
            break
        kept.append(line)
        used += len(line)
    output["traceback"] = kept


def cut_note(cell_limit: int, notebook_limit: int) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout",
                        text=f"\n[output cut: a cell keeps at most {cell_limit // KiB:,} KiB of output and the "
                             f"notebook {notebook_limit // KiB:,} KiB; the rest is not kept]\n")


def limit_outputs(nb, cell_limit: int, notebook_limit: int) -> list[int]:
    """Cut outputs in place (see the module docstring); the indices of the cells that were cut."""
    cut, total = [], 0
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not cell.get("outputs"):
            continue
        kept, used, was_cut = [], 0, False
        for output in cell.outputs:
            if output.get("output_type") == "error":
                _trim_error(output)
                kept.append(output)
                used += output_bytes(output)
                continue
            size = output_bytes(output)
            room = min(cell_limit - used, notebook_limit - total - used)
            if size <= room:
                kept.append(output)
                used += size
                continue
            was_cut = True
            if output.get("output_type") == "stream" and room > 0:  # keep the first part of the text
                text = _text(output.get("text", "")).encode("utf-8", "replace")[:room].decode("utf-8", "ignore")
                output["text"] = text
                kept.append(output)
                used += len(text.encode())
        if was_cut:
            kept.append(cut_note(cell_limit, notebook_limit))
            cut.append(index)
        cell.outputs = kept
        total += used
    return cut


def errors_score_zero(cell) -> bool:
    """In a code cell with an error output, every `execute_result` becomes a `display_data` (same
    data), so that nbgrader reads the error, not a value shown before it; True when one changed."""
    if cell.get("cell_type") != "code" or not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        return False
    changed = False
    for output in cell.outputs:
        if output.get("output_type") == "execute_result":
            output["output_type"] = "display_data"
            output.pop("execution_count", None)
            changed = True
    return changed
