"""Email over SMTP with the standard library: STARTTLS (verified, optionally against `ca_file`), login, send."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from engine.notify.events import Event
from engine.notify.models import EmailTarget


def message(target: EmailTarget, event: Event) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = f"pairsync: {event.text}"[:200]
    mail["From"] = target.from_
    mail["To"] = ", ".join(target.to)
    lines = [event.text, ""] + [f"{key}: {value}" for key, value in event.to_json().items() if key != "text"]
    mail.set_content("\n".join(lines))
    return mail


def _send(target: EmailTarget, mail: EmailMessage) -> None:
    with smtplib.SMTP(target.host, target.port, timeout=30) as smtp:
        smtp.ehlo()
        if target.starttls:
            smtp.starttls(context=ssl.create_default_context(cafile=target.ca_file))
            smtp.ehlo()
        if target.username and target.password is not None:
            smtp.login(target.username, target.password.get_secret_value())
        smtp.send_message(mail)


async def send_email(target: EmailTarget, event: Event) -> None:
    await asyncio.to_thread(_send, target, message(target, event))
