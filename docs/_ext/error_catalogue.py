"""Fail the build when an error class the provider raises has no troubleshooting entry.

Every subclass of :class:`~airflow_provider_seedance.client.errors.SeedanceError` (and the
classes in :data:`EXTRA_ERROR_CLASSES`) needs a target ``(error-<ClassName>)=`` on
``guide/troubleshooting``; a missing one is a build warning, so ``sphinx-build -W`` fails.
``tests/docs/test_troubleshooting.py`` checks the same thing on the built HTML.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

TROUBLESHOOTING_DOC = "guide/troubleshooting"
#: Public error classes outside the ``SeedanceError`` hierarchy that users meet.
EXTRA_ERROR_CLASSES = ("airflow_provider_seedance.emulator.testing.EmulatorError",)


def error_classes() -> list[type[BaseException]]:
    """``SeedanceError`` and every subclass of it, plus :data:`EXTRA_ERROR_CLASSES`, by name."""
    from airflow_provider_seedance.client import errors

    found: dict[str, type[BaseException]] = {}
    stack: list[type[BaseException]] = [errors.SeedanceError]
    while stack:
        cls = stack.pop()
        if not cls.__name__.startswith("_"):
            found[cls.__name__] = cls
        stack.extend(cls.__subclasses__())
    for dotted in EXTRA_ERROR_CLASSES:
        module, _, name = dotted.rpartition(".")
        found[name] = getattr(importlib.import_module(module), name)
    return [found[name] for name in sorted(found)]


def anchor_for(cls: type[BaseException]) -> str:
    """The label (and HTML id) of ``cls``'s troubleshooting entry."""
    return f"error-{cls.__name__.lower()}"


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    if TROUBLESHOOTING_DOC not in env.found_docs:
        logger.warning("%s is missing: every error class needs an entry there", TROUBLESHOOTING_DOC)
        return
    labels = env.domaindata["std"]["labels"]
    for cls in error_classes():
        label = anchor_for(cls)
        where = labels.get(label)
        if where is None or where[0] != TROUBLESHOOTING_DOC:
            logger.warning(
                "%s.%s has no troubleshooting entry: add a section with the target (%s)= to %s.md",
                cls.__module__,
                cls.__name__,
                label,
                TROUBLESHOOTING_DOC,
                location=TROUBLESHOOTING_DOC,
            )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-check-consistency", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
