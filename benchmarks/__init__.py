"""The course's benchmark (benchmarks/bench.py; `make bench`, `python -m benchmarks`)."""
