"""Google Cloud Storage clients for this provider's operators: which credentials, from where.

:func:`make_storage_client` is the one credential lookup (the emulator, the Airflow connection
through ``GCSHook``, or Application Default Credentials). Everything done with the client
(archiving, reading, signing) is Airflow-free and lives in
:mod:`airflow_provider_seedance.client.gcs`.

google-cloud-storage and the Google provider are imported only inside the function, so importing
this module (and any operator module that imports it) stays cheap for DAG parsing.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from google.cloud import storage

log = logging.getLogger(__name__)

#: The project used with ``STORAGE_EMULATOR_HOST`` when ``GOOGLE_CLOUD_PROJECT`` is not set.
LOCAL_PROJECT = "seedance-local"
_SCOPES = ("https://www.googleapis.com/auth/devstorage.read_write",)


def make_storage_client(
    gcp_conn_id: str | None = "google_cloud_default",
    impersonation_chain: str | Sequence[str] | None = None,
) -> storage.Client:
    """A ``google.cloud.storage.Client``, credentials chosen in this order.

    1. ``STORAGE_EMULATOR_HOST`` is set (local runs and tests): anonymous credentials and the
       project ``GOOGLE_CLOUD_PROJECT`` (default ``seedance-local``).
    2. ``apache-airflow-providers-google`` is installed (the ``[google]`` extra): the Airflow
       connection ``gcp_conn_id`` through ``GCSHook`` (which also handles ``impersonation_chain``).
    3. Otherwise Application Default Credentials, impersonating the last account of
       ``impersonation_chain`` (through the others as delegates) when one is given.
    """
    from google.cloud import storage

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        project = os.environ.get("GOOGLE_CLOUD_PROJECT") or LOCAL_PROJECT
        return storage.Client(project=project, credentials=AnonymousCredentials())
    if gcp_conn_id:
        try:
            from airflow.providers.google.cloud.hooks.gcs import GCSHook
        except ImportError:
            log.debug(
                "apache-airflow-providers-google is not installed; using Application Default Credentials"
            )
        else:
            chain = (
                impersonation_chain
                if impersonation_chain is None or isinstance(impersonation_chain, str)
                else list(impersonation_chain)
            )
            client: storage.Client = GCSHook(gcp_conn_id=gcp_conn_id, impersonation_chain=chain).get_conn()
            return client

    import google.auth

    credentials, adc_project = google.auth.default(scopes=list(_SCOPES))
    if impersonation_chain:
        from google.auth import impersonated_credentials

        chain = [impersonation_chain] if isinstance(impersonation_chain, str) else list(impersonation_chain)
        credentials = impersonated_credentials.Credentials(
            source_credentials=credentials,
            target_principal=chain[-1],
            delegates=chain[:-1] or None,
            target_scopes=list(_SCOPES),
        )
    return storage.Client(
        project=adc_project or os.environ.get("GOOGLE_CLOUD_PROJECT"), credentials=credentials
    )
