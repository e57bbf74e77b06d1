"""E-mail channel over SMTP (``smtplib``).

Each message is ``multipart/alternative`` (UTF-8 plain text plus a minimal HTML part carrying
the language), with a ``Message-ID`` derived from the delivery id so the same delivery sent
twice is recognisable as one message by mail systems and by us. An SMTP server accepting the
message means ``sent``; 4xx replies and connection problems are retried, 5xx replies are not.
"""

from __future__ import annotations

import hashlib
import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from silkguard.alerts.channels import (
    DeliveryResult,
    OutboundMessage,
    RetryPolicy,
    marked_subject,
    marked_text,
    run_with_retries,
)
from silkguard.alerts.vocab import ChannelKind, DeliveryState
from silkguard.core.errors import InvalidInput

__all__ = ["EmailChannel", "build_email", "message_id_for"]

_TRANSIENT_MIN, _TRANSIENT_MAX = 400, 499


def message_id_for(delivery_id: str, domain: str) -> str:
    """A stable RFC 5322 Message-ID for a delivery: the same id gives the same header."""
    digest = hashlib.sha256(delivery_id.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_email(message: OutboundMessage, *, from_addr: str) -> EmailMessage:
    if "@" not in from_addr:
        msg = f"EmailChannel from_addr {from_addr!r} is not an e-mail address; give one"
        raise InvalidInput(msg)
    domain = from_addr.rsplit("@", 1)[1].strip(">").strip()
    email = EmailMessage()
    email["From"] = from_addr
    email["To"] = message.recipient
    # Header values are one line: a line break in a subject would start a new header.
    email["Subject"] = " ".join(marked_subject(message).split())
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = message_id_for(message.delivery_id, domain)
    email["X-Silkguard-Alert"] = message.alert_id
    email["X-Silkguard-Delivery"] = message.delivery_id
    email["X-Silkguard-Severity"] = message.severity.value
    if message.drill:
        email["X-Silkguard-Drill"] = "yes"
    text = marked_text(message)
    email.set_content(text, charset="utf-8")
    body_html = html.escape(text).replace("\n", "<br>\n")
    email.add_alternative(
        f'<!DOCTYPE html>\n<html lang="{html.escape(message.language)}"><body>'
        f"<p>{body_html}</p></body></html>\n",
        subtype="html",
        charset="utf-8",
    )
    # After the body: set_content and add_alternative manage the Content-* headers themselves.
    email["Content-Language"] = message.language
    return email


class EmailChannel:
    """Sends through one SMTP server. ``starttls`` upgrades a plain connection (port 587);
    ``implicit_tls`` connects with TLS from the start (port 465)."""

    kind: str = ChannelKind.EMAIL.value

    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        from_addr: str,
        starttls: bool = False,
        implicit_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if starttls and implicit_tls:
            msg = "EmailChannel: choose starttls (port 587) or implicit_tls (port 465), not both"
            raise InvalidInput(msg)
        if "@" not in from_addr:
            msg = f"EmailChannel from_addr {from_addr!r} is not an e-mail address; give one"
            raise InvalidInput(msg)
        self._host = host
        self._port = port
        self._from_addr = from_addr
        self._starttls = starttls
        self._implicit_tls = implicit_tls
        self._username = username
        self._password = password
        self._timeout_s = timeout_s
        self._retry = retry or RetryPolicy()
        self._ssl_context = ssl_context

    def send(self, message: OutboundMessage) -> DeliveryResult:
        if "@" not in message.recipient or any(c.isspace() for c in message.recipient):
            return DeliveryResult(
                state=DeliveryState.FAILED,
                error=f"e-mail recipient {message.recipient!r} is not an e-mail address",
                attempts=0,
            )
        email = build_email(message, from_addr=self._from_addr)
        return run_with_retries(lambda: self._attempt(email), self._retry)

    def _connect(self) -> smtplib.SMTP:
        if self._implicit_tls:
            context = self._ssl_context or ssl.create_default_context()
            return smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout_s, context=context
            )
        smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout_s)
        if self._starttls:
            smtp.starttls(context=self._ssl_context or ssl.create_default_context())
        return smtp

    def _attempt(self, email: EmailMessage) -> DeliveryResult:
        message_id = str(email["Message-ID"])
        try:
            with self._connect() as smtp:
                if self._username is not None:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(exc.recipients)
        except smtplib.SMTPAuthenticationError as exc:
            return _failed(f"SMTP login refused ({exc.smtp_code}); check the credentials", False)
        except smtplib.SMTPResponseException as exc:
            transient = _TRANSIENT_MIN <= exc.smtp_code <= _TRANSIENT_MAX
            return _failed(f"SMTP {exc.smtp_code}: {_decode(exc.smtp_error)}", transient)
        except (smtplib.SMTPException, OSError) as exc:
            return _failed(f"{type(exc).__name__}: {exc}", True)
        if refused:
            return _refused(refused)
        return DeliveryResult(state=DeliveryState.SENT, provider_message_id=message_id)


def _decode(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _failed(error: str, retryable: bool) -> DeliveryResult:
    return DeliveryResult(state=DeliveryState.FAILED, retryable=retryable, error=error)


def _refused(recipients: dict[str, tuple[int, bytes]]) -> DeliveryResult:
    codes = [code for code, _ in recipients.values()]
    detail = "; ".join(f"{r}: {c} {_decode(t)}" for r, (c, t) in recipients.items())
    transient = all(_TRANSIENT_MIN <= c <= _TRANSIENT_MAX for c in codes)
    return _failed(f"SMTP recipient refused: {detail}", transient)
