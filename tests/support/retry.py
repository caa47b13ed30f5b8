"""Retry policies for tests and benchmarks."""

from __future__ import annotations

from airflow_provider_seedance.client.retry import RetryPolicy

#: A policy that never waits.
NO_WAIT = RetryPolicy(base_delay=0.0, max_delay=0.0, max_retry_after=0.0)
