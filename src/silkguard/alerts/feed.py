"""The Atom 1.0 index of public alerts: one entry per alert, linking to its CAP document.

URLs come from templates so the API can mount the feed where it likes, e.g.
``https://host/api/v1/public/alerts.atom`` and ``https://host/api/v1/public/alerts/{id}.cap``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from silkguard.alerts.cap import CAP_CATEGORY, PublicAlert, serialize
from silkguard.core.errors import InvalidInput

__all__ = ["ATOM_NS", "CAP_MEDIA_TYPE", "atom_datetime", "atom_feed"]

ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"


def atom_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with 'Z', as Atom readers expect."""
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, name, attrs)
    if text is not None:
        element.text = text
    return element


def atom_feed(
    alerts: Sequence[PublicAlert],
    *,
    feed_url: str,
    cap_url_template: str,
    title: str = "silkguard public alerts",
    author: str = "silkguard",
    updated: datetime | None = None,
) -> bytes:
    """The Atom feed listing ``alerts``, newest first (ties by id).

    ``cap_url_template`` contains ``{id}``; the feed id is ``feed_url`` and each entry's id is
    its CAP URL. ``updated`` defaults to the newest alert's ``sent`` (the Unix epoch for an empty
    feed) so the same alerts always give the same bytes.
    """
    if "{id}" not in cap_url_template:
        msg = f"cap_url_template {cap_url_template!r} has no {{id}} placeholder; add one"
        raise InvalidInput(msg)
    ordered = sorted(alerts, key=lambda a: (-a.sent.timestamp(), a.id))
    if updated is None:
        updated = ordered[0].sent if ordered else datetime(1970, 1, 1, tzinfo=UTC)
    # Plain tag names under an explicit xmlns: ElementTree cannot combine a default namespace
    # with Atom's attributes, which have no namespace.
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _sub(feed, "id", feed_url)
    _sub(feed, "title", title)
    _sub(feed, "updated", atom_datetime(updated))
    _sub(_sub(feed, "author"), "name", author)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    for alert in ordered:
        url = cap_url_template.format(id=alert.id)
        english = alert.texts["en"]
        entry = _sub(feed, "entry")
        _sub(entry, "id", url)
        prefix = "[DRILL] " if alert.drill else ""
        _sub(entry, "title", f"{prefix}{english.headline}")
        _sub(entry, "updated", atom_datetime(alert.sent))
        _sub(entry, "published", atom_datetime(alert.sent))
        _sub(_sub(entry, "author"), "name", alert.sender_name or alert.sender)
        _sub(entry, "category", term=CAP_CATEGORY[alert.category])
        _sub(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=url)
        _sub(entry, "summary", english.description)
    return serialize(feed, None)
