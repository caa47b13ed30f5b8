"""Links into the review view (:mod:`.plugin`): URL helpers and the "Archived video" extra link.

Light on purpose (no google-cloud-storage, no HITL operator): the transfer imports
:class:`SeedanceArchivedVideoLink` for its ``operator_extra_links``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

#: The review view's mount point on the api-server (see :mod:`.plugin`).
PLUGIN_PREFIX = "/seedance-review"


def api_base_url() -> str:
    """``[api] base_url`` (where browsers reach the api-server), without a trailing slash."""
    from airflow.sdk import conf

    return str(conf.get("api", "base_url", fallback="") or "").rstrip("/")


def review_page_url(dag_id: str, run_id: str, base_url: str | None = None) -> str:
    base = api_base_url() if base_url is None else base_url
    return f"{base}{PLUGIN_PREFIX}/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"


def run_object_url(
    dag_id: str, run_id: str, uri: str, *, what: str = "object", base_url: str | None = None
) -> str:
    """The review view's URL for a ``gs://`` object of a run: ``what="object"`` streams it (Range
    supported), ``what="watch"`` is a page with a player."""
    return f"{review_page_url(dag_id, run_id, base_url)}/{what}?{urlencode({'uri': uri})}"


class SeedanceArchivedVideoLink(BaseOperatorLink):
    """ "Archived video": the review view's player for the task's ``gs://`` result.

    Works for the transfer (returns ``gs://...``) and the publish task (returns ``{"uri": ...}``).
    The link goes through the api-server (the plugin streams the object with the deployment's
    GCS credentials), so it needs no public bucket and carries no secret.
    """

    name = "Archived video"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(key="return_value", ti_key=ti_key)
        uri = value.get("uri") if isinstance(value, Mapping) else value
        if not isinstance(uri, str) or not uri.startswith("gs://"):
            return ""
        return run_object_url(ti_key.dag_id, ti_key.run_id, uri, what="watch")
