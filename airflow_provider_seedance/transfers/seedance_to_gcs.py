"""The Airflow transfer :class:`SeedanceToGCSOperator`: a generated video into GCS, exactly once.

Holds the operator and its ``video=`` check; the streaming, verified download is
:mod:`airflow_provider_seedance.client.media`, the verified write
:mod:`airflow_provider_seedance.client.gcs`, the GCS credentials
:mod:`airflow_provider_seedance.hooks.gcs`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_seedance.client.checks import check_numbers, number_problem, seconds_problem
from airflow_provider_seedance.client.errors import (
    FieldError,
    MediaURLRefusedError,
    ObjectExistsError,
    SeedanceValidationError,
)
from airflow_provider_seedance.client.gcs import (
    DEFAULT_UPLOAD_CHUNK_SIZE,
    PLATFORM_KEY,
    REQUEST_ID_KEY,
    ArchiveResult,
    GCSObject,
    GCSVideoArchiver,
    build_metadata,
)
from airflow_provider_seedance.client.media import MediaSource, MediaURLPolicy
from airflow_provider_seedance.client.models import TIERS, JobOutput, JobRef
from airflow_provider_seedance.client.retry import DOWNLOAD_RETRY
from airflow_provider_seedance.hooks.gcs import make_storage_client
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.review.links import SeedanceArchivedVideoLink

if TYPE_CHECKING:
    from airflow.sdk import Context
    from google.cloud import storage

    from airflow_provider_seedance.client.models import JobResult
    from airflow_provider_seedance.client.retry import RetryPolicy


def _gcs_references(records: Sequence[Mapping[str, Any]]) -> list[GCSObject]:
    """The gs:// objects among a job's reference records (the XCom result's ``reference_media``)."""
    out = []
    for record in records:
        reference = record.get("reference") if isinstance(record, Mapping) else None
        if isinstance(reference, str) and reference.startswith("gs://"):
            try:
                out.append(GCSObject.from_uri(reference))
            except ValueError:
                continue
    return out


class SeedanceToGCSOperator(BaseOperator):
    """
    Stream a generated Seedance video into ``gs://<bucket_name>/<object_name>``; return that URI.

    The video is streamed (constant memory), its size is checked against ``Content-Length`` and
    the platform's ``file_size``, and its CRC32C (computed while streaming) must equal what GCS
    reports; a truncated or corrupt transfer leaves no object behind. Objects are written once
    (``if_generation_match=0``): a retry that finds the same video already archived succeeds
    without uploading again; a different object under the name fails the task and is left
    untouched, unless ``replace=True``. An expired media URL is replaced by asking the platform
    for the job's result again.

    .. seealso::
        ``docs/transfers.md`` in the project for a how-to, credentials, lineage and Asset scheduling.

    :param video: The generation operator's result (e.g. ``clip.output``); templated.
    :param request_id: Alternatively, a finished job's request id on the connection's platform.
    :param bucket_name: Destination bucket; templated.
    :param object_name: Destination object name, e.g.
        ``"campaigns/{{ ds }}/{{ ti.map_index }}-{{ params.seed }}.mp4"``; templated.
    :param seedance_conn_id: The Seedance connection (to fetch results and fresh links); templated.
    :param gcp_conn_id: The Google Cloud connection, used when ``apache-airflow-providers-google``
        is installed; otherwise Application Default Credentials are used. With
        ``STORAGE_EMULATOR_HOST`` set, anonymous credentials talk to that emulator.
    :param impersonation_chain: A service account (or chain of them) to impersonate.
    :param replace: Overwrite an existing object with different content instead of failing.
    :param tier: The tier of a bare ``request_id`` job (``"standard"`` or ``"fast"``).
    :param chunk_size: Upload chunk size in bytes, a multiple of 256 KiB (default 8 MiB);
        memory use is a small multiple of it, whatever the video's size.
    :param content_type: Content-Type of the object.
    :param max_download_attempts: Attempts per transfer for transient download failures
        (5xx, 429, dropped or truncated downloads); every attempt restarts from the first byte.
    :param download_retry_delay: Initial backoff between download attempts, in seconds.
    :param gcs_timeout: Seconds for one GCS request.
    """

    template_fields: Sequence[str] = (
        "video",
        "request_id",
        "bucket_name",
        "object_name",
        "seedance_conn_id",
        "gcp_conn_id",
        "impersonation_chain",
        "tier",
    )
    operator_extra_links = (SeedanceArchivedVideoLink(),)
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        bucket_name: str,
        object_name: str,
        video: Any = None,
        request_id: str | None = None,
        seedance_conn_id: str = SeedanceHook.default_conn_name,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        replace: bool = False,
        tier: str | None = None,
        chunk_size: int = DEFAULT_UPLOAD_CHUNK_SIZE,
        content_type: str = "video/mp4",
        max_download_attempts: int = DOWNLOAD_RETRY.max_attempts,
        download_retry_delay: float = DOWNLOAD_RETRY.base_delay,
        gcs_timeout: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if video is None and request_id is None:
            raise ValueError("SeedanceToGCSOperator needs video= (e.g. clip.output) or request_id=")
        if video is not None and request_id is not None:
            raise ValueError("Pass either video= or request_id= to SeedanceToGCSOperator, not both")
        self.video = video
        self.request_id = request_id
        self.bucket_name = bucket_name
        self.object_name = object_name
        self.seedance_conn_id = seedance_conn_id
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self.replace = replace
        self.tier = tier
        self.chunk_size = chunk_size
        self.content_type = content_type
        self.max_download_attempts = max_download_attempts
        self.download_retry_delay = download_retry_delay
        self.gcs_timeout = gcs_timeout
        check_numbers(self._number_problems())
        # Filled by execute() for OpenLineage.
        self._lineage_platform: str | None = None
        self._lineage_request_id: str | None = None
        self._lineage_gcs_inputs: list[GCSObject] = []
        self._archived: ArchiveResult | None = None

    def _number_problems(self) -> list[FieldError | None]:
        chunk = number_problem("chunk_size", self.chunk_size, minimum=1, integer=True)
        if chunk is None and self.chunk_size % (256 * 1024):
            chunk = FieldError("chunk_size", f"must be a multiple of 256 KiB (262144), got {self.chunk_size}")
        return [
            chunk,
            number_problem("max_download_attempts", self.max_download_attempts, minimum=1, integer=True),
            seconds_problem("download_retry_delay", self.download_retry_delay, allow_zero=True),
            seconds_problem("gcs_timeout", self.gcs_timeout),
        ]

    @cached_property
    def hook(self) -> SeedanceHook:
        return SeedanceHook(seedance_conn_id=self.seedance_conn_id)

    def get_storage_client(self) -> storage.Client:
        """The GCS client (see ``gcp_conn_id``); google-cloud-storage is imported only here."""
        chain = self.impersonation_chain
        return make_storage_client(
            self.gcp_conn_id, list(chain) if isinstance(chain, list | tuple) else chain
        )

    def _download_retry(self) -> RetryPolicy:
        return dataclasses.replace(
            DOWNLOAD_RETRY, max_attempts=self.max_download_attempts, base_delay=self.download_retry_delay
        )

    def _media_url_policy(self) -> MediaURLPolicy:
        """Strict (https, public addresses only) unless the Seedance connection's host is local."""
        return MediaURLPolicy.for_connection(self.hook.config.base_url)

    # -- execute --------------------------------------------------------------------------
    def execute(self, context: Context) -> str:
        try:
            check_numbers(self._number_problems())
        except SeedanceValidationError as exc:
            raise AirflowFailException(str(exc)) from exc
        if not self.bucket_name or not str(self.bucket_name).strip():
            raise AirflowFailException("bucket_name must not be empty")
        if not self.object_name or str(self.object_name).endswith("/"):
            raise AirflowFailException(f"object_name must name an object, got {self.object_name!r}")
        if self.video is not None:
            try:
                output = JobOutput.from_xcom(self.video)
            except SeedanceValidationError as exc:
                raise AirflowFailException(str(exc)) from exc
            source, info = self._source_from_video(output)
        else:
            source, info = self._source_from_request_id(str(self.request_id))
        source.policy = self._media_url_policy()
        self._lineage_platform = info["platform"]
        self._lineage_request_id = info["request_id"]
        self._lineage_gcs_inputs = _gcs_references(info.get("reference_media") or [])

        archiver = GCSVideoArchiver(
            self.get_storage_client(),
            self.bucket_name,
            self.object_name,
            metadata=self._metadata(info, context),
            content_type=self.content_type,
            replace=self.replace,
            chunk_size=self.chunk_size,
            timeout=self.gcs_timeout,
        )
        self.log.info(
            "Archiving %s job %s to %s (replace=%s)",
            info["platform"],
            info["request_id"],
            archiver.uri,
            self.replace,
        )
        try:
            with self.hook.get_http_client() as http:
                archived = archiver.archive(http, source, retry=self._download_retry())
        except (ObjectExistsError, MediaURLRefusedError) as exc:
            # Retrying cannot help: somebody's archive must not be overwritten silently, and a
            # media URL the policy refuses stays refused.
            # (ChecksumMismatchError propagates as is: a retry may well succeed.)
            raise AirflowFailException(str(exc)) from exc
        finally:
            self.hook.close()
        self._archived = archived
        verb = "Uploaded" if archived.uploaded else "Already archived:"
        self.log.info("%s %s (%d bytes, crc32c %s)", verb, archived.uri, archived.size, archived.crc32c)
        return archived.uri

    def _source_from_video(self, output: JobOutput) -> tuple[MediaSource, dict[str, Any]]:
        platform = output.platform
        media = output.video
        if media is None:  # pragma: no cover -- JobOutput.from_xcom requires it
            raise AirflowFailException("video.video is required")

        def refresh() -> tuple[str, int | None]:
            if self.hook.platform != platform:
                raise AirflowFailException(
                    f"The video's link expired and the job ran on {platform!r}, but connection "
                    f"{self.seedance_conn_id!r} is for {self.hook.platform!r}; cannot fetch a fresh link"
                )
            fresh = self.hook.get_result(output.job).video
            return fresh.url, fresh.file_size

        source = MediaSource(url=media.url, expected_size=media.file_size, refresh=refresh)
        info: dict[str, Any] = {
            "platform": platform,
            "request_id": output.request_id,
            "tier": output.tier,
            "seed": output.seed,
            "estimated_cost_usd": output.estimated_cost_usd,
            "request": output.request.model_dump() if output.request else {},
            "references": output.references,
            "reference_media": output.reference_media or [],
        }
        return source, info

    def _source_from_request_id(self, request_id: str) -> tuple[MediaSource, dict[str, Any]]:
        tier = self.tier or "standard"
        if tier not in TIERS:
            raise AirflowFailException(f"tier must be one of {', '.join(TIERS)}, got {tier!r}")
        try:
            ref = JobRef.from_dict({"platform": self.hook.platform, "request_id": request_id, "tier": tier})
        except SeedanceValidationError as exc:
            raise AirflowFailException(str(exc)) from exc
        first: JobResult = self.hook.get_result(ref)

        def refresh() -> tuple[str, int | None]:
            fresh = self.hook.get_result(ref).video
            return fresh.url, fresh.file_size

        source = MediaSource(url=first.video.url, expected_size=first.video.file_size, refresh=refresh)
        info: dict[str, Any] = {
            "platform": self.hook.platform,
            "request_id": first.request_id or request_id,
            "tier": tier,
            "seed": first.seed,
            "estimated_cost_usd": None,
            "request": {},
        }
        return source, info

    def _metadata(self, info: Mapping[str, Any], context: Context) -> dict[str, str]:
        request: Mapping[str, Any] = info.get("request") or {}
        ti = context.get("ti")
        dag_run = context.get("dag_run")
        map_index = getattr(ti, "map_index", None)
        values: dict[str, object] = {
            PLATFORM_KEY: info["platform"],
            REQUEST_ID_KEY: info["request_id"],
            "seedance-tier": info.get("tier"),
            "seedance-seed": info.get("seed"),
            "seedance-mode": request.get("mode"),
            "seedance-references": json.dumps(info["references"]) if info.get("references") else None,
            "seedance-resolution": request.get("resolution"),
            "seedance-duration": request.get("duration"),
            "seedance-aspect-ratio": request.get("aspect_ratio"),
            "seedance-generate-audio": request.get("generate_audio"),
            "seedance-estimated-cost-usd": info.get("estimated_cost_usd"),
            "airflow-dag-id": getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None),
            "airflow-run-id": getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
            "airflow-task-id": getattr(ti, "task_id", None) or self.task_id,
            "airflow-map-index": map_index if isinstance(map_index, int) and map_index >= 0 else None,
        }
        values = {k: (v if isinstance(v, str | int | float | bool) else None) for k, v in values.items()}
        prompt = request.get("prompt")
        return build_metadata(values, prompt=prompt if isinstance(prompt, str) else None)

    # -- lineage --------------------------------------------------------------------------
    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: input the Seedance job, output the GCS object. None without OpenLineage."""
        try:
            from airflow.providers.common.compat.openlineage.facet import Dataset
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        if self._lineage_request_id is None:
            return None
        inputs = [
            Dataset(namespace=f"seedance://{self._lineage_platform}", name=f"jobs/{self._lineage_request_id}")
        ]
        for gcs in self._lineage_gcs_inputs:  # the job's gs:// references
            inputs.append(Dataset(namespace=f"gs://{gcs.bucket}", name=gcs.name))
        outputs = [Dataset(namespace=f"gs://{self.bucket_name}", name=str(self.object_name))]
        return OperatorLineage(inputs=inputs, outputs=outputs)
