"""Benchmarks (`python bench/<name>.py`): they print their figures; none is a test."""
