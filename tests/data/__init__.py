"""Tests of ``cft.data``: samples, the store, formats, flags, benchmarks."""
