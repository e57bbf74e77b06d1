"""SMS channel through a configurable HTTP SMS gateway, and SMS length planning.

Encoding and length: a text made only of GSM 03.38 characters goes as GSM-7 (160 septets in
one SMS, 153 per part of a concatenated SMS; the extension characters ``^{}\\[~]|€`` and form
feed take two septets). Anything else, Chinese and Urdu included, goes as UCS-2 (70 UTF-16 units
in one SMS, 67 per part; an emoji outside the BMP takes two units). :func:`plan_sms` splits the
text the way the phone network will and never cuts an escape pair or a surrogate pair in half.

Rule: the whole text is handed to the gateway in one request and the gateway concatenates the
parts. When the text needs more than ``max_segments`` parts it is cut to fit and ends with an
ellipsis (``...`` in GSM-7, ``…`` in UCS-2), so the first lines (put the reply code and the
instruction there) always arrive.
"""

from __future__ import annotations

import http.client
import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import urlencode, urlsplit, urlunsplit

from silkguard.alerts import _http
from silkguard.alerts.channels import (
    DeliveryResult,
    OutboundMessage,
    RetryPolicy,
    marked_text,
    run_with_retries,
)
from silkguard.alerts.vocab import ChannelKind, DeliveryState
from silkguard.core.errors import InvalidInput

__all__ = [
    "DEFAULT_BODY_TEMPLATE",
    "SmsChannel",
    "SmsPlan",
    "gsm7_units",
    "plan_sms",
]

_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = "\f^{}\\[~]|€"
_GSM7_SET = frozenset(_GSM7_BASIC)
_GSM7_EXT_SET = frozenset(_GSM7_EXTENSION)

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

DEFAULT_BODY_TEMPLATE: Mapping[str, str] = {
    "to": "{to}",
    "text": "{text}",
    "reference": "{reference}",
}
_PLACEHOLDERS = frozenset({"to", "text", "reference", "sender", "encoding", "segments"})


def gsm7_units(text: str) -> int | None:
    """Septets needed for ``text`` in GSM-7, or None when it is not GSM-7 text."""
    total = 0
    for char in text:
        if char in _GSM7_SET:
            total += 1
        elif char in _GSM7_EXT_SET:
            total += 2
        else:
            return None
    return total


def _ucs2_units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


@dataclass(frozen=True, slots=True)
class SmsPlan:
    """How a text travels: encoding, length in units, the parts a phone receives, and whether
    the text was cut to fit ``max_segments``."""

    text: str
    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    segments: tuple[str, ...]
    truncated: bool


def _gsm7_char_units(char: str) -> int:
    return 2 if char in _GSM7_EXT_SET else 1


def _split(text: str, units_of: Callable[[str], int], part: int) -> list[str]:
    """Greedy split into parts of at most ``part`` units; a 2-unit character is never cut."""
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = units_of(char)
        if used + size > part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    if current:
        parts.append("".join(current))
    return parts


def plan_sms(text: str, *, max_segments: int = 3) -> SmsPlan:
    """Encoding, parts and truncation for ``text`` (see the module docstring for the rule)."""
    if max_segments < 1:
        msg = f"max_segments is {max_segments}; give 1 or more"
        raise InvalidInput(msg)
    units_of: Callable[[str], int]
    if gsm7_units(text) is not None:
        encoding, single, part, ellipsis = "GSM-7", GSM7_SINGLE, GSM7_PART, "..."
        units_of = _gsm7_char_units
    else:
        encoding, single, part, ellipsis = "UCS-2", UCS2_SINGLE, UCS2_PART, "…"
        units_of = _ucs2_units
    units = sum(units_of(c) for c in text)
    capacity = single if max_segments == 1 else part * max_segments
    truncated = units > max(single, capacity)
    if truncated:
        budget = capacity - sum(units_of(c) for c in ellipsis)
        kept: list[str] = []
        used = 0
        for char in text:
            used += units_of(char)
            if used > budget:
                break
            kept.append(char)
        text = "".join(kept).rstrip() + ellipsis
        units = sum(units_of(c) for c in text)
    segments = [text] if units <= single else _split(text, units_of, part)
    return SmsPlan(
        text=text, encoding=encoding, units=units, segments=tuple(segments), truncated=truncated
    )


def _check_template(template: Mapping[str, str]) -> None:
    for key, value in template.items():
        for _, name, _, _ in string.Formatter().parse(value):
            if name is not None and name not in _PLACEHOLDERS:
                accepted = ", ".join(sorted(_PLACEHOLDERS))
                msg = (
                    f"SMS body template field {key!r} uses {{{name}}}; accepted placeholders "
                    f"are {accepted} (double braces for a literal brace)"
                )
                raise InvalidInput(msg)


class SmsChannel:
    """Sends through an HTTP SMS gateway.

    ``body_template`` maps the gateway's parameter names to templates using ``{to}``, ``{text}``,
    ``{reference}`` (the delivery id), ``{sender}``, ``{encoding}`` and ``{segments}``. With
    ``method="GET"`` the rendered parameters go into the query string; with POST they form a JSON
    object (``body_format="json"``) or a form (``"form"``). ``auth_header`` is one
    ``(name, value)`` pair such as ``("Authorization", "Bearer ...")``. The gateway's message
    id is read from the JSON answer at ``message_id_field`` (a dotted path; digits index lists).
    A 2xx answer means ``sent``; delivery reports arrive later through the gateway's callback.
    """

    kind: str = ChannelKind.SMS.value

    def __init__(
        self,
        url: str,
        *,
        method: str = "POST",
        body_format: str = "json",
        body_template: Mapping[str, str] = DEFAULT_BODY_TEMPLATE,
        auth_header: tuple[str, str] | None = None,
        sender: str = "",
        message_id_field: str = "id",
        max_segments: int = 3,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        keep_alive: bool = True,
    ) -> None:
        _http.check_url(url, field="SMS gateway url")
        method = method.upper()
        if method not in ("GET", "POST"):
            msg = f"SMS gateway method {method!r} is not accepted; use GET or POST"
            raise InvalidInput(msg)
        if body_format not in ("json", "form"):
            msg = f"SMS body_format {body_format!r} is not accepted; use json or form"
            raise InvalidInput(msg)
        _check_template(body_template)
        self._url = url
        self._method = method
        self._body_format = body_format
        self._template = dict(body_template)
        self._auth_header = auth_header
        self._sender = sender
        self._message_id_field = message_id_field
        self._max_segments = max_segments
        self._retry = retry or RetryPolicy()
        self._http = _http.HttpClient(timeout_s=timeout_s, keep_alive=keep_alive)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the kept-alive connections."""
        self._http.close()

    def render(self, message: OutboundMessage) -> tuple[dict[str, str], SmsPlan]:
        """The gateway parameters for ``message`` and the length plan behind them."""
        plan = plan_sms(marked_text(message), max_segments=self._max_segments)
        values = {
            "to": message.recipient,
            "text": plan.text,
            "reference": message.delivery_id,
            "sender": self._sender,
            "encoding": plan.encoding,
            "segments": str(len(plan.segments)),
        }
        # Only the template is a format string; the values are substituted as they are.
        params = {key: tpl.format_map(values) for key, tpl in self._template.items()}
        return params, plan

    def send(self, message: OutboundMessage) -> DeliveryResult:
        if not _E164.match(message.recipient):
            return DeliveryResult(
                state=DeliveryState.FAILED,
                error=(
                    f"SMS recipient {message.recipient!r} is not an E.164 number "
                    "(+ then country code and number, e.g. +923001234567)"
                ),
                attempts=0,
            )
        params, _ = self.render(message)
        headers = {"User-Agent": "silkguard-sms/1"}
        if self._auth_header is not None:
            headers[self._auth_header[0]] = self._auth_header[1]
        url, body = self._url, None
        if self._method == "GET":
            parts = urlsplit(self._url)
            query = "&".join(q for q in (parts.query, urlencode(params)) if q)
            url = urlunsplit(parts._replace(query=query))
        elif self._body_format == "json":
            body = json.dumps(params, ensure_ascii=False, sort_keys=True).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        else:
            body = urlencode(params).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        return run_with_retries(lambda: self._attempt(url, body, headers), self._retry)

    def _attempt(self, url: str, body: bytes | None, headers: dict[str, str]) -> DeliveryResult:
        try:
            response = self._http.request(self._method, url, body=body, headers=headers)
        except (OSError, http.client.HTTPException) as exc:
            return _http.transport_failure(exc)
        result = _http.outcome(response, ok_state=DeliveryState.SENT)
        if not result.ok:
            return result
        return DeliveryResult(
            state=DeliveryState.SENT,
            provider_message_id=_dig(response.body, self._message_id_field),
        )


def _dig(body: bytes, path: str) -> str | None:
    try:
        node: object = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    for step in path.split("."):
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return None
    return str(node) if isinstance(node, str | int) else None
