"""The open-model arrival schedule: even slots, late users, interleaved processes."""

from __future__ import annotations

import itertools

import pytest

from scenarios.load.arrivals import ArrivalSchedule, Iteration, wait_for


def test_slots_are_evenly_spaced_at_the_target_rate() -> None:
    schedule = ArrivalSchedule(rate_per_s=4, start=1000.0)
    slots = [schedule.next_slot() for _ in range(9)]
    assert slots[0] == 1000.0
    assert [b - a for a, b in itertools.pairwise(slots)] == [0.25] * 8
    assert schedule.taken == 9


def test_each_slot_is_handed_out_once() -> None:
    schedule = ArrivalSchedule(rate_per_s=10, start=0.0)
    assert len({schedule.next_slot() for _ in range(100)}) == 100


def test_a_late_user_gets_an_intended_start_in_the_past_and_starts_at_once() -> None:
    schedule = ArrivalSchedule(rate_per_s=2, start=100.0)
    for _ in range(3):
        schedule.next_slot()
    now = 110.0  # the users were busy: slot 3 (101.5) is long gone
    slot = schedule.next_slot()
    assert slot == 101.5 < now
    assert wait_for(slot, now) == 0.0
    iteration = Iteration(slot=slot, began=now)
    assert iteration.lag_s == pytest.approx(8.5)
    assert iteration.intended_start(now) == slot
    # a later step of the same iteration carries the same queueing delay
    assert iteration.intended_start(now + 2.0) == pytest.approx(slot + 2.0)


def test_an_early_user_waits_for_its_slot_and_has_no_lag() -> None:
    assert wait_for(105.0, 104.25) == 0.75
    iteration = Iteration(slot=105.0, began=105.001)
    assert iteration.intended_start(105.001) == pytest.approx(105.0)
    assert Iteration(slot=105.0, began=104.999).lag_s == 0.0


def test_the_schedules_of_n_processes_interleave_into_one_even_stream() -> None:
    schedules = [ArrivalSchedule.for_process(30, 50.0, i, 3) for i in range(3)]
    assert all(s.rate_per_s == 10 for s in schedules)
    slots = sorted(s.next_slot() for s in schedules for _ in range(10))
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert gaps == pytest.approx([1 / 30] * 29)


def test_processes_starting_at_different_moments_still_interleave() -> None:
    early = ArrivalSchedule.for_process(20, 1000.013, 0, 2)
    late = ArrivalSchedule.for_process(20, 1000.071, 1, 2)
    assert early.slot(0) == pytest.approx(1000.1)  # the next multiple of its period (0.1 s)
    assert late.slot(0) == pytest.approx(1000.15)
    slots = sorted([early.next_slot() for _ in range(10)] + [late.next_slot() for _ in range(10)])
    assert [b - a for a, b in itertools.pairwise(slots)] == pytest.approx([0.05] * 19)
    much_later = ArrivalSchedule.for_process(20, 1003.571, 1, 2)
    assert (much_later.slot(0) - early.slot(0)) % 0.1 == pytest.approx(0.05)


def test_bad_rates_and_indexes_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        ArrivalSchedule(rate_per_s=0, start=0.0)
    with pytest.raises(ValueError, match="index 3"):
        ArrivalSchedule.for_process(10, 0.0, 3, 3)
