"""The installed distribution: Airflow finds the provider, the wheel ships py.typed, imports stay light."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

import airflow_provider_seedance

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(airflow_provider_seedance.__file__).parent
AIRFLOW = Path(sys.executable).with_name("airflow")


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a command in a throwaway AIRFLOW_HOME, with no Seedance connection from the outer test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow_home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False
    )


def test_airflow_providers_list_shows_the_provider(tmp_path: Path) -> None:
    proc = _run([str(AIRFLOW), "providers", "list", "--output", "plain"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("airflow-provider-seedance")), None)
    assert line is not None, proc.stdout
    assert airflow_provider_seedance.__version__ in line


def test_airflow_registers_the_seedance_connection_type(tmp_path: Path) -> None:
    proc = _run([str(AIRFLOW), "providers", "hooks", "--output", "plain"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [ln.split() for ln in proc.stdout.splitlines()]
    assert ["seedance", "airflow_provider_seedance.hooks.seedance.SeedanceHook", "seedance_conn_id"] in [
        row[:3] for row in rows
    ], proc.stdout


@pytest.mark.parametrize(
    "module",
    ["airflow_provider_seedance.hooks.seedance", "airflow_provider_seedance.client"],
)
def test_importing_does_not_import_google_cloud_storage_or_the_emulator(tmp_path: Path, module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = ('google.cloud.storage', 'airflow_provider_seedance.emulator', 'fastapi', 'uvicorn')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(heavy)\n"
    )
    proc = _run([sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_py_typed_marker_is_in_the_package() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()


def test_pyproject_registers_the_provider_entry_point_and_typed_classifier() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "airflow-provider-seedance"
    assert project["entry-points"]["apache_airflow_provider"] == {
        "provider_info": "airflow_provider_seedance.get_provider_info:get_provider_info"
    }
    assert "Typing :: Typed" in project["classifiers"]
    assert "Framework :: Apache Airflow :: Provider" in project["classifiers"]


def test_built_wheel_ships_py_typed_and_the_entry_point(tmp_path: Path) -> None:
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv (installed by scripts/bootstrap.sh into .tools/) is not available to build a wheel")
    proc = subprocess.run(
        [uv, "build", "--wheel", "--offline", "-q", "-o", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0 and "offline" in proc.stderr.lower():
        pytest.skip(f"the build backend is not in uv's cache and the network is off: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("airflow_provider_seedance-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_text = zf.read(entry_points).decode()
    assert "airflow_provider_seedance/py.typed" in names
    assert "airflow_provider_seedance/get_provider_info.py" in names
    assert "[apache_airflow_provider]" in entry_text
    assert "provider_info = airflow_provider_seedance.get_provider_info:get_provider_info" in entry_text
    assert not any(n.startswith("tests/") for n in names)
