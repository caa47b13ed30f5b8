"""200 reservations from several processes against a cap that fits exactly N jobs: exactly N win."""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime, timezone

import pytest

from airflow_provider_seedance.client.errors import SeedanceBudgetExceeded
from airflow_provider_seedance.ledger.budgets import parse_budgets, to_micros
from airflow_provider_seedance.ledger.store import RESERVED, JobSpec, Ledger, TaskIdentity

ESTIMATE = 4.536  # 15 s of 720p fast tier... any amount works; this one is not a round number
FITS = 37
TOTAL = 200
PROCESSES = 8
BUDGETS = {"fal-daily": {"limit_usd": round(ESTIMATE * FITS, 6), "period": "day", "timezone": "Europe/Paris"}}


def _worker(url: str, indices: list[int], start: mp.synchronize.Event, out: mp.Queue) -> None:  # type: ignore[name-defined]
    ledger = Ledger(url)
    ledger.migrate()
    budgets = parse_budgets(BUDGETS)
    spec = JobSpec(platform="fal", account="seedance_fal", estimate_usd=ESTIMATE, estimate_basis="test")
    start.wait()
    won = refused = 0
    errors: list[str] = []
    for i in indices:
        try:
            ledger.reserve(TaskIdentity("grid", "run1", "render", i), spec, budgets)
            won += 1
        except SeedanceBudgetExceeded:
            refused += 1
        except Exception as exc:  # reported to the parent, which fails the test
            errors.append(f"{type(exc).__name__}: {exc}")
    ledger.dispose()
    out.put((won, refused, errors))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_exactly_n_of_200_racing_reservations_fit_the_cap(ledger_url: str) -> None:
    Ledger(ledger_url).migrate()
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    chunks = [list(range(p, TOTAL, PROCESSES)) for p in range(PROCESSES)]
    procs = [ctx.Process(target=_worker, args=(ledger_url, chunk, start, out)) for chunk in chunks]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [e for _, _, errs in results for e in errs] == []
    won = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    assert (won, refused) == (FITS, TOTAL - FITS)

    ledger = Ledger(ledger_url)
    budget = parse_budgets(BUDGETS)[0]
    window = ledger.window(budget, datetime.now(timezone.utc))
    assert window.reserved_micros == FITS * to_micros(ESTIMATE)
    assert window.reserved_micros <= window.limit_micros
    assert len(ledger.entries(states=[RESERVED])) == FITS
