"""The distinctive lines of the hidden tests, to prove that no feedback or release shows them."""

from coursetools import ASSIGNMENT, NOTEBOOK, REPO
from coursetools import notebooks as nbs


def public_lines():
    """Lines every student sees: the release notebook's cells (e.g. the contract's `def fit(...)`)."""
    nb = nbs.read(REPO / "release" / ASSIGNMENT / NOTEBOOK)
    return {line.strip() for cell in nb.cells for line in cell.source.splitlines()}


def hidden_lines():
    """Distinctive lines of the hidden tests: long enough not to occur by chance in a notebook,
    and not public already (a line the release shows, alone or inside a longer line, is no secret:
    the visible tests' twins build what the visible cells build)."""
    public = "\n".join(public_lines())  # a line the release shows, alone or inside a longer one (as redact.py)
    lines = set()
    for path in (REPO / "autograder").rglob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 30 and not line.startswith(("#", "import ", "from ")) and line not in public:
                lines.add(line)
    return lines
