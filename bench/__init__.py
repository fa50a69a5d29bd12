"""Benchmarks. Each module writes its own section of docs/benchmarks.md."""
