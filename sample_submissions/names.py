"""Which cell of a notebook reads which global name from which earlier cell (Python's own symbol
tables, no execution). The sample harness relies on it twice:

- a crafted sample runs without the notebook's teaching cells (`harness.blank_teaching`): proven
  safe only while no cell that is kept reads a name that only a blanked cell defines;
- samples share one graded notebook (`harness.pack`) only when none of them can reach a cell that
  another one owns (a mistake in Cell 4's `train_epoch` reaches Exercise 4 when Exercise 4's `fit`
  calls it; not Exercise 2's `compare_schedulers`, which the grader runs with the reference
  `train_epoch` and `evaluate` in their place: `reads(..., replaced)`).
"""

import builtins
import symtable

import nbformat

# what IPython puts in every kernel's namespace besides the builtins
KERNEL_NAMES = frozenset({"get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___"})
_KNOWN = frozenset(dir(builtins)) | KERNEL_NAMES


def _python(source: str) -> str:
    """The cell's Python: IPython's line magics and shell escapes read no name of the notebook."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def free_and_defined(source: str) -> tuple[set[str], set[str]]:
    """(global names the cell reads, in any function or class it defines too; names it defines)."""
    try:
        top = symtable.symtable(_python(source), "<cell>", "exec")
    except SyntaxError:
        return set(), set()  # a cell that does not compile runs nothing (its error is its own)
    symbols = top.get_symbols()
    defined = {s.get_name() for s in symbols if s.is_assigned() or s.is_imported() or s.is_namespace()}
    free = {s.get_name() for s in symbols if s.is_referenced() and s.get_name() not in defined}

    def nested(table):
        for child in table.get_children():
            for s in child.get_symbols():
                if s.is_referenced() and s.is_global() and s.get_name() not in defined:
                    free.add(s.get_name())
            nested(child)

    nested(top)
    return free - _KNOWN, defined


def read_at_top(source: str) -> set[str]:
    """The global names the cell reads outside any function or class body it defines (when the cell
    runs, a default argument or a decorator included); the others are read when the functions run."""
    try:
        top = symtable.symtable(_python(source), "<cell>", "exec")
    except SyntaxError:
        return set()
    return {s.get_name() for s in top.get_symbols() if s.is_referenced()} - _KNOWN


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def reads(nb: nbformat.NotebookNode, replaced: dict[str, set[str]] | None = None) -> dict[str, dict[str, str | None]]:
    """{cell id: {name it reads: id of the latest earlier cell that defines it (None: no cell)}}.
    `replaced`: {cell id: names that, while the functions this cell defines are called, are not the
    notebook's (the grader puts its own in their place)}: such a name read only inside those
    functions is no read of the notebook's (read at the top, it is: its value is bound then)."""
    definer, out = {}, {}
    for cell in code_cells(nb):
        free, defined = free_and_defined(cell.source)
        if replaced and cell.id in replaced:
            free -= replaced[cell.id] - read_at_top(cell.source)
        out[cell.id] = {name: definer.get(name) for name in free}
        for name in defined:
            definer[name] = cell.id
    return out


def reached_from(nb: nbformat.NotebookNode, start: set[str], replaced: dict[str, set[str]] | None = None) -> set[str]:
    """The ids of the cells in `start` and of every cell that reads, directly or through other
    cells, a name one of them defines (`replaced`: as in reads)."""
    reached, graph = set(start), reads(nb, replaced)
    for cell in code_cells(nb):  # notebook order: a cell only reads from cells above it
        if any(src in reached for src in graph[cell.id].values()):
            reached.add(cell.id)
    return reached


def needed_by(nb: nbformat.NotebookNode, cells: set[str], replaced: dict[str, set[str]] | None = None) -> set[str]:
    """The ids of `cells` and of every earlier cell they read a name from, directly or not
    (`replaced`: as in reads)."""
    graph, needed = reads(nb, replaced), set(cells)
    for cell in reversed(code_cells(nb)):  # a cell only reads from cells above it
        if cell.id in needed:
            needed |= {src for src in graph[cell.id].values() if src}
    return needed
