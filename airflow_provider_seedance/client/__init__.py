"""Airflow-free Seedance 2.0 client: models, platform dialects, transport, pricing, errors."""

from __future__ import annotations

from airflow_provider_seedance.client.errors import (
    FieldError,
    SeedanceAmbiguousSubmitError,
    SeedanceAPIError,
    SeedanceAuthError,
    SeedanceError,
    SeedanceJobFailed,
    SeedanceNotFoundError,
    SeedanceProtocolError,
    SeedanceRateLimitError,
    SeedanceRequestRejected,
    SeedanceServerError,
    SeedanceTransportError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.models import (
    CancelOutcome,
    JobRef,
    JobResult,
    JobState,
    JobStatus,
    ReferenceToVideoRequest,
    VideoOutput,
)
from airflow_provider_seedance.client.pricing import CostEstimate, estimate_cost
from airflow_provider_seedance.client.retry import RetryPolicy
from airflow_provider_seedance.client.transport import AsyncSeedanceClient, SeedanceClient

__all__ = [
    "AsyncSeedanceClient",
    "CancelOutcome",
    "CostEstimate",
    "FieldError",
    "JobRef",
    "JobResult",
    "JobState",
    "JobStatus",
    "ReferenceToVideoRequest",
    "RetryPolicy",
    "SeedanceAPIError",
    "SeedanceAmbiguousSubmitError",
    "SeedanceAuthError",
    "SeedanceClient",
    "SeedanceError",
    "SeedanceJobFailed",
    "SeedanceNotFoundError",
    "SeedanceProtocolError",
    "SeedanceRateLimitError",
    "SeedanceRequestRejected",
    "SeedanceServerError",
    "SeedanceTransportError",
    "SeedanceValidationError",
    "VideoOutput",
    "estimate_cost",
]
