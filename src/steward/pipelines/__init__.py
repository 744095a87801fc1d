"""Pipelines: training as ordered steps, cached by fingerprint, run on a local pool or Dask."""
