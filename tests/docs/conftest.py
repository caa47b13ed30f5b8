"""The documentation site, built once per test session exactly as ``make docs`` builds it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BuiltSite:
    html: Path
    returncode: int
    output: str

    def page(self, docname: str) -> str:
        return (self.html / f"{docname}.html").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run(
        [str(ROOT / "scripts" / "build_docs.sh"), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return BuiltSite(out, proc.returncode, proc.stdout + proc.stderr)
