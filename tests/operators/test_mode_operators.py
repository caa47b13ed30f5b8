"""The three generation operators (one per Seedance 2.0 mode) on one base, against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_seedance.client.errors import SeedanceValidationError
from airflow_provider_seedance.client.models import MODES, Mode
from airflow_provider_seedance.emulator.testing import EmulatorHandle
from airflow_provider_seedance.operators import seedance as operator_module
from airflow_provider_seedance.operators.seedance import (
    OPERATORS,
    SeedanceImageToVideoOperator,
    SeedanceReferenceToVideoOperator,
    SeedanceTextToVideoOperator,
    platform_from_environment,
)
from airflow_provider_seedance.triggers.seedance import SeedanceJobTrigger
from tests.support.openlineage import install_fake_openlineage
from tests.support.reference_media import DATA_DIR
from tests.support.tasks import first_event

#: Each mode's operator and its media inputs: local files relative to ``local_base`` (the
#: committed reference media), uploaded to the emulator's fal storage before the submit.
MEDIA: dict[Mode, dict[str, Any]] = {
    Mode.TEXT_TO_VIDEO: {},
    Mode.IMAGE_TO_VIDEO: {"image_url": "brand.png", "end_image_url": "brand.png"},
    Mode.REFERENCE_TO_VIDEO: {"image_urls": ["brand.png"]},
}
PROMPTS = {
    Mode.TEXT_TO_VIDEO: "A paper boat drifts down a rainy street",
    Mode.IMAGE_TO_VIDEO: "The bottle turns slowly on the table",
    Mode.REFERENCE_TO_VIDEO: "@Image1 on a sunlit studio table",
}


@pytest.fixture(autouse=True)
def staging(emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch, gcs_bucket: str) -> str:
    """Local files are staged in the GCS emulator (the connection's ``staging_uri``)."""
    conn = emulator.connection_dict("fal")
    conn["extra"] = {**conn.get("extra", {}), "staging_uri": f"gs://{gcs_bucket}/staging/"}
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", json.dumps(conn))
    return gcs_bucket


def make(mode: Mode, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "task_id": f"clip_{mode.name.lower()}",
        "prompt": PROMPTS[mode],
        "duration": 5,
        "seed": 11,
        "poll_interval": 0.1,
        "deferrable": True,
        "local_base": str(DATA_DIR),
        **MEDIA[mode],
        **overrides,
    }
    return OPERATORS[mode](**kwargs)


def fal_submits(emulator: EmulatorHandle) -> list[dict[str, Any]]:
    return emulator.requests("fal.submit")


# -- the classes ------------------------------------------------------------------------------


def test_each_mode_has_its_operator_named_by_the_registry() -> None:
    for mode, spec in MODES.items():
        assert OPERATORS[mode].__name__ == spec.operator_class
        assert OPERATORS[mode].mode is mode


def test_template_fields_are_the_modes_inputs_and_the_common_ones() -> None:
    assert SeedanceTextToVideoOperator.template_fields[:2] == ("prompt", "resolution")
    assert {"image_url", "end_image_url"} <= set(SeedanceImageToVideoOperator.template_fields)
    assert "image_urls" not in SeedanceImageToVideoOperator.template_fields
    assert {"image_urls", "video_urls", "audio_urls", "seedance_conn_id"} <= set(
        SeedanceReferenceToVideoOperator.template_fields
    )


# -- parse time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "inputs", "expected"),
    [
        (Mode.TEXT_TO_VIDEO, {"prompt": "x" * 5001}, "prompt"),
        (Mode.TEXT_TO_VIDEO, {"prompt": "like @Image1"}, "text-to-video takes no reference files"),
        (Mode.IMAGE_TO_VIDEO, {"image_url": "ftp://x/a.png"}, "image_url"),
        (Mode.IMAGE_TO_VIDEO, {"end_image_url": "gs://b/last.mp4"}, "end_image_url: the URL has format .mp4"),
        (Mode.REFERENCE_TO_VIDEO, {"audio_urls": ["gs://b/voice.wav"], "image_urls": None}, "audio_urls"),
    ],
)
def test_literal_inputs_are_validated_at_parse_time(
    mode: Mode, inputs: dict[str, Any], expected: str
) -> None:
    with pytest.raises(SeedanceValidationError, match=expected):
        make(mode, **inputs)


def test_templated_inputs_wait_for_render_time() -> None:
    op = make(Mode.IMAGE_TO_VIDEO, image_url="{{ params.photo }}", duration="{{ params.seconds }}")
    assert op.image_url == "{{ params.photo }}"


def test_gs_and_local_references_pass_parse_time_for_every_media_input() -> None:
    make(Mode.IMAGE_TO_VIDEO, image_url="gs://brand/hero.png", end_image_url="shots/hero.webp")
    make(Mode.REFERENCE_TO_VIDEO, image_urls=["gs://brand/a.png", "/srv/b.jpg"], video_urls=["c.mp4"])


@pytest.mark.parametrize("form", ["json", "uri"])
def test_a_mode_the_platform_does_not_sell_is_refused_at_parse_time(
    form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if form == "json":
        value = json.dumps({"conn_type": "seedance", "password": "k", "extra": {"platform": "aihubmax"}})
    else:
        value = "seedance://:k@api.aihubmax.example?platform=aihubmax"
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_AIHUBMAX", value)
    assert platform_from_environment("seedance_aihubmax") == "aihubmax"

    with pytest.raises(SeedanceValidationError) as info:
        make(Mode.TEXT_TO_VIDEO, seedance_conn_id="seedance_aihubmax")

    message = str(info.value)
    assert "'aihubmax'" in message
    assert "text-to-video" in message
    make(Mode.REFERENCE_TO_VIDEO, seedance_conn_id="seedance_aihubmax")  # sold there: fine


def test_without_the_connection_in_the_environment_execute_refuses_before_any_request(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", emulator.connection_json("aihubmax"))
    monkeypatch.setattr(operator_module, "platform_from_environment", lambda conn_id: None)
    op = make(Mode.TEXT_TO_VIDEO)  # the platform is unknown at parse time

    with pytest.raises(AirflowFailException, match=r"does not sell Seedance 2\.0 text-to-video"):
        op.execute(context)
    assert emulator.requests() == []


# -- on the emulator ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_deferrable_run_of_each_mode_submits_once_and_returns_the_result(
    mode: Mode, emulator: EmulatorHandle, context: dict
) -> None:
    with pytest.raises(TaskDeferred) as info:
        make(mode).execute(context)
    trigger = info.value.trigger
    assert isinstance(trigger, SeedanceJobTrigger)

    result = make(mode).execute_complete(context, first_event(trigger))

    (submit,) = fal_submits(emulator)
    assert result["status"] == "succeeded"
    assert result["request"]["mode"] == mode.value
    assert result["video"]["file_size"] == len(emulator.video_bytes(result["request_id"]))
    (job,) = emulator.jobs()
    assert job["mode"] == mode.value
    if mode is Mode.IMAGE_TO_VIDEO:
        # Both frames were staged (once: same content), signed and sent as URLs.
        assert submit["json"]["image_url"] == submit["json"]["end_image_url"]
        assert "X-Goog-Signature=" in submit["json"]["image_url"]
        assert result["references"] == {
            "image_url": str(DATA_DIR / "brand.png"),
            "end_image_url": str(DATA_DIR / "brand.png"),
        }
        assert {r["method"] for r in result["reference_media"]} == {"staged"}
    json.dumps(result)


@pytest.mark.parametrize("mode", list(Mode))
def test_sync_run_of_each_mode(mode: Mode, emulator: EmulatorHandle, context: dict) -> None:
    result = make(mode, deferrable=False).execute(context)

    assert (result["status"], result["request"]["mode"]) == ("succeeded", mode.value)
    assert len(fal_submits(emulator)) == 1


@pytest.mark.parametrize("mode", list(Mode))
def test_a_retry_of_each_mode_reconnects_with_one_submit(
    mode: Mode, emulator: EmulatorHandle, context: dict
) -> None:
    with pytest.raises(TaskDeferred) as first:
        make(mode).execute(context)  # the worker dies after deferring
    uploads = len(emulator.requests())

    with pytest.raises(TaskDeferred) as second:
        make(mode).execute(context)  # the retry

    assert second.value.trigger.job == first.value.trigger.job
    assert len(fal_submits(emulator)) == 1
    # The reconnect neither resolves nor preflights: only the status read hit the platform.
    assert [r["route"] for r in emulator.requests()[uploads:]] == ["fal.status"]
    result = make(mode).execute_complete(context, first_event(second.value.trigger))
    assert result["request"]["mode"] == mode.value
    if MEDIA[mode]:
        assert result["references"]  # from the submitting try, through the task state store


# -- references through the operator ----------------------------------------------------------


def test_gs_reference_is_signed_against_the_gcs_emulator(
    emulator: EmulatorHandle, context: dict, gcs_client: Any, gcs_bucket: str
) -> None:
    photo = (DATA_DIR / "brand.png").read_bytes()
    gcs_client.bucket(gcs_bucket).blob("shots/hero.png").upload_from_string(photo, content_type="image/png")
    uri = f"gs://{gcs_bucket}/shots/hero.png"

    result = make(Mode.IMAGE_TO_VIDEO, image_url=uri, end_image_url=None, deferrable=False).execute(context)

    sent = fal_submits(emulator)[0]["json"]["image_url"]
    assert "X-Goog-Signature=" in sent
    import httpx

    assert httpx.get(sent).content == photo  # what the platform fetches
    assert result["references"] == {"image_url": uri}
    (record,) = result["reference_media"]
    assert (record["reference"], record["method"]) == (uri, "signed")
    assert "X-Goog-Signature" not in json.dumps(result)  # never a signed URL in XCom


def test_a_local_reference_is_staged_once_by_content_and_signed(
    emulator: EmulatorHandle, context: dict, gcs_client: Any, staging: str
) -> None:
    result = make(Mode.REFERENCE_TO_VIDEO, deferrable=False).execute(context)
    make(Mode.REFERENCE_TO_VIDEO, deferrable=False, task_id="again").execute(
        {"ti": context["ti"], "task_state_store": type(context["task_state_store"])()}
    )

    assert result["references"] == {"image_urls": [str(DATA_DIR / "brand.png")]}
    assert [r["method"] for r in result["reference_media"]] == ["staged"]
    assert len(list(gcs_client.list_blobs(staging, prefix="staging/"))) == 1  # two tasks, one object
    sent = fal_submits(emulator)[0]["json"]["image_urls"][0]
    assert "X-Goog-Signature=" in sent
    assert "X-Goog-Signature" not in json.dumps(result)


def test_without_staging_a_local_reference_goes_to_fal_storage(
    emulator: EmulatorHandle, context: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    host = emulator.connection_dict("fal")["host"]
    if httpx.post(f"{host}/storage/auth/token", json={}).status_code == 404:
        pytest.skip("this emulator has no fal file storage yet")
    monkeypatch.setenv("AIRFLOW_CONN_SEEDANCE_DEFAULT", emulator.connection_json("fal"))

    result = make(Mode.REFERENCE_TO_VIDEO, deferrable=False).execute(context)

    assert [r["method"] for r in result["reference_media"]] == ["uploaded"]


def test_a_preflight_violation_fails_with_zero_platform_requests(
    emulator: EmulatorHandle, context: dict, tmp_path: Path
) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_bytes((DATA_DIR / "brand.png").read_bytes())  # a PNG named .mp4
    op = make(
        Mode.REFERENCE_TO_VIDEO,
        prompt="Move like @Video1",
        video_urls=["clip.mp4"],
        local_base=str(tmp_path),
        image_urls=None,
    )

    with pytest.raises(AirflowFailException) as info:
        op.execute(context)

    assert "video_urls[0]" in str(info.value)
    assert "nothing was submitted" in str(info.value)
    assert emulator.requests() == []  # no upload, no submit


def test_a_local_path_outside_the_base_is_refused_before_any_request(
    emulator: EmulatorHandle, context: dict, tmp_path: Path
) -> None:
    op = make(Mode.IMAGE_TO_VIDEO, image_url=str(DATA_DIR / "brand.png"), local_base=str(tmp_path))

    with pytest.raises(AirflowFailException, match="outside the allowed base"):
        op.execute(context)
    assert emulator.requests() == []


def test_an_unreachable_https_reference_is_retried_by_airflow(
    emulator: EmulatorHandle, context: dict
) -> None:
    op = make(Mode.IMAGE_TO_VIDEO, image_url="http://127.0.0.1:9/hero.png", end_image_url=None)

    with pytest.raises(AirflowException) as info:
        op.execute(context)

    assert not isinstance(info.value, AirflowFailException)  # a transport fault: retry may help
    assert fal_submits(emulator) == []


def test_lineage_inputs_are_the_gs_references_and_the_output_the_job(
    emulator: EmulatorHandle, context: dict, gcs_client: Any, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_fake_openlineage(monkeypatch)
    photo = (DATA_DIR / "brand.png").read_bytes()
    gcs_client.bucket(gcs_bucket).blob("shots/hero.png").upload_from_string(photo, content_type="image/png")
    op = make(Mode.REFERENCE_TO_VIDEO, deferrable=False, image_urls=[f"gs://{gcs_bucket}/shots/hero.png"])
    result = op.execute(context)

    lineage = op.get_openlineage_facets_on_complete(None)

    assert [(d.namespace, d.name) for d in lineage.inputs] == [(f"gs://{gcs_bucket}", "shots/hero.png")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("seedance://fal", f"jobs/{result['request_id']}")
    ]
