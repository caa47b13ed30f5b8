"""Spend control across runs: a ledger in a real database, budgets that hold under concurrency,
reconciliation with the platforms, and a spend report (the ``ledger`` extra).

* :mod:`.budgets` -- named budgets and their windows (pure).
* :mod:`.schema` -- the tables and their migrations (SQLAlchemy Core).
* :mod:`.store` -- :class:`~.store.Ledger`: atomic reservations and the life of each submit.
* :mod:`.costs` -- actual costs where a platform reports usage (Ark).
* :mod:`.reconcile` -- the platform's job list against the ledger (Ark's task list).
* :mod:`.report` -- CSV and PNG spend report, written to GCS.
* :mod:`.airflow` -- the thin Airflow layer: connections, budget limits, the operator's hook points.

Importing this package imports nothing heavy; see ``docs/budgets.md``.
"""

from __future__ import annotations
