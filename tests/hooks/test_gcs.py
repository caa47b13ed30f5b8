"""Which Google Cloud Storage credentials: the emulator, the Airflow connection, or ADC."""

from __future__ import annotations

import sys
import types

import pytest

from airflow_provider_seedance.hooks import gcs


def test_emulator_host_means_anonymous_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth.credentials import AnonymousCredentials

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    client = gcs.make_storage_client("google_cloud_default")
    assert isinstance(client._credentials, AnonymousCredentials)
    assert client.project == "seedance-local"


def test_gcs_hook_is_used_when_the_google_provider_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    seen: dict[str, object] = {}

    class GCSHook:
        def __init__(self, gcp_conn_id: str, impersonation_chain: object = None) -> None:
            seen.update(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain)

        def get_conn(self) -> str:
            return "client-from-gcs-hook"

    module = types.ModuleType("airflow.providers.google.cloud.hooks.gcs")
    module.GCSHook = GCSHook  # type: ignore[attr-defined]
    for name in (
        "airflow.providers.google",
        "airflow.providers.google.cloud",
        "airflow.providers.google.cloud.hooks",
    ):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "airflow.providers.google.cloud.hooks.gcs", module)

    client = gcs.make_storage_client("my_gcp", ("a@p.iam.gserviceaccount.com",))

    assert client == "client-from-gcs-hook"
    assert seen == {"gcp_conn_id": "my_gcp", "impersonation_chain": ["a@p.iam.gserviceaccount.com"]}


def test_adc_with_impersonation_without_the_google_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    import google.auth
    from google.auth import impersonated_credentials
    from google.auth.credentials import AnonymousCredentials

    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setitem(sys.modules, "airflow.providers.google.cloud.hooks.gcs", None)  # not installed
    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (AnonymousCredentials(), "adc-project"))

    client = gcs.make_storage_client(
        "google_cloud_default", ["delegate@p.iam.gserviceaccount.com", "archiver@p.iam.gserviceaccount.com"]
    )

    assert isinstance(client._credentials, impersonated_credentials.Credentials)
    assert client._credentials.service_account_email == "archiver@p.iam.gserviceaccount.com"
    assert client.project == "adc-project"
