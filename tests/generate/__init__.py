"""Tests of ``cft.generate``: student sampling, teachers, the verifier critic, generation jobs."""
