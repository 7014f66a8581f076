"""Benchmarks, kept out of the test run: ``flask bench visits``, ``subsidies`` and ``city``."""
