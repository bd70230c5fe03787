"""The test doubles must behave like the real services, or tests built on them lie."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Seimas — naujienos</title>
<item><title>Ottawa Convention withdrawal debated</title>
<link>https://example.test/1</link></item></channel></rss>"""

ALERT_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Treaty exit talk"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Seimas* debated leaving the Ottawa"},
        "fields": [{"type": "mrkdwn", "text": "lt · 2 hits"}],
    },
    {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "<https://example.test/1|source>"}],
    },
]


def client_for(slack: FakeSlack, token: str | None = None, **kwargs: Any) -> WebClient:
    return WebClient(token=token or slack.token, base_url=slack.url, **kwargs)


# --- FeedServer ----------------------------------------------------------------


def test_feed_server_serves_registered_body_with_content_type(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/lt.xml", RSS)

    response = httpx.get(feed_server.url("/lt.xml"))

    assert response.status_code == 200
    assert response.content == RSS.encode("utf-8")
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"


def test_feed_server_sends_validators_then_304_for_matching_etag(
    feed_server: FeedServer,
) -> None:
    feed_server.add(
        "/feed", RSS, etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"
    )

    first = httpx.get(feed_server.url("/feed"))
    again = httpx.get(feed_server.url("/feed"), headers={"If-None-Match": '"v1"'})

    assert first.headers["etag"] == '"v1"'
    assert first.headers["last-modified"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert again.status_code == 304
    assert again.content == b""


def test_feed_server_sends_full_body_for_stale_etag(feed_server: FeedServer) -> None:
    feed_server.add("/feed", RSS, etag='"v2"')

    response = httpx.get(feed_server.url("/feed"), headers={"If-None-Match": '"v1"'})

    assert response.status_code == 200
    assert response.content == RSS.encode("utf-8")


def test_feed_server_answers_304_for_matching_if_modified_since(
    feed_server: FeedServer,
) -> None:
    stamp = "Tue, 02 Jan 2024 10:00:00 GMT"
    feed_server.add("/feed", RSS, last_modified=stamp)

    response = httpx.get(feed_server.url("/feed"), headers={"If-Modified-Since": stamp})

    assert response.status_code == 304


def test_feed_server_answers_404_for_unknown_path(feed_server: FeedServer) -> None:
    assert httpx.get(feed_server.url("/nope.xml")).status_code == 404


def test_feed_server_redirect_is_followed(feed_server: FeedServer) -> None:
    feed_server.add("/new.xml", RSS)
    feed_server.add_redirect("/old.xml", "/new.xml")

    response = httpx.get(feed_server.url("/old.xml"), follow_redirects=True)

    assert response.status_code == 200
    assert response.content == RSS.encode("utf-8")
    assert [r.status_code for r in response.history] == [301]
    assert [r.path for r in feed_server.requests] == ["/old.xml", "/new.xml"]


def test_feed_server_honours_status_headers_and_route_replacement(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/feed", "old")
    feed_server.add(
        "/feed",
        b"<busy/>",
        status=503,
        content_type="text/xml",
        headers={"Retry-After": "30"},
    )

    response = httpx.get(feed_server.url("/feed"))

    assert response.status_code == 503
    assert response.content == b"<busy/>"
    assert response.headers["retry-after"] == "30"
    assert response.headers["content-type"] == "text/xml"


def test_feed_server_records_requests_with_lowercase_headers(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/feed", RSS)

    httpx.get(feed_server.url("/feed"), headers={"User-Agent": "normwatch/test"})
    httpx.get(feed_server.url("/feed?cb=1"))

    first = feed_server.requests[0]
    assert (first.method, first.path) == ("GET", "/feed")
    assert first.headers["user-agent"] == "normwatch/test"
    assert feed_server.count("/feed") == 2  # query strings still hit the route
    assert feed_server.count("/feed?cb=1") == 1


# --- FakeSlack -----------------------------------------------------------------


def test_fake_slack_post_with_blocks_returns_ok_ts_and_records_message(
    fake_slack: FakeSlack,
) -> None:
    client = client_for(fake_slack)

    response = client.chat_postMessage(
        channel="C0CHANNEL",
        text="Treaty exit talk",
        blocks=ALERT_BLOCKS,
        unfurl_links=False,
    )

    assert response["ok"] is True
    assert response["channel"] == "C0CHANNEL"
    assert response["ts"] == "1700000000.000100"
    [message] = fake_slack.messages
    assert (message.channel, message.text, message.ts) == (
        "C0CHANNEL",
        "Treaty exit talk",
        response["ts"],
    )
    assert message.blocks == ALERT_BLOCKS
    assert message.unfurl_links is False
    assert message.unfurl_media is None


def test_fake_slack_maps_channel_names_to_stable_ids_and_increasing_ts(
    fake_slack: FakeSlack,
) -> None:
    client = client_for(fake_slack)

    first = client.chat_postMessage(channel="#normwatch", text="one")
    second = client.chat_postMessage(channel="normwatch", text="two")

    assert first["channel"] == second["channel"] == FakeSlack.channel_id("#normwatch")
    assert first["channel"].startswith("C")
    assert float(second["ts"]) > float(first["ts"])
    assert fake_slack.messages[0].channel == "#normwatch"


def test_fake_slack_wrong_token_raises_invalid_auth(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        client_for(fake_slack, token="xoxb-wrong").chat_postMessage(
            channel="C0CHANNEL", text="hi"
        )

    assert caught.value.response["error"] == "invalid_auth"
    assert fake_slack.messages == []


def test_fake_slack_missing_authorization_is_not_authed(fake_slack: FakeSlack) -> None:
    response = httpx.post(fake_slack.url + "auth.test")

    assert response.status_code == 200
    assert response.json() == {"ok": False, "error": "not_authed"}


def test_fake_slack_auth_test_returns_bot_identity(fake_slack: FakeSlack) -> None:
    response = client_for(fake_slack).auth_test()

    assert response["user_id"] == "UBOT"
    assert response["bot_id"] == "B1"


def test_fake_slack_decodes_form_encoded_blocks(fake_slack: FakeSlack) -> None:
    # api_call(params=...) is how WebClient sends form bodies; blocks travel as JSON.
    client_for(fake_slack).api_call(
        "chat.postMessage",
        params={"channel": "C0CHANNEL", "blocks": json.dumps(ALERT_BLOCKS)},
    )

    assert fake_slack.messages[0].blocks == ALERT_BLOCKS


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"text": "no channel"}, "channel_not_found"),
        ({"channel": "C0CHANNEL"}, "no_text"),
        (
            {"channel": "C0CHANNEL", "blocks": [{"type": "divider"}] * 51},
            "invalid_blocks",
        ),
        (
            {
                "channel": "C0CHANNEL",
                "blocks": [
                    {
                        "type": "header",
                        "text": {"type": "plain_text", "text": "x" * 151},
                    }
                ],
            },
            "invalid_blocks",
        ),
        (
            {
                "channel": "C0CHANNEL",
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
                ],
            },
            "invalid_blocks",
        ),
    ],
    ids=["no-channel", "no-text", "51-blocks", "long-header", "long-section"],
)
def test_fake_slack_rejects_invalid_post_message(
    fake_slack: FakeSlack, params: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        client_for(fake_slack).api_call("chat.postMessage", json=params)

    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error
    assert fake_slack.messages == []


def test_fake_slack_accepts_blocks_exactly_at_limits(fake_slack: FakeSlack) -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3000}},
        *[{"type": "divider"}] * 48,
    ]

    response = client_for(fake_slack).chat_postMessage(
        channel="C0CHANNEL", text="t", blocks=blocks
    )

    assert response["ok"] is True


def test_fake_slack_chat_update_replaces_message_and_records_update(
    fake_slack: FakeSlack,
) -> None:
    client = client_for(fake_slack)
    posted = client.chat_postMessage(channel="#alerts", text="first")

    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")

    assert [m.text for m in fake_slack.messages] == ["edited"]
    assert [(u.ts, u.text) for u in fake_slack.updates] == [(posted["ts"], "edited")]


def test_fake_slack_chat_update_of_unknown_ts_is_message_not_found(
    fake_slack: FakeSlack,
) -> None:
    client = client_for(fake_slack)
    client.chat_postMessage(channel="C0CHANNEL", text="first")

    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C0CHANNEL", ts="1.000000", text="edited")

    assert caught.value.response["error"] == "message_not_found"
    assert fake_slack.updates == []


def test_fake_slack_conversations_join_succeeds(fake_slack: FakeSlack) -> None:
    response = client_for(fake_slack).conversations_join(channel="C0CHANNEL")

    assert response["channel"]["id"] == "C0CHANNEL"


def test_fake_slack_unknown_method_is_reported(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as caught:
        client_for(fake_slack).api_call("chat.scheduleMessage", json={"x": 1})

    assert caught.value.response["error"] == "unknown_method"


def test_fake_slack_fail_next_429_reaches_client_without_retry_handler(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.fail_next("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as caught:
        client_for(fake_slack).chat_postMessage(channel="C0CHANNEL", text="hi")

    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["Retry-After"] == "7"
    assert fake_slack.messages == []


def test_fake_slack_rate_limit_retry_handler_succeeds_on_retry(
    fake_slack: FakeSlack,
) -> None:
    # retry_after=0 keeps the handler's sleep under a second.
    fake_slack.fail_next("chat.postMessage", retry_after=0)
    client = client_for(
        fake_slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )

    response = client.chat_postMessage(channel="C0CHANNEL", text="hi")

    assert response["ok"] is True
    assert [m.text for m in fake_slack.messages] == ["hi"]
    assert [method for method, _ in fake_slack.calls] == ["chat.postMessage"] * 2


def test_fake_slack_fail_next_applies_times_then_recovers(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.fail_next("chat.postMessage", error="fatal_error", status=500, times=2)
    client = client_for(fake_slack)

    statuses = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            client.chat_postMessage(channel="C0CHANNEL", text="hi")
        statuses.append(caught.value.response.status_code)

    assert statuses == [500, 500]
    assert client.chat_postMessage(channel="C0CHANNEL", text="hi")["ok"] is True


def test_fake_slack_fail_channel_rejects_only_that_channel(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.fail_channel("#archived", error="is_archived")
    client = client_for(fake_slack)

    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="#archived", text="hi")

    assert caught.value.response["error"] == "is_archived"
    assert client.chat_postMessage(channel="#alerts", text="hi")["ok"] is True


def test_fake_slack_set_down_answers_503_until_back_up(fake_slack: FakeSlack) -> None:
    client = client_for(fake_slack)
    fake_slack.set_down(True)

    with pytest.raises(SlackApiError) as caught:
        client.auth_test()

    assert caught.value.response.status_code == 503
    fake_slack.set_down(False)
    assert client.auth_test()["ok"] is True


def test_fake_slack_texts_include_text_nested_in_blocks(fake_slack: FakeSlack) -> None:
    client_for(fake_slack).chat_postMessage(
        channel="C0CHANNEL", text="Treaty exit talk", blocks=ALERT_BLOCKS
    )

    [text] = fake_slack.texts()

    for fragment in ("Treaty exit talk", "*Seimas* debated", "lt · 2 hits", "|source>"):
        assert fragment in text


def test_fake_slack_records_every_call_including_failures(
    fake_slack: FakeSlack,
) -> None:
    client_for(fake_slack).auth_test()
    with pytest.raises(SlackApiError):
        client_for(fake_slack, token="xoxb-wrong").auth_test()

    assert [method for method, _ in fake_slack.calls] == ["auth.test", "auth.test"]
