"""Apache Airflow provider for ByteDance Seedance 2.0 reference-to-video generation."""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__"]
