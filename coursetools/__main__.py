"""`python -m coursetools` is the `week13` command (coursetools/cli.py)."""

from .cli import main

if __name__ == "__main__":
    main()
