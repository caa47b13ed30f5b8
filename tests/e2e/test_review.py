"""Take review as a person does it, on real Airflow against the emulators (rendered takes).

Run the grid, wait for the reviewer's step, answer it through the REST API (``hitlDetails``),
check the published object byte for byte and the Asset event; check the contact sheet as an
image; open the review page in headless Chromium (Debian's package) and check that it shows
every take and that a video really loads. Screenshots are kept in ``SEEDANCE_SCREENSHOTS_DIR``
(default: a temporary directory the test prints) and, with ``SEEDANCE_UPDATE_DOCS_SCREENSHOTS=1``,
copied to ``docs/_static/screenshots/``.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from scripts.stack import REPO_ROOT, Stack
from tests.e2e.conftest import e2e_timeout, gcs_client, running
from tests.support.browser import launch

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DAG_ID = "seedance_seed_grid_backfill"
DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "_static" / "screenshots"
#: The screenshots docs/review.md shows.
DOCS_SHOTS = (
    "contact-sheet.png",
    "review-required-action.png",
    "review-tab-published.png",
    "review-page-published.png",
)
SEEDS = [11, 42]
RATIOS = ["16:9", "9:16"]
PROMPT = "@Image1 spins slowly on a marble pedestal, soft studio light"


@pytest.fixture(scope="module")
def review_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """SQLite + LocalExecutor stack whose emulator renders a take per request."""
    stack = Stack(
        tmp_path_factory.mktemp("review-stack"),
        queue_seconds=0.5,
        run_seconds=1.0,
        poll_interval=0.5,
        render_videos=True,
        extra_dag_files=sorted((Path(__file__).parent / "review_dags").glob("*.py")),
        # The scheduler's sweep of timed-out review steps (default every 15 s).
        extra_env={"AIRFLOW__SCHEDULER__TRIGGER_TIMEOUT_CHECK_INTERVAL": "1"},
    )
    yield from running(stack)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("SEEDANCE_SCREENSHOTS_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def _download(gcs: Any, uri: str) -> bytes:
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    data: bytes = gcs.bucket(bucket).blob(name).download_as_bytes()
    return data


def check_contact_sheet(png: bytes, takes: int) -> None:
    """Size, one non-blank tile per take, distinct tiles for distinct seeds."""
    from PIL import Image, ImageChops, ImageStat

    from airflow_provider_seedance.review.contact_sheet import Layout

    layout = Layout()
    sheet = Image.open(io.BytesIO(png)).convert("RGB")
    assert sheet.size == layout.sheet_size_for(takes)
    boxes = []
    for slot in range(takes):
        x, y = layout.tile_origin(slot)
        boxes.append((x, y, x + layout.tile_size[0], y + layout.thumb + 16))
    tiles = [sheet.crop(box) for box in boxes]
    for slot, tile in enumerate(tiles):
        assert max(ImageStat.Stat(tile).stddev) > 15, f"tile {slot} is blank"
    # Grid order: seed 11 (16:9, 9:16), seed 42 (16:9, 9:16): same ratio, other seed.
    for a, b in ((0, 2), (1, 3)):
        diff = sum(ImageStat.Stat(ImageChops.difference(tiles[a], tiles[b])).mean) / 3
        assert diff > 10, f"tiles {a} and {b} (different seeds) look alike ({diff:.1f})"


def wait_for_review_task(stack: Stack, run_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        ti = stack.task_instance(DAG_ID, run_id, "review")
        if ti["state"] in ("awaiting_input", "deferred"):
            return ti
        states = {t["task_id"]: t["state"] for t in stack.task_instances(DAG_ID, run_id)}
        assert "failed" not in states.values(), f"{states}\n{stack.task_logs_tail(DAG_ID, 30)}"
        assert time.monotonic() < deadline, f"review never waited for input: {states}\n{stack.logs_tail()}"
        time.sleep(0.5)


def browser_checks(stack: Stack, run_id: str, shots: Path, *, published: str | None) -> dict[str, Any]:
    """Open the review page (and the DAG run's "Takes" tab) in headless Chromium."""
    from playwright.sync_api import sync_playwright

    page_url = f"{stack.api_url}/seedance-review/runs/{quote(DAG_ID, safe='')}/{quote(run_id, safe='')}"
    found: dict[str, Any] = {}
    tag = "published" if published else "pending"
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            # Airflow's UI keeps the session in the ``_token`` cookie: log in as the UI does.
            context.add_cookies([{"name": "_token", "value": stack.token(), "url": stack.api_url}])
            page = context.new_page()
            response = page.goto(page_url)
            assert response is not None
            assert response.status == 200, response.status
            page.wait_for_selector(".take video")
            found["takes"] = page.locator(".take").count()
            found["sheets"] = page.locator("img.sheet").count()
            # The first take's player really loads video (not a broken player).
            state = page.wait_for_function(
                """() => { const v = document.querySelector('.take video');
                           return v && v.readyState >= 2 && v.duration > 0 && !v.error
                                  ? {readyState: v.readyState, duration: v.duration,
                                     width: v.videoWidth, height: v.videoHeight} : null; }""",
                timeout=30_000,
            ).json_value()
            found["video"] = state
            found["sheet_loaded"] = page.evaluate(
                "() => [...document.querySelectorAll('img.sheet')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
            if published:
                found["published_choice"] = page.locator("#published-choice").inner_text()
            page.screenshot(path=str(shots / f"review-page-{tag}.png"), full_page=True)
            # The same page as a tab of the DAG run in Airflow's UI (an external view).
            tab = context.new_page()
            tab.goto(f"{stack.api_url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/plugin/seedance-takes")
            frame = tab.frame_locator("iframe")
            frame.locator(".take").first.wait_for(timeout=30_000)
            found["tab_takes"] = frame.locator(".take").count()
            tab.wait_for_timeout(1500)
            tab.screenshot(path=str(shots / f"review-tab-{tag}.png"))
            if not published:  # Airflow's own "Required actions" form for the review step
                form = context.new_page()
                run = quote(run_id, safe="")
                form.goto(f"{stack.api_url}/dags/{DAG_ID}/runs/{run}/tasks/review/required_actions")
                form.wait_for_timeout(2500)
                form.screenshot(path=str(shots / "review-required-action.png"))
        finally:
            browser.close()
    return found


def test_grid_review_choose_over_rest_publish_and_view_in_browser(
    review_stack: Stack, screenshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = review_stack
    gcs = gcs_client(stack, monkeypatch)
    t0 = time.monotonic()
    conf = {"prompts": [PROMPT], "seeds": SEEDS, "aspect_ratios": RATIOS, "prefix": "e2e/review"}
    run_id = stack.trigger(DAG_ID, conf=conf)
    wait_for_review_task(stack, run_id, e2e_timeout(150))
    takes = len(SEEDS) * len(RATIOS)

    # The reviewer's request: the takes as options, the contact sheet in the body.
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/review/-1/hitlDetails"
    detail = stack.api("GET", path).json()
    options = detail["options"]
    assert len(options) == takes
    assert options[0] == "#01 p1-16x9-seed11"
    assert detail["defaults"] in (None, [])
    assert "contact sheet page 1" in detail["body"]
    sheet_result = stack.xcom(DAG_ID, run_id, "contact_sheet")
    (sheet_uri,) = sheet_result["sheet_uris"]
    sheet_png = _download(gcs, sheet_uri)
    check_contact_sheet(sheet_png, takes)
    (screenshots / "contact-sheet.png").write_bytes(sheet_png)
    before = browser_checks(stack, run_id, screenshots, published=None)
    assert before["takes"] == takes

    # Answer over REST as the reviewer; then the take is published.
    choice = "#03 p1-16x9-seed42"
    answer = stack.api("PATCH", path, json={"chosen_options": [choice], "params_input": {}}).json()
    assert answer["chosen_options"] == [choice]
    result = stack.wait_for_run(DAG_ID, run_id, timeout=e2e_timeout(120))
    assert result.state == "success", result.task_instances
    published = stack.xcom(DAG_ID, run_id, "publish")
    assert published["choice"] == choice
    assert published["reviewer"] == "admin"

    manifest = stack.xcom(DAG_ID, run_id, "write_manifest")
    assert stack.xcom(DAG_ID, run_id, "render", 2)["request"]["seed"] == 42
    take_uri = f"gs://seedance-campaigns/e2e/review/{manifest.split('/')[-2]}/p1-16x9-seed42.mp4"
    assert published["source_uri"] == take_uri
    assert published["uri"] == take_uri.replace(
        "gs://seedance-campaigns/", "gs://seedance-campaigns/published/"
    )
    data = _download(gcs, published["uri"])
    assert data == _download(gcs, take_uri)
    assert data == stack.emulator.video_bytes(stack.xcom(DAG_ID, run_id, "render", 2)["request_id"])
    bucket, _, name = published["uri"].removeprefix("gs://").partition("/")
    blob = gcs.bucket(bucket).get_blob(name)
    assert blob.metadata["seedance-review-choice"] == choice
    assert blob.metadata["seedance-review-reviewer"] == "admin"
    assert blob.metadata["seedance-review-run"] == f"{DAG_ID}/{run_id}"
    assert blob.metadata["seedance-seed"] == "42"
    assert blob.metadata["seedance-prompt"] == PROMPT

    # The Asset event downstream DAGs are scheduled on, naming the take.
    assets = stack.api("GET", "/api/v2/assets", params={"uri_pattern": "published"}).json()["assets"]
    (asset,) = [a for a in assets if a["uri"].rstrip("/") == "gs://seedance-campaigns/published/seed-grid"]
    events = stack.api("GET", "/api/v2/assets/events", params={"asset_id": asset["id"]}).json()
    (event,) = [e for e in events["asset_events"] if e["source_run_id"] == run_id]
    assert event["source_task_id"] == "publish"
    assert event["extra"]["uri"] == published["uri"]
    assert event["extra"]["seed"] == 42
    assert event["extra"]["choice"] == choice

    after = browser_checks(stack, run_id, screenshots, published=choice)
    assert after["takes"] == takes
    assert after["tab_takes"] == takes
    assert after["sheets"] == 1
    assert after["sheet_loaded"]
    assert after["published_choice"] == choice
    video = after["video"]
    assert video["readyState"] >= 2
    assert video["duration"] == pytest.approx(2.0, abs=0.2)
    assert (video["width"], video["height"]) == (320, 180)

    # The plugin serves only this run's objects, to Airflow users, with ranges (players seek).
    import httpx

    obj = f"{stack.api_url}/seedance-review/runs/{DAG_ID}/{quote(run_id, safe='')}/object"
    auth = {"Authorization": f"Bearer {stack.token()}"}
    assert httpx.get(obj, params={"uri": take_uri}).status_code == 401
    foreign = "gs://seedance-campaigns/e2e/other/secret.mp4"
    assert httpx.get(obj, params={"uri": foreign}, headers=auth).status_code == 404
    part = httpx.get(obj, params={"uri": take_uri}, headers={**auth, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert part.content == data[100:200]

    # The transfer's extra link opens the player for its archived object.
    links = stack.api(
        "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances/publish/links"
    ).json()
    assert "/seedance-review/runs/" in (links["extra_links"].get("Archived video") or ""), links
    print(f"review e2e took {time.monotonic() - t0:.1f} s")
    if os.environ.get("SEEDANCE_UPDATE_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name in DOCS_SHOTS:
            shutil.copy2(screenshots / name, DOCS_SCREENSHOTS / name)


def test_no_answer_by_the_deadline_fails_or_skips_never_chooses(review_stack: Stack) -> None:
    stack = review_stack
    dag_id = "seedance_review_timeout"
    stack.wait_for_dag(dag_id, deadline=time.monotonic() + e2e_timeout(60))
    run_id = stack.trigger(dag_id)
    result = stack.wait_for_run(dag_id, run_id, timeout=e2e_timeout(90))
    states = {t["task_id"]: t["state"] for t in result.task_instances}
    assert states == {"review_skip": "skipped", "publish_after_skip": "skipped", "review_fail": "failed"}
    assert result.state == "failed"
    for task_id in ("review_skip", "review_fail"):
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/-1/hitlDetails"
        )
        detail = stack.api("GET", path).json()
        assert not detail.get("chosen_options"), detail  # nothing was chosen for the reviewer
