"""Helpers of ``benchmarks/bench_search.py``: the fit clock, the five contenders and the report."""
