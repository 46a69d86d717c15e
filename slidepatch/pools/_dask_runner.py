"""Moved to :mod:`slidepatch.engine.dask`; these names stay importable for code not yet moved."""

from slidepatch.engine.dask import DaskRunner, dask_client, wants_dask

__all__ = ["DaskRunner", "dask_client", "wants_dask"]
