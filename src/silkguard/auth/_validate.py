"""Checks of user-supplied identity fields; each error names the field, the value and the rule."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from silkguard.auth.models import Organisation, OrgKind
from silkguard.core.errors import InvalidInput, NotFound

__all__ = [
    "check_country",
    "check_email",
    "check_languages",
    "check_name",
    "check_org_kind",
    "check_slug",
    "check_username",
    "require_org",
]

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_COUNTRY = re.compile(r"[A-Z]{2}")


def check_slug(slug: str) -> str:
    value = slug.strip().lower()
    if not _SLUG.fullmatch(value):
        msg = (
            f"organisation slug {slug!r} is not valid; use 2-64 lower-case letters, digits and "
            "hyphens, starting and ending with a letter or digit (e.g. 'corridor-power')"
        )
        raise InvalidInput(msg)
    return value


def check_username(username: str) -> str:
    value = username.strip().lower()
    if not _USERNAME.fullmatch(value):
        msg = (
            f"username {username!r} is not valid; use 3-64 letters, digits, dots, hyphens or "
            "underscores, starting and ending with a letter or digit (e.g. 'li.wei')"
        )
        raise InvalidInput(msg)
    return value


def check_name(value: str, *, field: str, max_chars: int = 200) -> str:
    text = value.strip()
    if not text or len(text) > max_chars:
        msg = f"{field} {value!r} is not valid; give 1-{max_chars} characters"
        raise InvalidInput(msg)
    return text


def check_org_kind(kind: str) -> OrgKind:
    try:
        return OrgKind(kind.strip().lower())
    except ValueError:
        accepted = ", ".join(k.value for k in OrgKind)
        msg = f"organisation kind {kind!r} does not exist; use one of {accepted}"
        raise InvalidInput(msg) from None


def check_country(country: str) -> str:
    value = country.strip().upper()
    if not _COUNTRY.fullmatch(value):
        msg = f"country {country!r} is not an ISO 3166-1 alpha-2 code; use e.g. PK or CN"
        raise InvalidInput(msg)
    return value


def check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    value = email.strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        msg = f"email {email!r} is not an email address; use the form name@example.org"
        raise InvalidInput(msg)
    return value


def check_languages(languages: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for raw in languages:
        value = raw.strip()
        if not _LANGUAGE.fullmatch(value):
            msg = (
                f"language {raw!r} is not a language tag; use BCP 47 codes such as en, ur, "
                "zh or zh-Hans"
            )
            raise InvalidInput(msg)
        if value not in seen:
            seen.append(value)
    return seen


def require_org(session: Session, org_id: uuid.UUID) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        msg = f"no organisation has id {org_id}; list them with `silkguard orgs list`"
        raise NotFound(msg)
    return org
