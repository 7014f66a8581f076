"""Hand one outbox message to its channel: e-mail over SMTP, SMS through a gateway; in-app
messages need no sending. ``send`` returns when the channel accepted the message and raises
``DeliveryError`` otherwise. For e-mail, the server's 250 to DATA is the acceptance: a failure
after it (at QUIT) is logged, never a reason to send the message again."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from hashlib import sha256

from flask import current_app

from eldercare.core.db import utcnow
from eldercare.core.masking import mask_phone
from eldercare.notifications.models import Channel, OutboxMessage


class DeliveryError(Exception):
    """The channel did not accept the message (the dispatcher will try again later)."""


def absolute_link(link: str) -> str:
    """The message's link as a full URL when APP_BASE_URL is set, else ''."""
    base = (current_app.config.get("APP_BASE_URL") or "").rstrip("/")
    return f"{base}{link}" if base and link else ""


def _text_with_link(message: OutboxMessage) -> str:
    url = absolute_link(message.link)
    return f"{message.body}\n\n{url}" if url else message.body


# --- e-mail ---------------------------------------------------------------------------------


def delivery_id(message: OutboxMessage) -> str:
    """The same on every attempt of one message, different for every message: "outbox.ID.TAG"
    (TAG from the message's idempotency key). Sent as the e-mail's Message-ID and the SMS
    gateway's Idempotency-Key, so that a copy sent again (the process died after the channel
    took it, before the commit) can be recognised by the mail software and the gateway."""
    tag = sha256(message.idempotency_key.encode()).hexdigest()[:16]
    return f"outbox.{message.id}.{tag}"


def email_for(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    mail = EmailMessage()  # UTF-8 throughout: a Chinese subject is RFC 2047-encoded
    mail["Subject"] = message.subject
    mail["From"] = config["MAIL_FROM"]
    mail["To"] = message.recipient
    mail["Date"] = format_datetime(utcnow())
    # The same Message-ID on every attempt of one message: should a message be sent twice
    # (the database failed after the server took it), mail software can tell the copies.
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    mail["Message-ID"] = f"<{delivery_id(message)}@{domain}>"
    mail.set_content(_text_with_link(message))
    return mail


def _connect(host: str, port: int, timeout: float) -> smtplib.SMTP:
    config = current_app.config
    if config.get("MAIL_USE_SSL"):
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    return smtplib.SMTP(host, port, timeout=timeout)


def _hang_up(smtp: smtplib.SMTP, message: OutboxMessage, where: str) -> None:
    """QUIT after the server accepted the message. Whatever happens now (QUIT answered with
    451 or anything but 221, the connection dropped, a timeout) the message is delivered:
    it is logged as a warning, the socket closed, and the message never sent again."""
    try:
        code, reply = smtp.quit()
    except (smtplib.SMTPException, OSError) as err:
        smtp.close()
        current_app.logger.warning(
            "outbox %s: %s accepted the message, QUIT then failed (%s: %s); delivered",
            message.id,
            where,
            type(err).__name__,
            err,
        )
        return
    if code != 221:
        current_app.logger.warning(
            "outbox %s: %s accepted the message, QUIT was answered %s %s; delivered",
            message.id,
            where,
            code,
            reply.decode(errors="replace") if isinstance(reply, bytes) else reply,
        )


def send_email(message: OutboxMessage) -> None:
    """Delivered once the server answered DATA with 250 (``send_message`` returned): only an
    error before that (connect, TLS, login, MAIL, RCPT or DATA refused) raises
    ``DeliveryError`` and makes the dispatcher try again."""
    config = current_app.config
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    where = f"SMTP {host}:{port}"
    try:
        smtp = _connect(host, port, timeout)
    except (smtplib.SMTPException, OSError) as err:  # OSError: refused, unreachable, timeout
        raise DeliveryError(f"{where}: {type(err).__name__}: {err}") from err
    try:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(email_for(message))
    except (smtplib.SMTPException, OSError) as err:
        smtp.close()
        raise DeliveryError(f"{where}: {type(err).__name__}: {err}") from err
    except BaseException:
        smtp.close()
        raise
    _hang_up(smtp, message, where)


# --- SMS ------------------------------------------------------------------------------------


def sms_text(message: OutboxMessage) -> str:
    text = _text_with_link(message)
    return f"{message.subject}\n{text}" if message.subject else text


def _sms_log(message: OutboxMessage) -> None:
    current_app.logger.info(
        "SMS to %s (outbox %s): %s", mask_phone(message.recipient), message.id, sms_text(message)
    )


def _sms_http(message: OutboxMessage) -> None:
    config = current_app.config
    url = config.get("SMS_GATEWAY_URL") or ""
    if not url.startswith(("https://", "http://")):
        raise DeliveryError("SMS_GATEWAY_URL is not an http(s) URL")
    # The same key on every attempt: a gateway that honours it sends a repeated request once.
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": delivery_id(message),
    }
    if config.get("SMS_GATEWAY_TOKEN"):
        headers["Authorization"] = f"Bearer {config['SMS_GATEWAY_TOKEN']}"
    payload = {"to": message.recipient, "text": sms_text(message), "id": delivery_id(message)}
    # The scheme is checked above: urllib never opens a file: or ftp: URL here.
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(payload, ensure_ascii=False).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=config.get("SMS_GATEWAY_TIMEOUT", 10)
        ) as response:
            status = response.status
    except urllib.error.HTTPError as err:  # a 4xx or 5xx reply
        raise DeliveryError(f"SMS gateway answered {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        raise DeliveryError(f"SMS gateway unreachable: {err}") from err
    if not 200 <= status < 300:
        raise DeliveryError(f"SMS gateway answered {status}")


SMS_BACKENDS = {"log": _sms_log, "http": _sms_http}


def send_sms(message: OutboxMessage) -> None:
    backend = SMS_BACKENDS.get(current_app.config.get("SMS_BACKEND", "log"))
    if backend is None:
        raise DeliveryError(f"unknown SMS_BACKEND {current_app.config.get('SMS_BACKEND')!r}")
    backend(message)


def send(message: OutboxMessage) -> None:
    """Deliver ``message`` on its channel; raises DeliveryError when the channel refused it."""
    if message.channel == Channel.EMAIL:
        send_email(message)
    elif message.channel == Channel.SMS:
        send_sms(message)
    elif message.channel != Channel.INAPP:  # in-app messages were delivered when stored
        raise DeliveryError(f"unknown channel {message.channel!r}")
