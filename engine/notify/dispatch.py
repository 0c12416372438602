"""Deliver events to the configured targets, at most once per target, connection and kind per period.

A delivery problem never fails a run: it comes back as a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from engine.notify.email import send_email
from engine.notify.events import Event
from engine.notify.http import Rejected, Unavailable, post, slack_request, webhook_request
from engine.notify.models import EmailTarget, SlackTarget, Target, WebhookTarget
from engine.secrets import REDACTOR
from engine.state.notices import NoticeStore


async def deliver(
    targets: Sequence[Target], store: NoticeStore, events: Sequence[Event], now: datetime | None = None
) -> list[str]:
    """Send what is due; the notes of deliveries that failed."""
    moment = now or datetime.now(UTC)
    notes: list[str] = []
    for target in targets:
        for event in events:
            if event.kind not in target.events:
                continue
            if not store.claim_notice(target.key(), event.connection, event.kind.value, target.period_delta(), moment):
                continue
            try:
                await send(target, event)
            except Exception as error:  # noqa: BLE001 - a notification never fails the run it reports on
                reason = str(error) if isinstance(error, Rejected | Unavailable) else f"{type(error).__name__}: {error}"
                notes.append(REDACTOR.redact(f"notify {target.key()}: {event.kind.value} not delivered: {reason}"))
    return notes


async def send(target: Target, event: Event) -> None:
    if isinstance(target, WebhookTarget):
        await post(*webhook_request(target, event), attempts=target.attempts, first_wait=target.backoff_seconds)
    elif isinstance(target, SlackTarget):
        await post(*slack_request(target, event), attempts=target.attempts, first_wait=target.backoff_seconds)
    elif isinstance(target, EmailTarget):
        await send_email(target, event)
