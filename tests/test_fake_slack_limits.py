"""The Slack fake enforces what Slack enforces: a per-channel rate limit with
Retry-After, outages, hangs, response URLs and incoming webhooks."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.fakes.clock import FakeTime
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def timed() -> tuple[FakeSlack, FakeTime]:
    clock = FakeTime()
    with FakeSlack(burst=3, clock=clock.monotonic) as slack:
        yield slack, clock


def post(slack: FakeSlack, channel: str = "#a") -> int:
    client = WebClient(token=slack.token, base_url=slack.url)
    try:
        client.chat_postMessage(channel=channel, text="hi")
    except SlackApiError as exc:
        assert exc.response["error"] == "ratelimited"
        return int(exc.response.headers["Retry-After"])
    return 0


def test_a_burst_of_three_then_429_with_retry_after_then_one_a_second(
    timed: tuple[FakeSlack, FakeTime],
) -> None:
    slack, clock = timed
    assert [post(slack) for _ in range(3)] == [0, 0, 0]
    assert post(slack) == 1
    assert post(slack, "#other") == 0  # per channel
    clock.advance(1)
    assert post(slack) == 0
    assert post(slack) == 1
    assert slack.rate_limited == 2 and len(slack.messages) == 5


def test_a_call_before_retry_after_is_recorded_as_early(
    timed: tuple[FakeSlack, FakeTime],
) -> None:
    slack, clock = timed
    for _ in range(4):
        post(slack)
    clock.advance(0.5)
    post(slack)
    assert len(slack.early_calls) == 1
    clock.advance(5)
    post(slack)
    assert len(slack.early_calls) == 1


def test_down_for_answers_503_until_the_clock_passes(
    timed: tuple[FakeSlack, FakeTime],
) -> None:
    slack, clock = timed
    slack.down_for(120)
    with pytest.raises(SlackApiError) as caught:
        WebClient(token=slack.token, base_url=slack.url).auth_test()
    assert caught.value.response.status_code == 503
    clock.advance(120)
    assert WebClient(token=slack.token, base_url=slack.url).auth_test()["ok"]


def test_a_hung_call_times_out_and_is_not_processed(
    timed: tuple[FakeSlack, FakeTime],
) -> None:
    slack, _ = timed
    slack.hang_next("chat.postMessage", seconds=1.5)
    with pytest.raises(TimeoutError):
        WebClient(token=slack.token, base_url=slack.url, timeout=1).chat_postMessage(
            channel="#a", text="hi"
        )
    assert slack.messages == []


def test_response_urls_and_webhooks_take_json_and_check_blocks(
    timed: tuple[FakeSlack, FakeTime],
) -> None:
    slack, _ = timed
    ok = httpx.post(slack.response_url("x"), json={"text": "hello"})
    assert (ok.status_code, ok.text) == (200, "ok")
    too_big = {"text": "t", "blocks": [{"type": "divider"}] * 51}
    refused = httpx.post(slack.webhook_url("#a"), json=too_big)
    assert (refused.status_code, refused.text) == (400, "invalid_blocks")
    httpx.post(slack.webhook_url("#a"), json={"text": "to #a"})
    assert [m.channel for m in slack.messages] == ["#a"]
    assert [path for path, _ in slack.responses] == [
        "/response/T1/x",
        "/services/T1/B1/a",
    ]
