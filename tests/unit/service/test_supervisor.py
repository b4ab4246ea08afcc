"""The supervisor's restart budget: backoff while deaths repeat, and when to give up."""

from __future__ import annotations

import signal

from service.supervisor import MAX_BACKOFF_S, RestartBudget, describe_exit


def test_a_single_death_is_restarted_after_a_short_backoff() -> None:
    assert RestartBudget(limit=10).death(now=100.0) == 0.25


def test_the_backoff_doubles_while_deaths_repeat_up_to_its_cap() -> None:
    budget = RestartBudget(limit=10)
    delays = [budget.death(now=100.0 + i) for i in range(6)]
    assert delays == [0.25, 0.5, 1.0, MAX_BACKOFF_S, MAX_BACKOFF_S, MAX_BACKOFF_S]


def test_more_deaths_than_the_limit_within_a_minute_give_up() -> None:
    budget = RestartBudget(limit=3)
    assert [budget.death(now=t) for t in (0.0, 1.0, 2.0)] == [0.25, 0.5, 1.0]
    assert budget.death(now=3.0) is None


def test_deaths_older_than_a_minute_are_forgiven() -> None:
    budget = RestartBudget(limit=2)
    budget.death(now=0.0)
    budget.death(now=1.0)
    assert budget.death(now=60.5) == 0.5  # the death at 0 s left the window


def test_a_limit_of_zero_gives_up_on_the_first_death() -> None:
    assert RestartBudget(limit=0).death(now=0.0) is None


def test_a_death_is_described_by_its_signal_or_exit_code() -> None:
    assert describe_exit(-signal.SIGKILL) == "SIGKILL"
    assert describe_exit(1) == "exit 1"
    assert describe_exit(0) == "exit 0"
