"""The release: ``python -m build`` gives an sdist and a wheel that ``twine check`` accepts, and
the wheel alone (no checkout) installs into a fresh Airflow 3.3 venv that lists the provider.

What ``make dist`` does, plus the install check CI must run before a release. The fresh venv
takes Airflow's versions from ``requirements/lock.txt`` (as constraints), so uv serves it from
its cache: offline first, online only if the cache lacks something.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import airflow_provider_seedance

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".tools" / "bin" / "uv"
VERSION = airflow_provider_seedance.__version__
SAMPLE_MEDIA = "airflow_provider_seedance/emulator/assets/sample.mp4"

pytestmark = pytest.mark.slow


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build`` (sdist, then the wheel built from the sdist) into a fresh folder."""
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend (hatchling) comes from the locked venv, not the network.
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)], cwd=ROOT)
    (sdist,) = out.glob("airflow_provider_seedance-*.tar.gz")
    (wheel,) = out.glob("airflow_provider_seedance-*-py3-none-any.whl")
    return {"sdist": sdist, "wheel": wheel}


def _metadata(wheel: Path) -> email.message.EmailMessage:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        raw = zf.read(name).decode()
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_twine_accepts_the_sdist_and_the_wheel(dist: dict[str, Path]) -> None:
    out = _run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]), str(dist["wheel"])],
        cwd=ROOT,
    )
    assert out.count("PASSED") == 2, out
    assert dist["wheel"].name == f"airflow_provider_seedance-{VERSION}-py3-none-any.whl"


def test_the_wheel_metadata_has_the_readme_urls_and_classifiers(dist: dict[str, Path]) -> None:
    meta = _metadata(dist["wheel"])
    assert meta["Name"] == "airflow-provider-seedance"
    assert meta["Version"] == VERSION
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_content().strip() == (ROOT / "README.md").read_text().strip()
    urls = dict(value.split(", ", 1) for value in meta.get_all("Project-URL", []))
    assert {"Homepage", "Documentation", "Source", "Changelog", "Issues"} <= set(urls), urls
    assert all(url.startswith("https://") for url in urls.values()), urls
    classifiers = set(meta.get_all("Classifier", []))
    assert {
        "Framework :: Apache Airflow",
        "Framework :: Apache Airflow :: Provider",
        "Typing :: Typed",
        "Programming Language :: Python :: 3.11",
    } <= classifiers
    assert meta["License-Expression"] == "Apache-2.0"
    assert any(req.startswith("apache-airflow>=3.3") for req in meta.get_all("Requires-Dist", []))


def test_the_wheel_ships_the_emulator_sample_media_and_no_tests(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as zf:
        names = set(zf.namelist())
        assert zf.read(SAMPLE_MEDIA) == (ROOT / SAMPLE_MEDIA).read_bytes()
    assert "airflow_provider_seedance/py.typed" in names
    assert not any(n.startswith(("tests/", "docs/", "dags/", "scripts/")) for n in names), sorted(names)


def test_the_sdist_has_the_sources_docs_and_changelog_but_no_local_state(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    prefix_free = {n for n in names if n}
    for required in ("README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", SAMPLE_MEDIA, "docs/conf.py"):
        assert required in prefix_free, required
    for forbidden in (".venv/", ".tools/", "docs/_build/", ".git/", "__pycache__/"):
        assert not any(forbidden in f"{n}/" or n.startswith(forbidden) for n in prefix_free), forbidden


def _uv_install(venv: Path, wheel: Path, cwd: Path) -> None:
    args = [
        str(UV),
        "pip",
        "install",
        "-q",
        "--python",
        str(venv / "bin" / "python"),
        str(wheel),
        "-c",
        str(ROOT / "requirements" / "lock.txt"),
    ]
    offline = subprocess.run([*args, "--offline"], cwd=cwd, capture_output=True, text=True, timeout=300)
    if offline.returncode != 0:  # something is not in uv's cache yet
        _run(args, cwd=cwd)


def test_the_wheel_alone_installs_into_airflow_and_airflow_lists_it(
    dist: dict[str, Path], tmp_path: Path
) -> None:
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run make setup")
    venv = tmp_path / "venv"
    _run([str(UV), "venv", "-q", "-p", sys.executable, str(venv)], cwd=tmp_path)
    _uv_install(venv, dist["wheel"], tmp_path)  # the wheel only: no checkout, no editable install

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHON"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    listed = _run(
        [str(venv / "bin" / "airflow"), "providers", "list", "--output", "plain"], cwd=tmp_path, env=env
    )
    line = next((ln for ln in listed.splitlines() if ln.startswith("airflow-provider-seedance")), None)
    assert line is not None, listed
    assert VERSION in line.split()

    code = (
        "import airflow_provider_seedance as p, airflow_provider_seedance.emulator.media as m, pathlib\n"
        "print(p.__file__)\n"
        f"print((pathlib.Path(p.__file__).parent / {SAMPLE_MEDIA.split('/', 1)[1]!r}).stat().st_size)\n"
    )
    where, size = _run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=env).split()
    assert where.startswith(str(venv)), where  # the installed wheel, not the checkout
    assert int(size) == (ROOT / SAMPLE_MEDIA).stat().st_size
    assert "usage" in _run([str(venv / "bin" / "seedance-emulator"), "--help"], cwd=tmp_path, env=env)
