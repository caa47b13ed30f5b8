"""Take review in Airflow: contact sheet task, the reviewer's choice (HITL), publishing, links.

* :class:`SeedanceContactSheetOperator` -- posters, paged contact sheets and ``review.json``
  for a grid's takes (from its manifest, or from the transfer's and generation's results).
* :class:`SeedanceTakeReviewOperator` -- the standard provider's Human-in-the-loop operator
  with the takes as options (known only at run time) and the contact sheet in its body. No
  answer within ``response_timeout`` -> ``on_timeout="fail"`` (default) or ``"skip"``; never a
  default choice.
* :class:`SeedancePublishTakeOperator` -- copies the chosen take to ``published/`` exactly once
  (:func:`~airflow_provider_seedance.review.publish.publish_take`) and emits an Asset event on
  its ``outlets`` carrying the choice, so downstream DAGs can be scheduled on it.
* :class:`SeedanceArchivedVideoLink` -- an extra link from the transfer (and the publish task)
  to the review view's player for the archived object.

Each task pushes a small ``seedance_review`` XCom that the review view (:mod:`.plugin`) reads.

.. seealso:: The *Take review* guide in the provider's documentation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import BaseOperator

from airflow_provider_seedance.review.links import (
    SeedanceArchivedVideoLink,
    review_page_url,
    run_object_url,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from google.cloud import storage

#: XCom key the review view reads (contact sheet result, then the published take).
XCOM_REVIEW_KEY = "seedance_review"
ON_TIMEOUT = ("fail", "skip")
_PENDING_OPTION = "(the takes are listed when the review starts)"


class _StorageMixin:
    gcp_conn_id: str
    impersonation_chain: str | Sequence[str] | None

    @cached_property
    def storage_client(self) -> storage.Client:
        from airflow_provider_seedance.hooks.gcs import make_storage_client

        return make_storage_client(self.gcp_conn_id, self.impersonation_chain)


class SeedanceContactSheetOperator(_StorageMixin, BaseOperator):
    """Posters, contact sheets and ``review.json`` for a set of archived takes.

    :param manifest_uri: ``gs://`` URI of the grid's manifest (its ``takes`` list), or
    :param uris: the transfer's results (``gs://`` URIs), with
    :param clips: the generation operator's results in the same order (seed, prompt, tier...).
    :param folder_uri: Where the sheets go (default: beside the manifest / the first take).
    :param columns: Tiles per row. :param rows: Rows per page (pages bound the image size).
    :param gcp_conn_id: GCS credentials, as for the transfer (``make_storage_client``).
    """

    template_fields: Sequence[str] = ("manifest_uri", "uris", "clips", "folder_uri")

    def __init__(
        self,
        *,
        manifest_uri: str | None = None,
        uris: Sequence[str] | None = None,
        clips: Sequence[Mapping[str, Any]] | None = None,
        folder_uri: str | None = None,
        columns: int = 4,
        rows: int = 6,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if manifest_uri is None and uris is None:
            raise ValueError("SeedanceContactSheetOperator needs manifest_uri or uris")
        self.manifest_uri = manifest_uri
        self.uris = uris
        self.clips = clips
        self.folder_uri = folder_uri
        self.columns = columns
        self.rows = rows
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_seedance.review.contact_sheet import Layout, build_review, read_json
        from airflow_provider_seedance.review.takes import takes_from_manifest, takes_from_results

        client = self.storage_client
        folder: str | None
        if self.manifest_uri:
            takes = takes_from_manifest(read_json(client, self.manifest_uri))
            folder = self.folder_uri or self.manifest_uri.rsplit("/", 1)[0]
        else:
            takes = takes_from_results(list(self.uris or []), list(self.clips) if self.clips else None)
            folder = self.folder_uri
        dag_run = context["dag_run"]
        run = f"{dag_run.dag_id} / {dag_run.run_id}"
        self.log.info("Building the contact sheet of %d takes for %s", len(takes), run)
        result = build_review(
            client,
            takes,
            run=run,
            folder_uri=folder,
            layout=Layout(columns=self.columns, rows=self.rows),
            manifest_uri=self.manifest_uri,
            extra={"dag_id": dag_run.dag_id, "run_id": dag_run.run_id},
            on_take=lambda take, frames: self.log.info(
                "read %s%s", take.label, "" if frames is not None else " (unreadable)"
            ),
        )
        for uri in result.sheet_uris:
            self.log.info("Contact sheet: %s", uri)
        output = result.to_dict()
        output["options"] = [take.label for take in takes]
        output["review_url"] = review_page_url(dag_run.dag_id, dag_run.run_id)
        context["ti"].xcom_push(key=XCOM_REVIEW_KEY, value={"stage": "sheet", **output})
        return output


def review_body(review: Mapping[str, Any], *, base_url: str | None = None, max_images: int = 3) -> str:
    """The HITL body (Markdown): the contact sheet pages as images, and the review page link."""
    lines = [f"**{len(review.get('options') or [])} takes** for `{review.get('run')}`.", ""]
    if review.get("review_url"):
        lines += [f"[Open the review page (play every take)]({review['review_url']})", ""]
    sheets = list(review.get("sheet_uris") or [])
    for number, uri in enumerate(sheets[:max_images], 1):
        url = run_object_url(str(review["dag_id"]), str(review["run_id"]), uri, base_url=base_url)
        lines += [f"![contact sheet page {number}]({url})", ""]
    if len(sheets) > max_images:
        lines.append(f"... and {len(sheets) - max_images} more pages on the review page.")
    lines.append("Choose one take to publish it. Nothing is published without a choice.")
    return "\n".join(lines)


class SeedanceTakeReviewOperator(HITLOperator):
    """Ask a reviewer to choose one take; the options are the contact sheet's take labels.

    :param review: The :class:`SeedanceContactSheetOperator`'s result (e.g. ``sheet.output``).
    :param response_timeout: How long to wait for the reviewer.
    :param on_timeout: ``"fail"`` (default) or ``"skip"`` when nobody answered in time; nothing
        is chosen for the reviewer.
    :param subject: The headline shown in Airflow's "Required actions".
    """

    template_fields: Sequence[str] = ("subject", "body", "review")

    def __init__(
        self,
        *,
        review: Any,
        on_timeout: str = "fail",
        subject: str = "Choose the take to publish",
        response_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        if on_timeout not in ON_TIMEOUT:
            raise ValueError(f"on_timeout must be one of {ON_TIMEOUT}, got {on_timeout!r}")
        for forbidden in ("options", "defaults", "multiple"):
            if forbidden in kwargs:
                raise ValueError(f"{forbidden} is not a parameter here: the takes are the options")
        super().__init__(
            subject=subject,
            options=[_PENDING_OPTION],
            defaults=None,
            multiple=False,
            response_timeout=response_timeout,
            **kwargs,
        )
        self.review = review
        self.on_timeout = on_timeout

    def _load_options(self) -> None:
        review = self.review
        if not isinstance(review, Mapping) or not review.get("options"):
            raise ValueError("review must be the contact sheet result with a non-empty 'options' list")
        self.options = [str(option) for option in review["options"]]
        if len(set(self.options)) != len(self.options):
            raise ValueError("the takes' labels (options) are not unique")

    def execute(self, context: Context) -> Any:
        self._load_options()
        if not self.body:
            self.body = review_body(self.review)
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        self._load_options()  # a resumed task is a fresh operator: the options again
        return super().execute_complete(context, event)

    def process_trigger_event_error(self, event: dict[str, Any]) -> None:
        if event.get("error_type") == "timeout" and self.on_timeout == "skip":
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(
                f"No take was chosen within {self.response_timeout}; skipping (on_timeout='skip')."
            )
        super().process_trigger_event_error(event)


def reviewer_name(choice: Mapping[str, Any]) -> str | None:
    user = choice.get("responded_by_user")
    if isinstance(user, Mapping):
        return str(user.get("name") or user.get("id") or "") or None
    return None if user is None else str(user)


class SeedancePublishTakeOperator(_StorageMixin, BaseOperator):
    """Copy the reviewer's chosen take to ``published/`` exactly once; emit an Asset event.

    :param review: The contact sheet result (``sheet.output``): where ``review.json`` is.
    :param choice: The review task's result (``review.output``: ``chosen_options``, ``responded_by_user``...).
    :param destination_prefix: The prefix the take is copied under (default ``published``).
    :param outlets: Assets to emit the event on (its ``extra`` carries uri, seed, prompt, reviewer, run).
    """

    template_fields: Sequence[str] = ("review", "choice", "destination_prefix")
    operator_extra_links = (SeedanceArchivedVideoLink(),)

    def __init__(
        self,
        *,
        review: Any,
        choice: Any,
        destination_prefix: str = "published",
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.review = review
        self.choice = choice
        self.destination_prefix = destination_prefix
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_seedance.review.contact_sheet import read_json
        from airflow_provider_seedance.review.publish import asset_event_extra, publish_take, published_uri
        from airflow_provider_seedance.review.takes import Take, by_label

        if not isinstance(self.choice, Mapping) or not self.choice.get("chosen_options"):
            raise ValueError("choice must be the review task's result with one chosen option")
        (label,) = self.choice["chosen_options"]
        index = read_json(self.storage_client, str(self.review["index_uri"]))
        takes = by_label(Take.from_dict(entry) for entry in index["takes"])
        if label not in takes:
            raise ValueError(f"the chosen take {label!r} is not one of this review's takes")
        take = takes[label]
        reviewer = reviewer_name(self.choice)
        dag_run = context["dag_run"]
        run = f"{dag_run.dag_id}/{dag_run.run_id}"
        responded_at = self.choice.get("responded_at")
        result = publish_take(
            self.storage_client,
            take,
            reviewer=reviewer,
            run=run,
            responded_at=None if responded_at is None else str(responded_at),
            destination_uri=published_uri(take, prefix=self.destination_prefix),
        )
        extra = dict(asset_event_extra(result, take, reviewer=reviewer, run=run))
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = extra
        output = {**result.to_dict(), "choice": label, "reviewer": reviewer, "seed": take.seed}
        context["ti"].xcom_push(key=XCOM_REVIEW_KEY, value={"stage": "published", **output})
        self.log.info("Published %s (chosen by %s) as %s", label, reviewer, result.uri)
        return output
