"""Tests of ``cft.reproduce``: the whole loop at toy scale."""
