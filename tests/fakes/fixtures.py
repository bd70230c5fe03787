"""Pytest fixtures for the local test doubles.

Import them into a conftest (or a test module) to make them available::

    from tests.fakes.fixtures import fake_slack, feed_server  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer with no routes; stopped after the test."""
    with FeedServer() as server:
        yield server


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started FakeSlack expecting the token ``xoxb-test-token``."""
    with FakeSlack() as server:
        yield server
