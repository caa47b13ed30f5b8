"""The review plugin's registration and its pure parts (the page and the routes run in tests/e2e)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from airflow_provider_seedance.get_provider_info import get_provider_info
from airflow_provider_seedance.review.plugin import SeedanceReviewPlugin, render_page


def test_installed_as_an_airflow_plugin_entry_point() -> None:
    (ep,) = [e for e in entry_points(group="airflow.plugins") if e.name == "seedance_review"]
    assert ep.load() is SeedanceReviewPlugin
    (app,) = SeedanceReviewPlugin.fastapi_apps
    assert app["url_prefix"] == "/seedance-review"
    (view,) = SeedanceReviewPlugin.external_views
    assert view["destination"] == "dag_run"
    assert view["href"] == "seedance-review/runs/{DAG_ID}/{RUN_ID}"  # relative: works behind a proxy


def test_the_extra_link_is_declared_by_the_provider() -> None:
    assert (
        "airflow_provider_seedance.review.links.SeedanceArchivedVideoLink"
        in get_provider_info()["extra-links"]
    )


def test_importing_the_plugin_and_links_stays_light() -> None:
    code = (
        "import sys; import airflow_provider_seedance.review.plugin, airflow_provider_seedance.review.links;"
        "mods = ('google.cloud.storage', 'av', 'PIL', 'fastapi.applications');"
        "heavy = [m for m in mods if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_page_escapes_what_it_shows_and_marks_the_published_take() -> None:
    review = {
        "dag_id": "grid",
        "run_id": "manual__<1>",
        "index": {
            "sheet_uris": ["gs://b/g/contact-sheet-001.png"],
            "takes": [
                {"label": "#01 a", "uri": "gs://b/g/a.mp4", "prompt": "<script>x</script>", "seed": 1},
                {"label": "#02 b", "uri": "gs://b/g/b.mp4", "poster_uri": "gs://b/g/b.poster.jpg", "seed": 2},
            ],
        },
        "published": {"choice": "#02 b", "reviewer": "ana", "uri": "gs://b/published/g/b.mp4"},
    }
    html = render_page(review)
    assert "<script>x" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert html.count("<video") == 2
    assert "manual__%3C1%3E/object?uri=gs%3A%2F%2Fb%2Fg%2Fb.poster.jpg" in html
    assert "class='take published' data-label='#02 b'" in html
    assert "id='published-choice'>#02 b<" in html
