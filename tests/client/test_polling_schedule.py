"""The Poller's scale schedule: jitter, phased first poll, adaptive sleeps, learned durations."""

from __future__ import annotations

import random

import pytest

from airflow_provider_seedance.client.models import JobRef, JobState, JobStatus
from airflow_provider_seedance.client.polling import (
    DEFAULT_MAX_INTERVAL,
    SCALE_SCHEDULE,
    Fetch,
    Poller,
    Sleep,
    TypicalDurations,
)
from benchmarks.bench_polls import SimulatedJob, simulate

REF = JobRef(platform="fal", request_id="req-1")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _status(state: JobState, **kwargs: object) -> JobStatus:
    return JobStatus(request_id="req-1", state=state, raw_status="X", **kwargs)  # type: ignore[arg-type]


def test_defaults_are_the_exact_fixed_interval() -> None:
    clock = Clock()
    poller = Poller(ref=REF, end_time=1000.0, poll_interval=10.0, clock=clock)
    assert poller.step() == Fetch()
    assert poller.step(_status(JobState.RUNNING, progress=10.0)) == Sleep(10.0)


def test_jitter_spreads_sleeps_within_the_bounds() -> None:
    clock = Clock()
    poller = Poller(ref=REF, end_time=1e9, poll_interval=10.0, jitter=0.15, clock=clock, rng=random.Random(1))
    sleeps = [poller.sleep_for(0.0) for _ in range(500)]
    assert all(8.5 <= s <= 11.5 for s in sleeps)
    assert max(sleeps) - min(sleeps) > 2.0


def test_the_first_poll_is_phased_within_one_interval() -> None:
    firsts = []
    for seed in range(200):
        poller = Poller(
            ref=REF,
            end_time=1e9,
            poll_interval=10.0,
            first_poll_phase=True,
            rng=random.Random(seed),
            clock=Clock(),
        )
        step = poller.step()
        assert isinstance(step, Sleep)
        firsts.append(step.seconds)
        assert poller.step() == Fetch()
    assert all(0 <= s <= 10 for s in firsts)
    assert min(firsts) < 1
    assert max(firsts) > 9


def test_a_draining_queue_lengthens_the_sleep_up_to_the_cap() -> None:
    clock = Clock()
    poller = Poller(ref=REF, end_time=1e9, poll_interval=10.0, adaptive=True, clock=clock)
    poller.step()
    poller.step(_status(JobState.QUEUED, queue_position=100))  # no rate known yet
    assert poller.sleep_for(clock.now) == 10.0
    clock.now = 10.0
    poller.step()
    poller.step(_status(JobState.QUEUED, queue_position=90))  # 1 position per second: ~90 s to go
    assert poller.sleep_for(clock.now) == pytest.approx(45.0)
    poller.step()
    clock.now = 20.0
    poller.step(_status(JobState.QUEUED, queue_position=2000 - 1990))  # far ahead? capped
    assert poller.sleep_for(clock.now) <= DEFAULT_MAX_INTERVAL


def test_progress_estimates_the_remaining_time_at_half() -> None:
    clock = Clock()
    poller = Poller(ref=REF, end_time=1e9, poll_interval=10.0, adaptive=True, clock=clock)
    poller.step()
    poller.step(_status(JobState.RUNNING, progress=1.0))
    clock.now = 40.0
    poller.step()
    poller.step(_status(JobState.RUNNING, progress=50.0))  # 40 s for half: ~40 s left
    assert poller.sleep_for(clock.now) == pytest.approx(20.0)
    clock.now = 75.0
    poller.step()
    poller.step(_status(JobState.RUNNING, progress=95.0))  # nearly done: back to the interval
    assert poller.sleep_for(clock.now) == 10.0


def test_errors_back_off_as_before_even_when_adaptive() -> None:
    from airflow_provider_seedance.client.errors import SeedanceServerError

    poller = Poller(ref=REF, end_time=1e9, poll_interval=10.0, adaptive=True, clock=Clock())
    poller.step()
    assert poller.step(SeedanceServerError("HTTP 503", status_code=503)) == Sleep(10.0)


def test_learned_durations_need_samples_and_give_a_low_quantile() -> None:
    durations = TypicalDurations(min_samples=5, quantile=0.1)
    kind = ("fal", "standard")
    for seconds in (100, 110, 120, 130):
        durations.observe(kind, seconds)
    assert durations.lower_bound(kind) is None
    durations.observe(kind, 140)
    assert durations.lower_bound(kind) == 100


def test_a_succeeded_job_feeds_the_learned_durations() -> None:
    clock = Clock()
    durations = TypicalDurations(min_samples=1)
    poller = Poller(
        ref=REF, end_time=1e9, poll_interval=10.0, started_at=0.0, durations=durations, clock=clock
    )
    poller.step()
    clock.now = 123.0
    poller.step(_status(JobState.SUCCEEDED))
    assert durations.lower_bound(("fal", "standard")) == 123.0


@pytest.mark.parametrize("duration", [20.0, 300.0, 900.0])
def test_the_scale_schedule_keeps_lag_within_the_jittered_interval(duration: float) -> None:
    schedule = {k: v for k, v in SCALE_SCHEDULE.items() if k != "durations"}
    for info in ({}, {"queue_info": True}, {"progress_info": True}):
        for seed in range(40):
            calls, lag = simulate(SimulatedJob(duration, **info), seed=seed, schedule=schedule)  # type: ignore[arg-type]
            assert 0 <= lag <= 10.0 * 1.15 + 1e-6, (info, seed, lag)
            assert calls <= duration / 10.0 + 3


def test_progress_and_a_minimal_duration_cut_the_calls_of_a_long_job() -> None:
    schedule = {k: v for k, v in SCALE_SCHEDULE.items() if k != "durations"}
    fixed, _ = simulate(SimulatedJob(900.0), seed=0, schedule={})
    with_progress = [
        simulate(SimulatedJob(900.0, progress_info=True), seed=s, schedule=schedule)[0] for s in range(20)
    ]
    minimal = {**schedule, "started_at": 0.0, "expected_seconds": 720.0}
    with_minimum = [simulate(SimulatedJob(900.0), seed=s, schedule=minimal)[0] for s in range(20)]
    assert max(with_progress) < 0.6 * fixed
    assert max(with_minimum) < 0.6 * fixed


def test_a_known_minimal_duration_moves_the_phased_first_poll_past_it() -> None:
    clock = Clock()
    poller = Poller(
        ref=REF,
        end_time=1e12,
        poll_interval=10.0,
        first_poll_phase=True,
        adaptive=True,
        started_at=0.0,
        expected_seconds=20.0,
        clock=clock,
        rng=random.Random(3),
    )
    step = poller.step()
    assert isinstance(step, Sleep)
    assert 18.0 <= step.seconds <= 28.0
