"""A stand-in for the OpenLineage provider: the two classes the operators' lineage methods import,
so a test can read the facets without the provider installed."""

from __future__ import annotations

import sys
import types

import pytest


class Dataset:
    def __init__(self, namespace: str, name: str) -> None:
        self.namespace, self.name = namespace, name


class OperatorLineage:
    def __init__(self, inputs: list[Dataset], outputs: list[Dataset]) -> None:
        self.inputs, self.outputs = inputs, outputs


def install_fake_openlineage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``Dataset`` and ``OperatorLineage`` importable where the provider has them."""
    facet = types.ModuleType("airflow.providers.common.compat.openlineage.facet")
    facet.Dataset = Dataset  # type: ignore[attr-defined]
    extractors = types.ModuleType("airflow.providers.openlineage.extractors")
    extractors.OperatorLineage = OperatorLineage  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airflow.providers.common.compat.openlineage.facet", facet)
    monkeypatch.setitem(
        sys.modules, "airflow.providers.openlineage", types.ModuleType("airflow.providers.openlineage")
    )
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", extractors)
