"""Fixtures of the proxy tests: the price table, the fake OpenAI upstream and its server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.core.pricing import PriceTable, load_price_table
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
