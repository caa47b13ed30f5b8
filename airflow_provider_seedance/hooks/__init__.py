"""Hooks: ``seedance`` (the Seedance connection, its clients and their pool) and ``gcs``
(Google credentials for the GCS side)."""
