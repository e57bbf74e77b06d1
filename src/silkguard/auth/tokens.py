"""Access tokens (short-lived HS256 JWTs) and refresh tokens (long opaque random strings).

An access token carries who (``sub``), for which organisation (``org``) and as which role
(``role``); the API trusts it until ``exp`` without a database read, which is why it lives only
minutes (``Settings.access_token_ttl_s``, 15 by default). A refresh token is a random string the
client trades for a new pair; the database keeps only its SHA-256 (see ``service``)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from silkguard.auth.roles import Role
from silkguard.core.clock import utcnow
from silkguard.core.errors import InvalidInput, Unauthenticated

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "JWT_ALGORITHM",
    "MIN_SECRET_BYTES",
    "AccessClaims",
    "create_access_token",
    "decode_access_token",
    "hash_token",
    "new_refresh_token",
]

JWT_ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
MIN_SECRET_BYTES = 32  # RFC 7518 section 3.2: an HS256 key is at least as long as the hash
_REQUIRED_CLAIMS = ("sub", "org", "role", "iat", "exp", "jti", "typ")
_RELOGIN = "log in again"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    role: Role
    issued_at: datetime
    expires_at: datetime
    jti: str


def _check_secret(secret: str) -> bytes:
    key = secret.encode("utf-8")
    if len(key) < MIN_SECRET_BYTES:
        msg = (
            f"the signing secret is {len(key)} bytes long; HS256 needs at least "
            f"{MIN_SECRET_BYTES}: set SILKGUARD_SECRET_KEY to a long random value"
        )
        raise InvalidInput(msg)
    return key


def create_access_token(
    *,
    user_id: uuid.UUID,
    org_id: uuid.UUID,
    role: Role,
    secret: str,
    ttl_s: int,
    now: datetime,
) -> str:
    """A signed access token valid from ``now`` for ``ttl_s`` seconds."""
    if ttl_s <= 0:
        msg = f"access token lifetime is {ttl_s} s; it must be positive"
        raise InvalidInput(msg)
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "org": str(org_id),
        "role": Role(role).value,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": uuid.uuid4().hex,
        "typ": ACCESS_TOKEN_TYPE,
    }
    return jwt.encode(claims, _check_secret(secret), algorithm=JWT_ALGORITHM)


def decode_access_token(token: str, *, secret: str, now: datetime | None = None) -> AccessClaims:
    """Check the signature and expiry of ``token`` and return its claims.

    Raises :class:`Unauthenticated` with a message that says which check failed: malformed,
    bad signature, wrong type or missing claim, or expired (with when)."""
    key = _check_secret(secret)
    try:
        # Expiry is checked below against ``now`` so tests and replays can pin the clock.
        payload = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError:
        msg = (
            "access token signature does not verify (altered, or signed with another key); "
            f"{_RELOGIN}"
        )
        raise Unauthenticated(msg) from None
    except jwt.InvalidAlgorithmError:
        msg = f"access token is not signed with {JWT_ALGORITHM}; {_RELOGIN}"
        raise Unauthenticated(msg) from None
    except jwt.InvalidTokenError as exc:
        msg = f"access token is malformed ({exc}); send the token exactly as issued or {_RELOGIN}"
        raise Unauthenticated(msg) from None
    claims = _parse_claims(payload)
    moment = now or utcnow()
    if moment >= claims.expires_at:
        msg = (
            f"access token expired at {claims.expires_at:%Y-%m-%d %H:%M:%S} UTC; get a new one "
            f"with the refresh token or {_RELOGIN}"
        )
        raise Unauthenticated(msg)
    return claims


def _parse_claims(payload: dict[str, Any]) -> AccessClaims:
    missing = [c for c in _REQUIRED_CLAIMS if c not in payload]
    if missing:
        msg = f"access token lacks the claim(s) {', '.join(missing)}; {_RELOGIN}"
        raise Unauthenticated(msg)
    if payload["typ"] != ACCESS_TOKEN_TYPE:
        msg = f"token of type {payload['typ']!r} used as an access token; {_RELOGIN}"
        raise Unauthenticated(msg)
    try:
        return AccessClaims(
            user_id=uuid.UUID(str(payload["sub"])),
            org_id=uuid.UUID(str(payload["org"])),
            role=Role(payload["role"]),
            issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            jti=str(payload["jti"]),
        )
    except (TypeError, ValueError, OverflowError):
        msg = f"access token has claims of the wrong form; {_RELOGIN}"
        raise Unauthenticated(msg) from None


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of a random token, the form in which tokens and key secrets are stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
