from __future__ import annotations

import time

import pytest

from silkguard.auth import passwords
from silkguard.auth.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from silkguard.core.errors import InvalidInput


def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse 42 battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse 42 battery")
    assert not verify_password(hashed, "correct horse 42 batterY")
    assert not needs_rehash(hashed)


def test_verify_never_raises_for_garbage() -> None:
    assert verify_password("not a hash", "whatever") is False
    assert needs_rehash("not a hash") is True


def test_weaker_parameters_need_rehash() -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("x" * 12)
    assert verify_password(old, "x" * 12)
    assert needs_rehash(old)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Short1!", "password is 7 characters long; use at least 12 (a passphrase"),
        ("alllowercaseletters", "password uses only lower-case letters; mix in at least one"),
        ("123456789012", "password uses only digits; mix in"),
        ("xx li.wei 2026 xx", "password contains the username; choose one that does not"),
        ("a1" * 600, "password is 1200 characters long; use at most 1024"),
    ],
)
def test_policy_messages(password: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_password_policy(password, username="li.wei")
    assert err.value.msg.startswith(message)
    assert password not in err.value.msg


def test_policy_accepts_a_passphrase() -> None:
    check_password_policy("correct horse battery staple", username="li.wei")


def test_dummy_hash_is_lazy_cached_and_costs_like_a_real_verify() -> None:
    assert dummy_hash() == passwords.DUMMY_HASH  # the lazy module attribute
    assert dummy_hash() is dummy_hash()
    real = hash_password("correct horse 42 battery")

    def best_of(hashed: str, runs: int = 3) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            verify_password(hashed, "wrong password 123")
            times.append(time.perf_counter() - start)
        return min(times)

    ratio = best_of(dummy_hash()) / best_of(real)
    assert 0.33 < ratio < 3, ratio
