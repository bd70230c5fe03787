"""The Slack app, over Socket Mode (slack-bolt): `/normwatch` and the buttons.

Socket Mode needs no public URL: the app opens a websocket to Slack with the
app-level token (`SLACK_APP_TOKEN`, `xapp-…`). Every request is acknowledged
first (Slack waits 3 seconds at most), then answered: slash commands
ephemerally through their `response_url`; a "Relevant"/"Not relevant" click
is stored as feedback and the alert is updated to show who said what.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.alert import (
    NOT_RELEVANT_ACTION,
    RELEVANT_ACTION,
)
from bot.commands import Answer, answer
from bot.runtime import Runtime
from bot.verdicts import verdicts_on, with_verdict
from storage.db import transaction
from storage.feedback import record_feedback

log = logging.getLogger("normwatch.app")

COMMAND = "/normwatch"


def build_app(
    rt: Runtime, client: WebClient, *, process_before_response: bool = False
) -> App:
    # Socket Mode requests come over our own authenticated websocket: no
    # signing secret to check.
    app = App(
        client=client,
        request_verification_enabled=False,
        process_before_response=process_before_response,
    )

    @app.command(COMMAND)
    def on_command(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        try:
            reply = answer(rt, str(command.get("text") or ""))
        except SQLAlchemyError as exc:
            log.error("app: database error answering %s: %s", COMMAND, exc)
            reply = Answer(
                "normwatch cannot read its database right now; try again in a minute.",
                [],
            )
        respond(text=reply.text, blocks=reply.blocks or None, response_type="ephemeral")

    @app.action(RELEVANT_ACTION)
    @app.action(NOT_RELEVANT_ACTION)
    def on_feedback(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        judge(rt, client, body, action, respond)

    return app


def judge(
    rt: Runtime,
    client: WebClient,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: Respond,
) -> None:
    verdict = (
        "relevant" if action.get("action_id") == RELEVANT_ACTION else "not_relevant"
    )
    hit_ids = [int(v) for v in str(action.get("value") or "").split(",") if v.isdigit()]
    user = body.get("user") or {}
    name = str(user.get("username") or user.get("name") or user.get("id") or "someone")
    who = f"{name} ({user.get('id', '?')})"
    now = rt.clock()
    try:
        with transaction(rt.sessions) as session:
            stored = record_feedback(
                session, hit_ids, verdict=verdict, who=who, now=now
            )
    except SQLAlchemyError as exc:
        log.error("app: cannot store feedback from %s: %s", who, exc)
        respond(
            text="normwatch could not store that; please click again in a minute.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    if not stored:
        respond(
            text="normwatch no longer has this alert, so it cannot store your verdict.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    log.info("app: %s marked hits %s %s", who, hit_ids, verdict)
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or (
        body.get("container") or {}
    ).get("channel_id")
    if not channel or not message.get("ts"):
        return
    # Read after the commit, so the line shows every judge, not just this click.
    with rt.sessions() as session:
        said = verdicts_on(session, hit_ids, rt.config.normwatch.timezone)
    client.chat_update(
        channel=channel,
        ts=message["ts"],
        text=str(message.get("text") or ""),
        blocks=with_verdict(list(message.get("blocks") or []), said),
    )


def start_app(rt: Runtime, bot_token: str, app_token: str) -> SocketModeHandler:
    """Connect the app to Slack in the background; `close()` it on shutdown."""
    client = WebClient(token=bot_token, base_url=rt.config.slack.api_url)
    handler = SocketModeHandler(build_app(rt, client), app_token)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
    except BaseException:
        # The Socket Mode client starts its threads when it is created: a
        # failed connect that is retried must not leave them behind.
        handler.close()  # type: ignore[no-untyped-call]
        raise
    log.info("app: connected to Slack over Socket Mode (%s)", COMMAND)
    return handler
