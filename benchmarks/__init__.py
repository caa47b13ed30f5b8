"""Benchmarks of airflow-provider-seedance: ours vs a baseline, side by side, as ratios.

Run ``python -m benchmarks`` (``make bench``); see docs/benchmarks.md.
"""

from __future__ import annotations
