"""Named spend budgets: what a budget covers, its limit, and its windows. Pure, no I/O.

A budget is read from a plain dict (the Airflow layer takes it from a connection's extra or an
Airflow Variable)::

    {
        "fal-daily": {"limit_usd": 200, "period": "day", "timezone": "Europe/Paris",
                      "account": "seedance_fal"},
        "spring": {"limit_usd": 50, "period": "total", "campaign": "spring-2027"},
        "ark-monthly": {"limit_usd": 3000, "period": "month", "platform": ["byteplus", "volcengine"]},
    }

* ``limit_usd`` (required): a non-negative number.
* ``period``: ``day`` (a calendar day in ``timezone``), ``month`` (a calendar month in
  ``timezone``) or ``total`` (no window: the limit holds for ever). Default ``day``.
* ``timezone``: an IANA name (default ``UTC``); days and months start at local midnight.
* Filters, each a string or a list of strings; a budget covers a job when every filter it sets
  matches: ``account`` (the Seedance connection id), ``platform``, ``campaign`` (any of the
  job's campaign tags), ``dag_id``. A budget with no filter covers every job.

Money is held in integer micro-dollars (``usd * 1_000_000``): sums are exact, so a cap that
fits exactly N jobs admits exactly N.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow_provider_seedance.client.errors import FieldError, SeedanceValidationError

MICROS = 1_000_000
PERIODS: tuple[str, ...] = ("day", "month", "total")
FILTERS: tuple[str, ...] = ("account", "platform", "campaign", "dag_id")
_KNOWN_KEYS = frozenset({"limit_usd", "period", "timezone", *FILTERS})
#: The window key of a ``total`` budget.
TOTAL_WINDOW = "total"


def to_micros(usd: float) -> int:
    """USD to integer micro-dollars, rounded half up (an estimate is never rounded down to 0)."""
    return round(float(usd) * MICROS)


def to_usd(micros: int) -> float:
    return micros / MICROS


@dataclass(frozen=True)
class Window:
    """One budget window: its key (``2026-12-01``, ``2026-12``, ``total``) and UTC bounds."""

    key: str
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class Budget:
    """A named limit over the jobs its filters match, per window."""

    name: str
    limit_micros: int
    period: str = "day"
    timezone: str = "UTC"
    account: tuple[str, ...] = ()
    platform: tuple[str, ...] = ()
    campaign: tuple[str, ...] = ()
    dag_id: tuple[str, ...] = ()
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tz", ZoneInfo(self.timezone))

    @property
    def limit_usd(self) -> float:
        return to_usd(self.limit_micros)

    def covers(
        self, *, account: str, platform: str, campaign: Iterable[str] = (), dag_id: str | None = None
    ) -> bool:
        """True when every filter this budget sets matches the job."""
        if self.account and account not in self.account:
            return False
        if self.platform and platform not in self.platform:
            return False
        if self.campaign and not set(self.campaign) & set(campaign):
            return False
        return not (self.dag_id and dag_id not in self.dag_id)

    def window_at(self, moment: datetime) -> Window:
        """The window holding ``moment`` (an aware datetime)."""
        if self.period == "total":
            return Window(TOTAL_WINDOW, None, None)
        local = moment.astimezone(self._tz)
        if self.period == "day":
            start_local = datetime(local.year, local.month, local.day, tzinfo=self._tz)
            nxt = start_local.date() + timedelta(days=1)
            end_local = datetime(nxt.year, nxt.month, nxt.day, tzinfo=self._tz)
            key = start_local.date().isoformat()
        else:
            start_local = datetime(local.year, local.month, 1, tzinfo=self._tz)
            year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
            end_local = datetime(year, month, 1, tzinfo=self._tz)
            key = f"{local.year:04d}-{local.month:02d}"
        return Window(key, start_local.astimezone(timezone.utc), end_local.astimezone(timezone.utc))

    def next_window_at(self, moment: datetime) -> datetime | None:
        """When the window after the one holding ``moment`` opens (UTC), None for ``total``."""
        return self.window_at(moment).end

    def windows_in_month(self, moment: datetime) -> int:
        """How many of this budget's windows the calendar month of ``moment`` holds."""
        if self.period != "day":
            return 1
        local = moment.astimezone(self._tz)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return (datetime(year, month, 1) - datetime(local.year, local.month, 1)).days

    def describe(self) -> str:
        scope = [f"{name}={'|'.join(getattr(self, name))}" for name in FILTERS if getattr(self, name)]
        period = "in all" if self.period == "total" else f"per {self.period} ({self.timezone})"
        return f"{self.name}: ${self.limit_usd:.2f} {period}" + (f" for {', '.join(scope)}" if scope else "")


def is_time_zone(name: object) -> bool:
    """True for a valid IANA time zone name."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    return None


def parse_budgets(
    data: Mapping[str, Any] | None, *, defaults: Mapping[str, Any] | None = None, source: str = "budgets"
) -> list[Budget]:
    """Budgets from ``{name: {limit_usd, period, timezone, filters...}}``; every problem at once.

    ``defaults`` fill keys a budget does not set (the Airflow layer scopes the budgets of a
    Seedance connection's extra to that connection with ``{"account": conn_id}``). Problems are
    reported as one :class:`SeedanceValidationError` whose lines name ``<source>.<name>.<key>``.
    """
    if data is None:
        return []
    if not isinstance(data, Mapping):
        raise SeedanceValidationError(
            [FieldError(source, f"must be a mapping of budget name to settings, got {type(data).__name__}")]
        )
    errors: list[FieldError] = []
    budgets: list[Budget] = []
    for name, raw in data.items():
        where = f"{source}.{name}"
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError(source, f"budget names must be non-empty strings, got {name!r}"))
            continue
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = {"limit_usd": raw}
        if not isinstance(raw, Mapping):
            errors.append(FieldError(where, "must be a mapping with at least limit_usd"))
            continue
        spec = {**(defaults or {}), **raw}
        for key in sorted(set(raw) - _KNOWN_KEYS):
            errors.append(
                FieldError(f"{where}.{key}", f"is not a budget setting ({', '.join(sorted(_KNOWN_KEYS))})")
            )
        limit = spec.get("limit_usd")
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0 or limit != limit:
            errors.append(FieldError(f"{where}.limit_usd", f"must be a non-negative number, got {limit!r}"))
            limit = 0
        period = spec.get("period", "day")
        if period not in PERIODS:
            errors.append(
                FieldError(f"{where}.period", f"must be one of {', '.join(PERIODS)}, got {period!r}")
            )
            period = "day"
        tz = spec.get("timezone", "UTC")
        if not is_time_zone(tz):
            errors.append(FieldError(f"{where}.timezone", f"must be an IANA time zone name, got {tz!r}"))
            tz = "UTC"
        filters: dict[str, tuple[str, ...]] = {}
        for key in FILTERS:
            if key not in spec or spec[key] in (None, "", []):
                continue
            values = _strings(spec[key])
            if values is None:
                errors.append(
                    FieldError(f"{where}.{key}", f"must be a string or a list of strings, got {spec[key]!r}")
                )
                continue
            filters[key] = values
        budgets.append(
            Budget(name=name, limit_micros=to_micros(limit), period=period, timezone=tz, **filters)
        )
    if errors:
        raise SeedanceValidationError(errors)
    return sorted(budgets, key=lambda b: b.name)


def covering(
    budgets: Sequence[Budget],
    *,
    account: str,
    platform: str,
    campaign: Iterable[str] = (),
    dag_id: str | None = None,
) -> list[Budget]:
    """The budgets that cover a job, sorted by name (the lock order of a reservation)."""
    tags = tuple(campaign)
    return sorted(
        (b for b in budgets if b.covers(account=account, platform=platform, campaign=tags, dag_id=dag_id)),
        key=lambda b: b.name,
    )


def normalize_campaign(campaign: str | Iterable[str] | None) -> tuple[str, ...]:
    """Campaign tags as a sorted tuple of unique, stripped, non-empty strings (commas split)."""
    if campaign is None:
        return ()
    items = [campaign] if isinstance(campaign, str) else list(campaign)
    tags: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise SeedanceValidationError([FieldError("campaign", f"tags must be strings, got {item!r}")])
        tags.update(t.strip() for t in item.split(",") if t.strip())
    return tuple(sorted(tags))
