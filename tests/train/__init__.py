"""Tests of ``cft.train``: config, examples, training jobs, the run registry."""
