"""Tests of ``cft.evaluate``: evals, critic mode, checkpoint selection, the side-by-side arena."""
