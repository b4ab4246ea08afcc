"""The read policies' decisions (pure) and the routed-read use case over fakes of the
replica's lag and the members' write marks. The real replica is in
tests/integration/lab/test_read_policies_replica.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from service.config import READ_POLICIES, ConfigError, Settings
from service.domain.availability import ConcertsRead, SeatMapRead, ZonesRead
from service.domain.catalog import Concert, Seat, Zone
from service.domain.reads import (
    TO_PRIMARY,
    TO_REPLICA,
    WRITE_UNKNOWN,
    Freshness,
    ReadPolicy,
    ReadSource,
    Route,
    route,
)
from service.read_ports import Availability, Catalog, ReadStores, ReplicaLag, WriteMarks
from service.usecases.reads import ReadDeps, answered, browser_for, reader_for, wrote
from tests.unit.service.fake_database import FakeUnits, Tables


def test_the_settings_know_every_policy_the_domain_does() -> None:
    assert set(READ_POLICIES) == {p.value for p in ReadPolicy}


def test_an_unknown_policy_is_refused_naming_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"TICKETLAB_READ_POLICY='stale'.*read-your-writes"):
        Settings(read_policy="stale")


@pytest.mark.parametrize("lag_ms", [None, 0, 50_000])
def test_primary_and_replica_ignore_the_lag(lag_ms: int | None) -> None:
    assert route(ReadPolicy.PRIMARY, lag_ms, 1000, "0-1-5") == TO_PRIMARY
    assert route(ReadPolicy.REPLICA, lag_ms, 1000, "0-1-5") == TO_REPLICA


@pytest.mark.parametrize(
    ("lag_ms", "expected"),
    [
        (0, TO_REPLICA),
        (999, TO_REPLICA),
        (1000, TO_PRIMARY),
        (5000, TO_PRIMARY),
        (None, TO_PRIMARY),
    ],
)
def test_bounded_staleness_reads_the_replica_only_while_its_known_lag_is_under_the_bound(
    lag_ms: int | None, expected: Route
) -> None:
    assert route(ReadPolicy.BOUNDED_STALENESS, lag_ms, 1000, None) == expected


def test_read_your_writes_waits_for_the_last_write_and_is_safe_when_it_is_unknown() -> None:
    policy = ReadPolicy.READ_YOUR_WRITES
    assert route(policy, 5000, 1000, None) == TO_REPLICA
    assert route(policy, 5000, 1000, "0-1-42") == Route(replica=True, wait_for="0-1-42")
    assert route(policy, 0, 1000, WRITE_UNKNOWN) == TO_PRIMARY


# -- the use case ---------------------------------------------------------------------------


class NamedCatalog(Catalog):
    """Only its identity matters here: which server a read was routed to."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def concerts(self) -> list[Concert]:
        return []

    async def concert(self, concert_id: int) -> Concert | None:
        return None

    async def zones(self, concert_id: int) -> list[Zone]:
        return []

    async def find_zone(self, concert_id: int, zone_code: str) -> tuple[int, str] | None:
        return None

    async def seats(self, zone_id: int, zone_code: str, row: str | None) -> list[Seat]:
        return []


class NamedAvailability(Availability):
    """Only its identity matters here: which read model or server a browse went to."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def seat_map(self, concert_id: int, zone_code: str) -> SeatMapRead | None:
        return None

    async def zones(self, concert_id: int) -> ZonesRead | None:
        return None

    async def concerts(self) -> ConcertsRead:
        return ConcertsRead([], Freshness(self.name, None, 0), None)


@dataclass
class FakeLag(ReplicaLag):
    """A replica that has applied GTIDs up to ``applied`` (sequence numbers of domain 0)."""

    lag: int | None = 0
    applied: int = 0
    waits: list[tuple[str, float]] = field(default_factory=list)

    def lag_ms(self) -> int | None:
        return self.lag

    async def reached(self, position: str, timeout_s: float) -> bool:
        self.waits.append((position, timeout_s))
        return int(position.split("-")[2]) <= self.applied


@dataclass
class FakeMarks(WriteMarks):
    position: int = 0
    marks: dict[int, str] = field(default_factory=dict)
    broken: bool = False

    async def mark(self, member_id: int) -> None:
        self.position += 1
        self.marks[member_id] = f"0-1-{self.position}"

    async def last(self, member_id: int) -> str | None:
        return WRITE_UNKNOWN if self.broken else self.marks.get(member_id)


def deps(
    policy: ReadPolicy,
    lag: FakeLag,
    marks: FakeMarks | None = None,
    read_model: Availability | None = None,
) -> ReadDeps:
    units = FakeUnits(Tables())
    return ReadDeps(
        policy=policy,
        max_staleness_ms=1000,
        wait_timeout_s=0.5,
        primary=ReadStores(NamedCatalog("primary"), units, NamedAvailability("primary")),
        replica=ReadStores(NamedCatalog("replica"), units, NamedAvailability("replica")),
        lag=lag,
        writes=marks or FakeMarks(),
        read_model=read_model,
    )


async def source(read_deps: ReadDeps, member_id: int | None) -> tuple[str, ReadSource, int]:
    reader = await reader_for(read_deps, member_id)
    catalog = reader.stores.catalog
    assert isinstance(catalog, NamedCatalog)
    return catalog.name, reader.freshness.source, reader.freshness.age_ms


async def test_replica_reads_say_so_with_the_lag_at_the_time_and_primary_reads_say_zero() -> None:
    lag = FakeLag(lag=2300)
    assert await source(deps(ReadPolicy.REPLICA, lag), None) == (
        "replica",
        ReadSource.REPLICA,
        2300,
    )
    assert await source(deps(ReadPolicy.PRIMARY, lag), 7) == ("primary", ReadSource.PRIMARY, 0)
    assert await source(deps(ReadPolicy.BOUNDED_STALENESS, lag), 7) == (
        "primary",
        ReadSource.PRIMARY,
        0,
    )


async def test_read_your_writes_waits_for_the_members_own_write_only() -> None:
    lag, marks = FakeLag(lag=2000, applied=1), FakeMarks()
    read_deps = deps(ReadPolicy.READ_YOUR_WRITES, lag, marks)
    await wrote(read_deps, 7)  # 0-1-1: the replica has it
    assert (await source(read_deps, 7))[0] == "replica"
    await wrote(read_deps, 7)  # 0-1-2: the replica lags behind it
    assert (await source(read_deps, 7))[0] == "primary"
    assert lag.waits == [("0-1-1", 0.5), ("0-1-2", 0.5)]
    assert (await source(read_deps, 8))[0] == "replica"  # another member never waits
    assert (await source(read_deps, None))[0] == "replica"
    assert len(lag.waits) == 2


async def test_writes_are_marked_only_under_read_your_writes_and_unknown_marks_read_primary() -> (
    None
):
    marks = FakeMarks()
    await wrote(deps(ReadPolicy.REPLICA, FakeLag(), marks), 7)
    assert marks.marks == {}
    marks.broken = True
    assert (await source(deps(ReadPolicy.READ_YOUR_WRITES, FakeLag(), marks), 7))[0] == "primary"


async def test_browsing_reads_the_read_model_when_it_is_on_whatever_the_policy() -> None:
    cache = NamedAvailability("cache")
    browse = await browser_for(deps(ReadPolicy.REPLICA, FakeLag(lag=2300), read_model=cache), 7)
    assert browse.stores.availability is cache and browse.freshness.source == ReadSource.CACHE
    own = Freshness(ReadSource.CACHE, 12, 40)
    assert answered(browse, own) == own  # the read model says its own age


async def test_browsing_without_the_read_model_goes_where_the_policy_routes() -> None:
    browse = await browser_for(deps(ReadPolicy.REPLICA, FakeLag(lag=2300)), None)
    availability = browse.stores.availability
    assert isinstance(availability, NamedAvailability) and availability.name == "replica"
    read = Freshness(ReadSource.REPLICA, 12, 0)  # the database read knows its version only
    assert answered(browse, read) == Freshness(ReadSource.REPLICA, 12, 2300)
    browse = await browser_for(deps(ReadPolicy.PRIMARY, FakeLag(lag=2300)), None)
    assert answered(browse, Freshness(ReadSource.PRIMARY, 3, 0)) == Freshness("primary", 3, 0)
