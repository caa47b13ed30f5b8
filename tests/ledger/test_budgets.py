"""Budget settings, windows in a time zone, and Ark's published pricing rule. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_seedance.client.errors import SeedanceBudgetExceeded, SeedanceValidationError
from airflow_provider_seedance.ledger.budgets import covering, normalize_campaign, parse_budgets, to_micros
from airflow_provider_seedance.ledger.costs import ark_cost


def test_every_bad_setting_is_reported_at_once_naming_the_field() -> None:
    with pytest.raises(SeedanceValidationError) as info:
        parse_budgets(
            {
                "a": {"limit_usd": "lots"},
                "b": {"limit_usd": 5, "period": "week", "timezone": "Mars/Olympus", "colour": "red"},
                "c": {"limit_usd": 5, "campaign": 7},
            }
        )
    assert info.value.fields == [
        "budgets.a.limit_usd",
        "budgets.b.colour",
        "budgets.b.period",
        "budgets.b.timezone",
        "budgets.c.campaign",
    ]


def test_a_bare_number_is_a_daily_utc_limit() -> None:
    (budget,) = parse_budgets({"all": 12.5})
    assert (budget.limit_micros, budget.period, budget.timezone) == (12_500_000, "day", "UTC")


def test_days_follow_the_time_zone_across_daylight_saving() -> None:
    (budget,) = parse_budgets({"d": {"limit_usd": 1, "timezone": "Europe/Paris"}})
    window = budget.window_at(datetime(2026, 10, 25, 12, 0, tzinfo=timezone.utc))  # 25 h day in Paris
    assert window.key == "2026-10-25"
    assert window.start == datetime(2026, 10, 24, 22, 0, tzinfo=timezone.utc)
    assert window.end == datetime(2026, 10, 25, 23, 0, tzinfo=timezone.utc)


def test_months_and_totals() -> None:
    month, total = parse_budgets(
        {"m": {"limit_usd": 1, "period": "month"}, "t": {"limit_usd": 1, "period": "total"}}
    )
    moment = datetime(2026, 12, 31, 23, 59, tzinfo=timezone.utc)
    assert month.window_at(moment).key == "2026-12"
    assert month.next_window_at(moment) == datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert total.next_window_at(moment) is None


def test_filters_pick_the_covering_budgets_in_name_order() -> None:
    budgets = parse_budgets(
        {
            "z-all": {"limit_usd": 1},
            "fal": {"limit_usd": 1, "platform": "fal"},
            "spring": {"limit_usd": 1, "campaign": ["spring", "summer"]},
            "grid-only": {"limit_usd": 1, "dag_id": "grid"},
        }
    )
    names = [
        b.name for b in covering(budgets, account="a", platform="fal", campaign=("spring",), dag_id="daily")
    ]
    assert names == ["fal", "spring", "z-all"]


def test_campaign_tags_are_normalised() -> None:
    assert normalize_campaign(" spring, q4 ") == ("q4", "spring")
    assert normalize_campaign(["b", "a,b"]) == ("a", "b")
    assert normalize_campaign(None) == ()


def test_micro_dollars_are_exact() -> None:
    assert to_micros(4.536) * 37 == to_micros(4.536 * 37)


def test_refusal_message_shows_more_digits_when_rounding_would_hide_the_gap() -> None:
    exc = SeedanceBudgetExceeded(budget="b", remaining_usd=4.5355, needed_usd=4.536)
    assert str(exc) == 'budget "b" has $4.5355 left, this job needs up to $4.5360'


def test_ark_cost_follows_the_published_rule() -> None:
    usd, basis = ark_cost(87_300, tier="standard", has_video_inputs=False)
    assert usd == pytest.approx(0.5737, abs=1e-4)  # 87,300 tokens at 46 CNY per million, 7 CNY/USD
    assert "46 CNY/1M" in basis
    usd, _ = ark_cost(1_000_000, tier="fast", has_video_inputs=True)
    assert usd == pytest.approx(22 / 7)
    usd, basis = ark_cost(1_000_000, tier="fast", has_video_inputs=False, usd_per_million={"fast": 5.0})
    assert usd == 5.0
    assert "configured rate" in basis
