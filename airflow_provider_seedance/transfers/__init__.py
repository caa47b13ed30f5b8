"""Transfers: ``seedance_to_gcs`` (stream a finished job's video into Google Cloud Storage, verified)."""
