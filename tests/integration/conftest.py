"""Shared fixtures: for the proxy tests the price table, the fake OpenAI upstream and its
server; for the org-sync tests the fake organization API, its server, its clock and a store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.prices import PriceTable
from monitor.paths import Paths
from monitor.services.price_files import load_price_table
from monitor.services.store import UsageStore
from tests.fakes import fake_org
from tests.fakes.fake_org import FakeOrg
from tests.fakes.fake_upstream import FakeUpstream
from tests.fakes.server import ServerThread


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return load_price_table()


@pytest.fixture
def fake() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def upstream(fake: FakeUpstream) -> Iterator[ServerThread]:
    with ServerThread(fake.make_app) as server:
        yield server


# --- the fake organization API (org sync, sync progress, `keys add` checks) -------------------

ORG_NOW = datetime(2026, 11, 20, 10, 30, 15, tzinfo=UTC)


class Clock:
    """The time OrgSync and the fake API both read; a test moves it with `clock.now = …`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class OrgSeed:
    """The fake organization's events: a random seed, how many days before ORG_NOW they
    start, and how many there are. A module overrides the `org_seed` fixture for others."""

    seed: int = 20261120
    days: int = 75
    count: int = 2500


@pytest.fixture
def org_seed() -> OrgSeed:
    return OrgSeed()


@pytest.fixture
def clock() -> Clock:
    return Clock(ORG_NOW)


@pytest.fixture
def org(org_seed: OrgSeed, clock: Clock) -> FakeOrg:
    events = fake_org.generate_events(org_seed.seed, ORG_NOW - timedelta(days=org_seed.days),
                                      ORG_NOW - timedelta(minutes=1), org_seed.count)
    return FakeOrg(events=events, now=clock)


@pytest.fixture
def org_server(org: FakeOrg) -> Iterator[ServerThread]:
    with ServerThread(org.make_app) as srv:
        yield srv


@pytest.fixture
def store(paths: Paths) -> Iterator[UsageStore]:
    s = UsageStore(paths.db_file)
    yield s
    s.close()
