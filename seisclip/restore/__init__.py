"""Restoration: clipped records, classic baselines, windowed restoration with a model, and evaluation.

Called, the package is the API's ``restore`` (``seisclip.restore(stream, method="pocs")``, docs/api.md):
the package ``seisclip`` makes it so."""
