"""``/r/{token}``: the roll-call page a message links to. Plain HTML, no script, no login, big
buttons for a phone; English, Chinese and Urdu on one page. Answering posts the form back."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from silkguard.alerts import service as alerts
from silkguard.api.deps import SessionDep, SettingsDep
from silkguard.core.errors import Conflict, InvalidInput, NotFound

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_STYLE = (
    "body{font-family:sans-serif;max-width:30em;margin:1em auto;padding:0 1em}"
    "button{display:block;width:100%;font-size:1.4em;margin:.6em 0;padding:.8em;border:0;"
    "border-radius:.4em;color:#fff}.safe{background:#1b7f3b}.help{background:#b3261e}"
    "input{font-size:1.2em;width:100%;padding:.4em}"
)


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>silkguard roll-call</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>",
        status_code=status,
    )


@router.get("/r/{token}")
def rollcall_form(token: str) -> HTMLResponse:
    t = escape(token, quote=True)
    return _page(
        f"<h1>Are you safe? / 您安全吗？ / کیا آپ محفوظ ہیں؟</h1>"  # noqa: RUF001
        f"<form method='post' action='/r/{t}'>"
        "<label>Code (optional) / 代码 / کوڈ<input name='code' inputmode='numeric' "
        "autocomplete='off'></label>"
        "<button class='safe' name='answer' value='safe'>"
        "I am safe / 我安全 / میں محفوظ ہوں</button>"
        "<button class='help' name='answer' value='need_help'>I need help / 我需要帮助 / "
        "مجھے مدد چاہیے</button></form>"
    )


@router.post("/r/{token}")
def rollcall_answer(
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    answer: Annotated[str, Form(max_length=16)],
    code: Annotated[str, Form(max_length=12)] = "",
) -> HTMLResponse:
    try:
        rec = alerts.answer_rollcall(
            session,
            token=token,
            answer=answer,
            via="web",
            code=code.strip() or None,
            secret=settings.secret_key,
        )
        session.commit()
    except (NotFound, Conflict, InvalidInput) as exc:
        return _page(f"<h1>Not recorded</h1><p>{escape(exc.msg)}</p>", status=exc.http_status)
    said = "safe / 安全 / محفوظ" if rec.answer == "safe" else "need help / 需要帮助 / مدد"
    return _page(f"<h1>Thank you / 谢谢 / شکریہ</h1><p>Recorded: {said}</p>")
