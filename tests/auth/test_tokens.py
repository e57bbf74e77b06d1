from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from jwt.utils import base64url_encode

from silkguard.auth.roles import Role
from silkguard.auth.tokens import (
    AccessClaims,
    create_access_token,
    decode_access_token,
    hash_token,
    new_refresh_token,
)
from silkguard.core.errors import InvalidInput, Unauthenticated

SECRET = "test-secret-" + "x" * 40
NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
USER = uuid.UUID("00000000-0000-4000-8000-000000000001")
ORG = uuid.UUID("00000000-0000-4000-8000-000000000002")


def _token(*, secret: str = SECRET, now: datetime = NOW) -> str:
    return create_access_token(
        user_id=USER, org_id=ORG, role=Role.ANALYST, secret=secret, ttl_s=900, now=now
    )


def test_round_trip() -> None:
    claims = decode_access_token(_token(), secret=SECRET, now=NOW + timedelta(seconds=899))
    assert claims == AccessClaims(
        user_id=USER,
        org_id=ORG,
        role=Role.ANALYST,
        issued_at=NOW,
        expires_at=NOW + timedelta(seconds=900),
        jti=claims.jti,
    )
    payload = jwt.decode(_token(), SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert set(payload) == {"sub", "org", "role", "iat", "exp", "jti", "typ"}
    assert payload["typ"] == "access"
    assert _token() != _token()  # jti differs


def _message(token: str, *, secret: str = SECRET, now: datetime = NOW) -> str:
    with pytest.raises(Unauthenticated) as err:
        decode_access_token(token, secret=secret, now=now)
    return err.value.msg


def test_expired_tampered_and_wrong_secret_have_distinct_messages() -> None:
    expired = _message(_token(), now=NOW + timedelta(seconds=900))
    assert expired.startswith("access token expired at 2026-03-01 08:45:00 UTC")

    header, payload, signature = _token().split(".")
    forged_payload = base64url_encode(b'{"sub":"x","role":"admin"}').decode()
    tampered = _message(f"{header}.{forged_payload}.{signature}")
    assert tampered.startswith("access token signature does not verify (altered, or signed")

    wrong_secret = _message(_token(), secret="another-secret-" + "y" * 40)
    # A changed payload and another key are the same event to the verifier: the signature
    # does not match. The message names both causes.
    assert wrong_secret == tampered

    mangled = _message(f"{header}.{payload[:-3]}!!!.{signature}")
    assert mangled.startswith("access token is malformed (")
    assert _message("not-a-jwt").startswith("access token is malformed (")

    assert len({expired, tampered, mangled}) == 3


def test_refuses_other_algorithms_and_types() -> None:
    none_alg = jwt.encode({"sub": str(USER)}, key=None, algorithm="none")
    assert _message(none_alg).startswith("access token is not signed with HS256")
    refresh_typed = jwt.encode(
        {"sub": str(USER), "org": str(ORG), "role": "admin", "iat": 1, "exp": 2, "jti": "j"},
        SECRET,
        algorithm="HS256",
    )
    assert _message(refresh_typed) == "access token lacks the claim(s) typ; log in again"


def test_short_secret_is_refused() -> None:
    with pytest.raises(InvalidInput, match="HS256 needs at least 32"):
        _token(secret="short")


def test_refresh_tokens_are_random_and_hashed() -> None:
    a, b = new_refresh_token(), new_refresh_token()
    assert a != b
    assert len(a) >= 43
    assert len(hash_token(a)) == 64
    assert hash_token(a) != a
