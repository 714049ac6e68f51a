"""Sections printed at the end of a test run (tests/conftest.py prints them).

A module of its own, under a name no other folder uses: `from conftest import ...` would find
whichever conftest.py was imported first (tests/unit/ has one too), which is how CI once failed.
"""

SECTIONS: dict[str, list[str]] = {}  # section title -> lines
