from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from silkguard.alerts.channels import RetryPolicy
from silkguard.alerts.sms import SmsChannel, gsm7_units, plan_sms
from silkguard.alerts.vocab import DeliveryState
from silkguard.core.errors import InvalidInput
from tests.alerts.conftest import Receiver
from tests.alerts.support import BILINGUAL, Sleeps, make_message

URDU = "فوری طور پر محفوظ جگہ پر پناہ لیں"
# plain GSM-7, GSM-7 extension, Chinese, Urdu and a character outside the BMP
_ALPHABET = [*"ab €{", "中", "ں", "😀"]


# --- length planning -------------------------------------------------------------------------


def test_gsm7_units_count_extension_characters_twice() -> None:
    assert gsm7_units("Hello @ £") == 9
    assert gsm7_units("{€}") == 6
    assert gsm7_units("安全") is None


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 160, "GSM-7", [160]),
        ("a" * 161, "GSM-7", [153, 8]),
        ("中" * 70, "UCS-2", [70]),
        ("中" * 71, "UCS-2", [67, 4]),
        (URDU, "UCS-2", [len(URDU)]),
        # one Chinese character turns the whole English text into UCS-2
        ("a" * 69 + "中", "UCS-2", [70]),
    ],
)
def test_single_and_concatenated_limits(text: str, encoding: str, parts: list[int]) -> None:
    plan = plan_sms(text)
    assert plan.encoding == encoding
    assert [len(s) for s in plan.segments] == parts
    assert not plan.truncated
    assert "".join(plan.segments) == text


def test_escape_pair_is_never_split() -> None:
    # 152 plain septets then '€' (2 septets) would straddle the 153-septet boundary
    plan = plan_sms("a" * 152 + "€" + "b" * 10)
    assert plan.segments[0] == "a" * 152
    assert plan.segments[1].startswith("€")


def test_surrogate_pair_is_never_split() -> None:
    plan = plan_sms("中" * 66 + "😀" + "中" * 10)
    assert plan.segments[0] == "中" * 66
    assert plan.segments[1].startswith("😀")


def test_long_chinese_is_truncated_to_max_segments_with_ellipsis() -> None:
    plan = plan_sms("中" * 300, max_segments=3)
    assert plan.truncated
    assert plan.units == 3 * 67
    assert plan.text.endswith("…")
    assert len(plan.segments) == 3


def test_long_english_is_truncated_with_ascii_ellipsis() -> None:
    plan = plan_sms("word " * 200, max_segments=2)
    assert plan.truncated
    assert plan.encoding == "GSM-7"
    assert plan.text.endswith("...")
    assert plan.units <= 2 * 153
    assert len(plan.segments) == 2


def test_one_segment_limit() -> None:
    plan = plan_sms(URDU * 5, max_segments=1)
    assert plan.truncated
    assert plan.segments == (plan.text,)
    assert plan.units == 70


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(_ALPHABET), max_size=500),
    st.integers(min_value=1, max_value=5),
)
def test_plan_invariants(text: str, max_segments: int) -> None:
    plan = plan_sms(text, max_segments=max_segments)
    assert "".join(plan.segments) == plan.text
    assert len(plan.segments) <= max(1, max_segments)
    single, part = (160, 153) if plan.encoding == "GSM-7" else (70, 67)
    if len(plan.segments) > 1:
        for segment in plan.segments:
            units = (
                gsm7_units(segment)
                if plan.encoding == "GSM-7"
                else len(segment.encode("utf-16-le")) // 2
            )
            assert units is not None
            assert units <= part
    else:
        assert plan.units <= single
    if not plan.truncated:
        assert plan.text == text


# --- through the fake gateway ----------------------------------------------------------------


def test_json_post_with_auth_and_template(receiver: Receiver, fast_retry: RetryPolicy) -> None:
    channel = SmsChannel(
        f"{receiver.base_url}/sms",
        auth_header=("Authorization", "Bearer gw-token"),
        body_template={"msisdn": "{to}", "message": "{text}", "ref": "{reference}", "from": "SG"},
        message_id_field="messages.0.id",
        retry=fast_retry,
    )
    result = channel.send(make_message("+923001234567"))
    assert result.state is DeliveryState.SENT
    assert result.provider_message_id == "sms-1"
    (got,) = receiver.on("/sms")
    assert got.headers["Authorization"] == "Bearer gw-token"
    assert json.loads(got.body.decode()) == {
        "msisdn": "+923001234567",
        "message": BILINGUAL,
        "ref": "dlv-0001",
        "from": "SG",
    }


def test_form_post_and_get(receiver: Receiver, fast_retry: RetryPolicy) -> None:
    form = SmsChannel(f"{receiver.base_url}/sms", body_format="form", retry=fast_retry)
    assert form.send(make_message("+8613800138000")).ok
    got = receiver.on("/sms")[0]
    assert parse_qs(got.body.decode())["text"] == [BILINGUAL]
    get = SmsChannel(f"{receiver.base_url}/sms?key=abc", method="GET", retry=fast_retry)
    assert get.send(make_message("+8613800138000", text=URDU)).ok
    query = parse_qs(urlsplit(receiver.on("/sms")[1].path).query)
    assert query["key"] == ["abc"]
    assert query["text"] == [URDU]
    assert query["to"] == ["+8613800138000"]


def test_text_with_braces_is_not_reformatted(receiver: Receiver, fast_retry: RetryPolicy) -> None:
    channel = SmsChannel(f"{receiver.base_url}/sms", retry=fast_retry)
    channel.send(make_message("+923001234567", text="Reply {SAFE} or {HELP} {to}"))
    assert json.loads(receiver.on("/sms")[0].body)["text"] == "Reply {SAFE} or {HELP} {to}"


def test_gateway_503_is_retried(
    receiver: Receiver, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    receiver.fail_next("/sms", 2, 503)
    result = SmsChannel(f"{receiver.base_url}/sms", retry=fast_retry).send(
        make_message("+923001234567")
    )
    assert result.state is DeliveryState.SENT
    assert result.attempts == 3
    assert len(sleeps.calls) == 2


def test_bad_number_is_refused_without_calling_the_gateway(
    receiver: Receiver, fast_retry: RetryPolicy
) -> None:
    result = SmsChannel(f"{receiver.base_url}/sms", retry=fast_retry).send(
        make_message("03001234567")
    )
    assert result.state is DeliveryState.FAILED
    assert result.error is not None
    assert "E.164" in result.error
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "PUT"}, "use GET or POST"),
        ({"body_format": "xml"}, "use json or form"),
        ({"body_template": {"to": "{phone}"}}, "accepted placeholders"),
    ],
)
def test_bad_gateway_configuration(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        SmsChannel("http://127.0.0.1:9/sms", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not an absolute"):
        SmsChannel("gateway.local/sms")
