from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from silkguard.alerts.channels import DRILL_MARKERS, RetryPolicy
from silkguard.alerts.mail import EmailChannel, build_email, message_id_for
from silkguard.alerts.vocab import DeliveryState
from silkguard.core.errors import InvalidInput
from tests.alerts.conftest import SmtpSink
from tests.alerts.support import BILINGUAL, Sleeps, make_message


def _channel(sink: SmtpSink, retry: RetryPolicy) -> EmailChannel:
    return EmailChannel(
        host="127.0.0.1", port=sink.port, from_addr="alerts@silkguard.example", retry=retry
    )


def _parsed(sink: SmtpSink, index: int = 0) -> EmailMessage:
    parsed = message_from_bytes(sink.envelopes[index].content, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_message_id_is_stable_per_delivery() -> None:
    first = message_id_for("dlv-1", "silkguard.example")
    assert first == message_id_for("dlv-1", "silkguard.example")
    assert first != message_id_for("dlv-2", "silkguard.example")
    assert first.startswith("<")
    assert first.endswith("@silkguard.example>")


def test_bilingual_mail_arrives_intact(smtp_sink: SmtpSink, fast_retry: RetryPolicy) -> None:
    message = make_message("wang.li@example.cn")
    result = _channel(smtp_sink, fast_retry).send(message)
    assert result.state is DeliveryState.SENT
    assert result.provider_message_id == message_id_for("dlv-0001", "silkguard.example")
    (envelope,) = smtp_sink.envelopes
    assert envelope.mail_from == "alerts@silkguard.example"
    assert envelope.rcpt_tos == ["wang.li@example.cn"]
    parsed = _parsed(smtp_sink)
    assert parsed["Subject"] == "Security alert 安全警报"
    assert parsed["Message-ID"] == result.provider_message_id
    assert parsed["Content-Language"] == "zh-CN"
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content().strip() == BILINGUAL
    assert plain.get_content_charset() == "utf-8"
    assert 'lang="zh-CN"' in html.get_content()


def test_drill_mail_is_marked(smtp_sink: SmtpSink, fast_retry: RetryPolicy) -> None:
    _channel(smtp_sink, fast_retry).send(make_message("ops@example.com", drill=True, language="en"))
    parsed = _parsed(smtp_sink)
    assert parsed["Subject"].startswith(DRILL_MARKERS["en"])
    assert parsed["X-Silkguard-Drill"] == "yes"
    plain = parsed.get_body(preferencelist=("plain",))
    assert plain is not None
    assert plain.get_content().startswith(DRILL_MARKERS["en"])


def test_transient_4xx_is_retried(
    smtp_sink: SmtpSink, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    smtp_sink.fail_next = ["451 4.3.0 Try again later", "421 4.7.0 Busy"]
    result = _channel(smtp_sink, fast_retry).send(make_message("a@example.com"))
    assert result.state is DeliveryState.SENT
    assert result.attempts == 3
    assert len(sleeps.calls) == 2
    assert len(smtp_sink.envelopes) == 1


def test_permanent_5xx_is_not_retried(
    smtp_sink: SmtpSink, fast_retry: RetryPolicy, sleeps: Sleeps
) -> None:
    smtp_sink.fail_next = ["554 5.7.1 Rejected"]
    result = _channel(smtp_sink, fast_retry).send(make_message("a@example.com"))
    assert result.state is DeliveryState.FAILED
    assert not result.retryable
    assert result.attempts == 1
    assert result.error is not None
    assert "554" in result.error
    assert sleeps.calls == []


def test_unreachable_server_is_retryable(fast_retry: RetryPolicy) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = EmailChannel(
        host="127.0.0.1", port=port, from_addr="a@b.example", retry=fast_retry, timeout_s=2
    )
    result = channel.send(make_message("x@example.com"))
    assert result.state is DeliveryState.FAILED
    assert result.retryable
    assert result.attempts == 4


def test_bad_addresses() -> None:
    with pytest.raises(InvalidInput, match="from_addr"):
        EmailChannel(host="h", from_addr="nobody")
    with pytest.raises(InvalidInput, match="not both"):
        EmailChannel(host="h", from_addr="a@b", starttls=True, implicit_tls=True)
    result = EmailChannel(host="h", from_addr="a@b").send(make_message("not-an-address"))
    assert result.state is DeliveryState.FAILED
    assert result.attempts == 0


def test_build_email_headers() -> None:
    email = build_email(make_message("a@example.com"), from_addr="alerts@sg.example")
    assert email["X-Silkguard-Alert"] == "alr-42"
    assert email["X-Silkguard-Delivery"] == "dlv-0001"
    assert email["X-Silkguard-Severity"] == "high"
    assert email["Date"] == "Sun, 01 Mar 2026 08:30:00 +0000"


def test_header_injection_is_impossible(smtp_sink: SmtpSink, fast_retry: RetryPolicy) -> None:
    channel = _channel(smtp_sink, fast_retry)
    bad = channel.send(make_message("a@example.com\r\nBcc: victim@example.com"))
    assert bad.state is DeliveryState.FAILED
    assert bad.attempts == 0
    ok = channel.send(make_message("a@example.com", subject="Alert\r\nBcc: victim@example.com"))
    assert ok.state is DeliveryState.SENT
    (envelope,) = smtp_sink.envelopes
    assert envelope.rcpt_tos == ["a@example.com"]
    parsed = _parsed(smtp_sink)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Alert Bcc: victim@example.com"
