"""The documentation site: built with warnings as errors, complete, and checked offline.

One build per session (``conftest.built_site``, the same script as ``make docs``); the tests
read the built HTML.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re

import pytest
from bs4 import BeautifulSoup, Tag

import airflow_provider_seedance
from airflow_provider_seedance.client import errors
from tests.docs.conftest import ROOT, BuiltSite

DOCS = ROOT / "docs"

#: The public modules the API reference must cover, page by page.
API_MODULES: dict[str, list[str]] = {
    "api/hooks": ["airflow_provider_seedance.hooks.seedance", "airflow_provider_seedance.hooks.gcs"],
    "api/operators": ["airflow_provider_seedance.operators.seedance"],
    "api/sensors": ["airflow_provider_seedance.sensors.seedance"],
    "api/triggers": ["airflow_provider_seedance.triggers.seedance"],
    "api/transfers": ["airflow_provider_seedance.transfers.seedance_to_gcs"],
    "api/client": [
        "airflow_provider_seedance.client.errors",
        "airflow_provider_seedance.client.models",
        "airflow_provider_seedance.client.events",
        "airflow_provider_seedance.client.references",
        "airflow_provider_seedance.client.preflight",
        "airflow_provider_seedance.client.reference_storage",
        "airflow_provider_seedance.client.pricing",
        "airflow_provider_seedance.client.retry",
        "airflow_provider_seedance.client.transport",
        "airflow_provider_seedance.client.polling",
        "airflow_provider_seedance.client.pool",
    ],
    "api/emulator": ["airflow_provider_seedance.emulator.testing", "airflow_provider_seedance.emulator.gcs"],
}

#: Classes users configure in DAGs: every constructor parameter needs a ``:param:`` line.
AIRFLOW_FACING = [
    "airflow_provider_seedance.hooks.seedance.SeedanceHook",
    "airflow_provider_seedance.operators.seedance.SeedanceReferenceToVideoOperator",
    "airflow_provider_seedance.sensors.seedance.SeedanceJobSensor",
    "airflow_provider_seedance.triggers.seedance.SeedanceJobTrigger",
    "airflow_provider_seedance.transfers.seedance_to_gcs.SeedanceToGCSOperator",
]
#: Parameters known to lack a ``:param:`` line today (in files under refactor). The list may
#: only shrink: an entry that is documented now fails the test until it is removed.
KNOWN_UNDESCRIBED: dict[str, set[str]] = {}


def _soup(site: BuiltSite, docname: str) -> BeautifulSoup:
    return BeautifulSoup(site.page(docname), "html.parser")


def _object(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _public_objects(module_name: str) -> list[tuple[str, object]]:
    """Classes and functions defined (not imported) in ``module_name``: those of its ``__all__``,
    or without one, those without a leading ``_``."""
    module = importlib.import_module(module_name)
    public = getattr(module, "__all__", None)
    return [
        (name, obj)
        for name, obj in vars(module).items()
        if (name in public if public is not None else not name.startswith("_"))
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module_name
    ]


def _parameters(cls: type) -> list[str]:
    """Constructor parameters (an exception without an ``__init__`` of its own has none)."""
    if issubclass(cls, enum.Enum):
        return []
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and not p.name.startswith("_")
    ]


def _entry(soup: BeautifulSoup, dotted: str) -> tuple[Tag, Tag] | None:
    dt = soup.find("dt", id=dotted)
    if not isinstance(dt, Tag):
        return None
    dd = dt.find_next_sibling("dd")
    assert isinstance(dd, Tag)
    return dt, dd


def _signature_params(dt: Tag) -> set[str]:
    """Parameter names in a rendered signature. Sphinx marks each one up, unless it cannot parse
    the signature (a default like ``<built-in function sleep>``): then it is one plain text."""
    names = set()
    for em in dt.find_all("em", class_="sig-param"):
        first = em.find("span", class_="n")
        if first is not None:
            names.add(first.get_text())
        else:
            names |= set(re.findall(r"(?:^|[(,*]\s*)(\w+)\s*[:=]", em.get_text()))
    return names


def _described_params(dd: Tag) -> set[str]:
    described: set[str] = set()
    for field in dd.find_all("dl", class_="field-list", recursive=False):
        for dt in field.find_all("dt", recursive=False):
            if dt.get_text(strip=True).startswith("Parameters"):
                body = dt.find_next_sibling("dd")
                assert isinstance(body, Tag)
                described |= {strong.get_text() for strong in body.find_all("strong")}
    return described


# -- the build -----------------------------------------------------------------------------------
def test_the_site_builds_with_warnings_as_errors(built_site: BuiltSite) -> None:
    assert built_site.returncode == 0, built_site.output[-6000:]
    assert "WARNING" not in built_site.output, built_site.output[-6000:]
    assert (built_site.html / "index.html").is_file()


def test_every_markdown_page_under_docs_is_a_page_of_the_site(built_site: BuiltSite) -> None:
    """The project's free-form pages (and new ones others add) are built and in the navigation."""
    index = built_site.page("index")
    pages = sorted(p.stem for p in DOCS.glob("*.md") if p.stem != "index")
    assert {"operators", "platforms", "transfers", "emulator", "design"} <= set(pages)
    for stem in pages:
        assert (built_site.html / f"{stem}.html").is_file(), stem
        assert f'href="{stem}.html"' in index, f"{stem}.md is not in the index's toctree"


# -- troubleshooting -----------------------------------------------------------------------------
def _import_every_module() -> None:
    """Import every module of the package, so error classes defined anywhere are subclasses."""
    import importlib
    import pkgutil

    import airflow_provider_seedance

    for info in pkgutil.walk_packages(airflow_provider_seedance.__path__, "airflow_provider_seedance."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def _error_classes() -> list[type[BaseException]]:
    _import_every_module()
    found: list[type[BaseException]] = []
    pending: list[type[BaseException]] = [errors.SeedanceError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("airflow_provider_seedance") and not cls.__name__.startswith("_"):
            found.append(cls)
        pending.extend(cls.__subclasses__())
    from airflow_provider_seedance.emulator.testing import EmulatorError

    return [*found, EmulatorError]


def _troubleshooting_sections(site: BuiltSite) -> dict[str, str]:
    soup = _soup(site, "guide/troubleshooting")
    sections = {}
    for target in soup.find_all(id=re.compile(r"^error-")):
        section = target if target.name == "section" else target.find_next("section")
        assert isinstance(section, Tag)
        sections[str(target["id"])] = section.get_text(" ", strip=True)
    return sections


def test_every_error_class_has_a_troubleshooting_entry(built_site: BuiltSite) -> None:
    sections = _troubleshooting_sections(built_site)
    classes = _error_classes()
    assert len(classes) >= 18  # the hierarchy of client/errors.py and the emulator's error
    for cls in classes:
        anchor = f"error-{cls.__name__.lower()}"
        assert anchor in sections, f"{cls.__module__}.{cls.__name__}: no ({anchor})= entry"
        text = sections[anchor]
        assert text.startswith(cls.__name__), text[:80]
        if cls is not errors.SeedanceError:
            for part in ("Message", "Cause", "What to do"):
                assert part in text, f"{cls.__name__}'s entry has no {part!r}"


def test_every_error_class_lives_in_client_errors() -> None:
    """One hierarchy, one home: no module defines its own SeedanceError subclass."""
    outside = [
        f"{cls.__module__}.{cls.__name__}"
        for cls in _error_classes()
        if issubclass(cls, errors.SeedanceError) and cls.__module__ != errors.__name__
    ]
    assert outside == []


def test_a_new_error_class_without_an_entry_is_caught(built_site: BuiltSite) -> None:
    sections = _troubleshooting_sections(built_site)

    class SeedanceBrandNewError(errors.SeedanceError):
        """Defined here only to prove the walk finds classes the page does not know."""

    SeedanceBrandNewError.__module__ = "airflow_provider_seedance.client.errors"
    missing = [c for c in _error_classes() if f"error-{c.__name__.lower()}" not in sections]
    assert missing == [SeedanceBrandNewError]


# -- API reference -------------------------------------------------------------------------------
@pytest.mark.parametrize("docname", sorted(API_MODULES))
def test_every_public_class_and_parameter_is_in_the_api_reference(
    built_site: BuiltSite, docname: str
) -> None:
    soup = _soup(built_site, docname)
    for module_name in API_MODULES[docname]:
        objects = _public_objects(module_name)
        assert objects, module_name
        for name, obj in objects:
            dotted = f"{module_name}.{name}"
            entry = _entry(soup, dotted)
            assert entry is not None, f"{dotted} is not in {docname}"
            dt, dd = entry
            if inspect.isclass(obj):
                shown = _signature_params(dt) | _described_params(dd)
                missing = [p for p in _parameters(obj) if p not in shown]
                assert not missing, f"{dotted}: parameters {missing} are not in the reference"
                if issubclass(obj, enum.Enum):
                    members = [m for m in obj.__members__ if dd.find(id=f"{dotted}.{m}") is None]
                    assert not members, f"{dotted}: members {members} are not in the reference"


def test_everything_the_client_package_exports_is_in_the_api_reference(built_site: BuiltSite) -> None:
    from airflow_provider_seedance import client

    soup = _soup(built_site, "api/client")
    for name in client.__all__:
        obj = getattr(client, name)
        assert soup.find("dt", id=f"{obj.__module__}.{name}") is not None, name


def test_the_classes_users_configure_describe_every_parameter(built_site: BuiltSite) -> None:
    stale = []
    for dotted in AIRFLOW_FACING:
        module_name = dotted.rpartition(".")[0]
        docname = next(doc for doc, modules in API_MODULES.items() if module_name in modules)
        entry = _entry(_soup(built_site, docname), dotted)
        assert entry is not None, dotted
        described = _described_params(entry[1])
        params = set(_parameters(_object(dotted)))  # type: ignore[arg-type]
        known = KNOWN_UNDESCRIBED.get(dotted, set())
        undescribed = params - described - known
        assert not undescribed, f"{dotted}: no :param: line for {sorted(undescribed)}"
        stale += [f"{dotted}.{p}" for p in known if p in described or p not in params]
    assert not stale, f"documented now, remove from KNOWN_UNDESCRIBED: {stale}"


# -- pages that follow the code ------------------------------------------------------------------
def test_a_connection_page_per_platform_in_the_registry(built_site: BuiltSite) -> None:
    from airflow_provider_seedance.client.platforms.registry import DIALECTS

    for key, spec in DIALECTS.items():
        text = _soup(built_site, f"connections/{key}").get_text(" ")
        assert f"platform: {key}" in text
        base_url = getattr(spec.load(), "default_base_url", None)
        if isinstance(base_url, str):
            assert base_url in text, f"connections/{key}: the dialect's base URL {base_url}"
        for heading in ("test_connection", "What it can and cannot do"):
            assert heading in text, f"connections/{key} has no {heading!r}"


def test_how_to_snippets_are_the_example_dags_code(built_site: BuiltSite) -> None:
    marketing = ROOT / "dags/seedance_marketing_daily.py"
    cases = {
        "howto/operator": (marketing, "howto_operator_seedance_reference_to_video"),
        "howto/transfer": (marketing, "howto_transfer_seedance_to_gcs"),
        "howto/sensor": (DOCS / "examples/seedance_submit_then_wait.py", "howto_sensor_seedance_job"),
        "guide/costs": (ROOT / "dags/seedance_seed_grid_backfill.py", "howto_budget_guard_grid"),
    }
    for docname, (source, marker) in cases.items():
        text = source.read_text()
        start, end = f"# [START {marker}]", f"# [END {marker}]"
        assert start in text, f"{source.name}: {start}"
        assert end in text, f"{source.name}: {end}"
        region = text[text.index(start) + len(start) : text.index(end)]
        code = " ".join(block.get_text() for block in _soup(built_site, docname).select("div.highlight pre"))
        for line in (ln.strip() for ln in region.splitlines()):
            if line:
                assert line in code, f"{docname}: {line!r} from {source.name} is not on the page"


def test_the_price_table_is_computed_from_the_pricing_module(built_site: BuiltSite) -> None:
    from airflow_provider_seedance.client import pricing

    table = _soup(built_site, "guide/costs").find("table", class_="seedance-price-table")
    assert isinstance(table, Tag)
    rows = {
        cells[0]: cells
        for cells in ([td.get_text(strip=True) for td in tr.find_all("td")] for tr in table.find_all("tr"))
        if cells
    }
    assert set(rows) == set(pricing.FRAME_SIZES)
    standard_720p = pricing.tokens_for("720p", 1) / 1000 * pricing.TOKEN_PRICE_PER_1000["standard"]
    assert rows["720p"][2] == f"${standard_720p:.5f}" == "$0.30240"  # the per-second rate fal documents
    assert rows["720p"][3] == "$0.24192"


def test_the_changelog_follows_keep_a_changelog(built_site: BuiltSite) -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2}|Unreleased)$", text, re.M)
    headings = re.findall(r"^## .*$", text, re.M)
    assert len(versions) == len(headings) >= 2, headings
    assert versions[0][0] == airflow_provider_seedance.__version__  # bumped for this release
    kinds = set(re.findall(r"^### (.*)$", text, re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, kinds
    assert "keepachangelog.com" in text
    assert airflow_provider_seedance.__version__ in _soup(built_site, "changelog").get_text()


# -- links -------------------------------------------------------------------------------------
def test_external_links_are_listed_not_fetched(built_site: BuiltSite) -> None:
    listing = (built_site.html / "external-links.txt").read_text().splitlines()
    links = dict(line.split("\t") for line in listing)
    assert "index" in links["https://airflow.apache.org/"]
    assert "transfers" in links["https://pypi.org/project/gcp-storage-emulator/"]
    for url in links:
        assert url.startswith(("http://", "https://", "mailto:")), url
        assert "127.0.0.1" not in url, url
        assert "localhost" not in url, url


def test_internal_links_of_the_markdown_pages_resolve(built_site: BuiltSite) -> None:
    """MyST turns ``[x](page.md)`` / ``#anchor`` into checked references; they land on real ids."""
    soup = _soup(built_site, "operators")
    hrefs = [a["href"] for a in soup.select("article a.reference.internal")]
    assert "transfers.html" in hrefs
    transfers = _soup(built_site, "transfers")
    assert transfers.find(id="credentials") is not None
    assert "#credentials" in [a["href"] for a in transfers.select("article a.reference.internal")]


def test_the_connection_screenshots_are_published(built_site: BuiltSite) -> None:
    for name in ("connection-form.png", "connection-form-standard.png"):
        assert (DOCS / "_static" / "screenshots" / name).stat().st_size > 10_000
        assert name in built_site.page("connections/index")
