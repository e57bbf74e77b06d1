"""The dashboard as its users drive it, in a real browser against the demo server: an analyst
on the map, a movement controller and two approvers on a movement through a level-5 stretch
of the Karakoram Highway, a control room raising an alert over the Dasu site while a staff
member answers on a phone, and all of it in Chinese with no English label left."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page, expect

from silkguard.alerts.service import rollcall_token
from silkguard.demo.seed import DEMO_PASSWORD

from .conftest import PHONE, SECRET, Visit

OpenVisit = Callable[..., Visit]
STATIC = Path(__file__).resolve().parents[2] / "src" / "silkguard" / "web" / "static"
TIMEOUT = 20_000

# Every element that carries a label of the interface (not data such as place names).
LABELS = (
    "header a, header button, header label span, main h1, main h2, main h3, main h4, main th, "
    "main label, main legend, main button, main .count span, main p.hint, main p.empty, "
    "main .legend span, main .legend small, main .leaflet-control-layers label span"
)

# The text directly inside each visible label element (children such as inputs excluded).
_OWN_TEXTS = """(selector) => {
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.getClientRects().length || el.closest('[translate=no]')) continue;
    const own = [...el.childNodes].filter((n) => n.nodeType === 3)
      .map((n) => n.textContent).join(' ');
    const text = own.replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  return out;
}"""


def _strings(lang: str) -> dict[str, str]:
    return dict(json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8")))


def _english_patterns() -> list[re.Pattern[str]]:
    """A pattern for every English string that has its own Chinese translation; templates'
    ``{placeholders}`` match anything."""
    en, _zh = _strings("en"), _strings("zh")
    out = []
    for _key, text in en.items():
        if not re.search(r"[A-Za-z]{3}", re.sub(r"\{\w+\}", "", text)):
            continue  # no English words (a unit, a symbol)
        parts = re.split(r"\{\w+\}", text)
        out.append(re.compile("^" + ".*?".join(re.escape(p) for p in parts) + "$", re.DOTALL))
    return out


ENGLISH = _english_patterns()


def assert_no_english(page: Page, where: str) -> None:
    texts: list[str] = page.evaluate(_OWN_TEXTS, LABELS)
    assert texts, f"{where}: no labels found (did the page render?)"
    left = sorted({t for t in texts if any(p.match(t) for p in ENGLISH)})
    assert not left, f"{where}: labels still in English after switching to Chinese: {left}"


def test_translations_have_the_same_keys_and_cover_every_key_the_pages_use() -> None:
    en, zh = _strings("en"), _strings("zh")
    assert set(en) == set(zh), {
        "only in en": sorted(set(en) - set(zh)),
        "only in zh": sorted(set(zh) - set(en)),
    }
    assert all(v.strip() for v in zh.values()), "empty Chinese strings"
    copied = [k for k in en if zh[k] == en[k] and re.search(r"[A-Za-z]{3}", en[k])]
    assert not copied, f"Chinese strings copied from English, not translated: {copied}"
    used: set[str] = set()
    sources = [*(STATIC / "js").rglob("*.js"), STATIC / "index.html"]
    for path in sources:
        src = re.sub(r"^\s*//.*$", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", src))
        used |= set(re.findall(r"""data-i18n(?:-\w+)?=["']([\w.]+)["']""", src))
        used |= set(re.findall(r"""i18n(?:Aria|Title|Placeholder)?:\s*["']([\w.]+)["']""", src))
    assert len(used) > 100, f"only {len(used)} keys found in the pages; the scan is broken"
    assert not sorted(used - set(en)), f"keys used by the pages but missing: {used - set(en)}"


def test_analyst_signs_in_and_sees_the_demo_incidents_on_the_map(visit: OpenVisit) -> None:
    v = visit("map")
    v.go("")
    v.shot("sign-in")
    # by keyboard alone: the user name has the focus, Tab to the password, Enter signs in
    v.page.wait_for_selector("#username:focus")
    v.page.keyboard.type("li.wei")
    v.page.keyboard.press("Tab")
    v.page.keyboard.type(DEMO_PASSWORD)
    v.page.keyboard.press("Enter")
    v.page.wait_for_selector("#nav:not([hidden])")
    v.page.wait_for_selector("#map[data-incidents]", timeout=TIMEOUT)
    # the new page has the focus, and Tab goes on into it (the filters)
    expect(v.page.locator("#main")).to_be_focused(timeout=TIMEOUT)
    v.page.keyboard.press("Tab")
    assert v.page.evaluate("document.activeElement.id") == "f-since"
    v.page.wait_for_selector("#map[data-incidents]", timeout=TIMEOUT)
    shown = int(v.page.get_attribute("#map", "data-incidents") or "-1")
    total = len(_all_incidents(v))
    assert shown == total > 50
    expect(v.page.locator("#incident-count")).to_contain_text(str(total))
    # the markers are on the map, clustered
    assert v.page.locator(".marker-cluster").count() > 0
    # the province outlines and the corridor roads came from this server
    outlines = v.api("GET", "/map/outlines")["features"]
    roads = v.api("GET", "/map/roads")["features"]
    drawn = int(v.page.get_attribute("#map", "data-outlines") or "0")
    assert drawn == sum(1 for f in outlines if f["properties"]["kind"] != "district") > 5
    drawn = int(v.page.get_attribute("#map", "data-roads") or "0")
    assert drawn == sum(1 for f in roads if f["properties"]["kind"] == "road") > 10
    assert v.page.locator("#map canvas").count() > 0
    v.shot("map")
    # filter by type: the count follows the API's answer for the same filter
    v.page.select_option("#f-attack", "kidnapping")
    v.page.click("form.filters button[type=submit]")
    kidnappings = len(_all_incidents(v, attack_type="kidnapping"))
    assert 0 < kidnappings < total
    expect(v.page.locator("#map")).to_have_attribute("data-incidents", str(kidnappings))
    v.set_language("zh")
    v.page.wait_for_selector("#map[data-incidents]", timeout=TIMEOUT)
    assert_no_english(v.page, "map")
    v.shot("map-zh")
    # the choice is remembered on the next visit
    v.page.reload()
    v.page.wait_for_selector("#map[data-incidents]", timeout=TIMEOUT)
    assert v.page.evaluate("document.documentElement.lang") == "zh-Hans"


def _pk_input(page: Page, selector: str) -> str:
    """A datetime-local field of the dashboard (Pakistan time) as an ISO time with offset."""
    return f"{page.input_value(selector)}:00+05:00"


def _all_incidents(v: Visit, **query: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = v.api(
            "GET",
            "/incidents",
            params={**query, "limit": 500, **({"cursor": cursor} if cursor else {})},
        )
        out.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def test_movement_through_a_high_threat_area_needs_escort_and_two_approvers(
    visit: OpenVisit,
) -> None:
    ctl = visit("movement-controller")
    ctl.login("ayesha.khan")
    ctl.go("#/movements")
    ctl.page.wait_for_selector("#movement-request")
    ctl.page.fill("#m-origin", "Chilas")
    ctl.page.fill("#m-destination", "Dasu")
    ctl.page.fill("#m-vehicles", "2")
    ctl.page.fill("#m-party", "4")
    # compare the routes first: each with its highest level and what the policy needs
    ctl.page.click("#compare-routes")
    ctl.page.wait_for_selector("#route-options tbody tr", timeout=TIMEOUT)
    trip = {
        "origin": "Chilas",
        "destination": "Dasu",
        "departure": _pk_input(ctl.page, "#m-departure"),
        "arrival": _pk_input(ctl.page, "#m-arrival"),
        "vehicles": 2,
        "party": 4,
    }
    options = ctl.api("POST", "/movement-routes", json={**trip, "alternatives": 3})["options"]
    rows = ctl.page.locator("#route-options tbody tr")
    assert rows.count() == len(options) >= 1
    assert rows.first.get_attribute("data-decision") == "needs_measures"
    assert int(rows.first.get_attribute("data-level") or "0") >= 4
    assert ctl.page.get_attribute("#options-map", "data-routes") == str(len(options))
    ctl.shot("request")
    ctl.page.click("#movement-request button[type=submit]")
    summary = ctl.page.wait_for_selector("#movement-summary", timeout=TIMEOUT)
    assert summary is not None
    movement_id = ctl.page.url.rsplit("/", 1)[-1]
    uuid.UUID(movement_id)
    level = int(ctl.page.locator("#movement-summary .level").inner_text())
    assert level >= 4
    assert ctl.page.get_attribute("#movement-summary", "data-decision") == "needs_measures"
    required = ctl.page.locator("#required-measures li").evaluate_all(
        "els => els.map(e => e.dataset.measure)"
    )
    assert "police_escort" in required
    met = ctl.page.locator("#required-measures li").evaluate_all(
        "els => els.map(e => e.dataset.met)"
    )
    assert met == ["no"] * len(required)
    assert "armoured_vehicles" in required
    # the rules that fired are on the page, with why
    assert ctl.page.locator("#fired-rules tbody tr").count() >= 2
    ctl.shot("proposed")
    # the controller adds the measures the policy requires
    for measure in required:
        ctl.page.check(f"#movement-actions input[value={measure}]")
    ctl.page.click("#save-measures")
    expect(ctl.page.locator("#movement-summary")).to_have_attribute(
        "data-decision", "needs_approval", timeout=TIMEOUT
    )
    met = ctl.page.locator("#required-measures li").evaluate_all(
        "els => els.map(e => e.dataset.met)"
    )
    assert met == ["yes"] * len(required)
    ctl.shot("measures-added")
    ctl.set_language("zh")
    ctl.page.wait_for_selector("#movement-summary")
    assert_no_english(ctl.page, "movement (controller)")
    ctl.shot("movement-zh")

    for n, approver in enumerate(("zhang.min", "zhou.yan"), start=1):
        a = visit(f"approver-{n}")
        a.login(approver)
        a.go(f"#/movements/{movement_id}")
        a.page.wait_for_selector("#movement-summary")
        assert a.page.locator("#fired-rules tbody tr").count() >= 2
        a.page.click("button[data-action=approve]")
        want = "submitted" if n == 1 else "approved"
        expect(a.page.locator("#movement-summary")).to_have_attribute(
            "data-state", want, timeout=TIMEOUT
        )
        a.shot(f"approved-{n}")
    record = ctl.api("GET", f"/movements/{movement_id}")
    assert record["state"] == "approved"
    assert len(record["approvals"]) == 2
    assert set(required) <= set(record["measures"])

    # the same trip twice more at the same hour: the board shows the pattern and what to do
    for _ in range(2):
        ctl.api("POST", "/movements", json={**trip, "measures": required})
    ctl.go("#/movements")
    row = ctl.page.wait_for_selector("#movement-patterns tbody tr", timeout=TIMEOUT)
    assert row is not None
    assert row.get_attribute("data-score") == "1"
    assert "Chilas" in row.inner_text()
    assert ctl.page.locator("#movement-patterns tbody tr li").count() == 3
    ctl.shot("patterns-zh")

    # on the road: start, check in, arrive, then the post-movement review
    ctl.go(f"#/movements/{movement_id}")
    for action, state in (("start", "under_way"), ("check-in", "under_way"), ("arrive", "arrived")):
        ctl.page.click(f"button[data-action={action}]")
        expect(ctl.page.locator("#movement-summary")).to_have_attribute(
            "data-state", state, timeout=TIMEOUT
        )
        if action == "check-in":
            expect(ctl.page.locator("ol.events li[data-kind=check_in]")).to_have_count(1)
    ctl.page.fill("#rv-summary", "Arrived on time with both escorts")
    ctl.page.fill("#rv-lessons", "Confirm the Pattan checkpoint hours the day before")
    ctl.page.select_option("#rv-effective", "yes")
    ctl.page.click("#review-form button[type=submit]")
    expect(ctl.page.locator("#movement-review dl")).to_contain_text(
        "Confirm the Pattan checkpoint hours", timeout=TIMEOUT
    )
    assert ctl.api("GET", f"/movements/{movement_id}")["review"]["measures_effective"] is True
    assert_no_english(ctl.page, "movement review")
    ctl.shot("reviewed-zh")


def test_alert_over_a_site_reaches_zero_unaccounted(visit: OpenVisit) -> None:
    room = visit("control-room")
    room.login("ayesha.khan")
    room.go("#/alerts")
    room.page.wait_for_selector("#alert-form")
    sites = room.api("GET", "/sites")
    dasu = next(s for s in sites if s["slug"] == "dasu-hpp")
    room.page.select_option("#a-site", dasu["id"])
    assert float(room.page.input_value("#a-lat")) == round(dasu["latitude"], 4)
    room.page.fill("#a-en-headline", "Stay inside: armed attack reported near Dasu")
    room.page.fill("#a-en-body", "Remain in the camp until the all-clear. Answer the roll-call.")
    room.page.fill("#a-zh-headline", "请留在室内 达苏附近发生武装袭击")
    room.page.fill("#a-zh-body", "在解除警报前请留在营地。请回复点名。")
    room.shot("raise")
    room.page.click("#alert-form button[type=submit]")
    counts = room.page.wait_for_selector("#rollcall-counts[data-total]", timeout=TIMEOUT)
    assert counts is not None
    alert_id = room.page.url.rsplit("/", 1)[-1]
    total = int(room.page.get_attribute("#rollcall-counts", "data-total") or "0")
    assert total >= 2
    assert room.page.get_attribute("#rollcall-counts", "data-unaccounted") == str(total)
    room.shot("board")

    # a staff member on a phone answers from "my safety"
    staff = visit("staff-phone", viewport=PHONE)
    staff.login("wang.jun")
    staff.go("#/me")
    card = staff.page.wait_for_selector(f"article.rollcall[data-alert='{alert_id}']")
    assert card is not None
    assert staff.page.get_attribute("#me-open", "data-n") == "1"
    staff.shot("rollcall")
    staff.page.click(f"article.rollcall[data-alert='{alert_id}'] button[data-action=safe]")
    expect(staff.page.locator(f"article.rollcall[data-alert='{alert_id}']")).to_have_attribute(
        "data-answer", "safe", timeout=TIMEOUT
    )
    # the safe button is big enough to hit with a thumb and the page fits the screen
    box = staff.page.locator(
        f"article.rollcall[data-alert='{alert_id}'] button[data-action=safe]"
    ).bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert staff.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    staff.shot("answered")
    expect(room.page.locator("#rollcall-counts")).to_have_attribute(
        "data-unaccounted", str(total - 1), timeout=TIMEOUT
    )
    staff.set_language("zh")
    staff.page.wait_for_selector("#me-open")
    assert_no_english(staff.page, "my safety (phone)")
    staff.shot("me-zh")

    # everyone else answers from the link in their message, and the board follows live
    board = room.api("GET", f"/alerts/{alert_id}/board")
    for person in board["unaccounted"]:
        token = rollcall_token(SECRET, uuid.UUID(alert_id), uuid.UUID(person))
        res = httpx.post(f"{room.base}/api/v1/rollcall/{token}", json={"answer": "safe"})
        assert res.status_code == 200, res.text
    expect(room.page.locator("#rollcall-counts")).to_have_attribute(
        "data-unaccounted", "0", timeout=TIMEOUT
    )
    assert room.page.locator("#unaccounted-list li").count() == 0
    room.shot("all-accounted")

    room.set_language("zh")
    room.page.wait_for_selector("#rollcall-counts[data-unaccounted='0']", timeout=TIMEOUT)
    assert_no_english(room.page, "alert board")
    room.shot("board-zh")

    # while the alert is active, a movement past Dasu can keep out of its area
    room.go("#/movements")
    room.page.wait_for_selector("#m-avoid-alerts", state="attached")
    expect(room.page.locator("#m-avoid-label")).to_contain_text("1", timeout=TIMEOUT)
    room.page.fill("#m-origin", "Besham")
    room.page.fill("#m-destination", "Chilas")
    room.page.click("#compare-routes")
    expect(room.page.locator("#route-options")).to_have_attribute("data-avoided", "0")
    room.page.check("#m-avoid-alerts")
    expect(room.page.locator("#route-options tbody tr")).to_have_count(0)  # inputs changed
    with room.page.expect_request("**/api/v1/movement-routes") as sent:
        room.page.click("#compare-routes")
    (area,) = sent.value.post_data_json["avoid"]
    assert area["type"] == "Polygon"
    assert len(area["coordinates"][0]) == 33
    expect(room.page.locator("#route-options")).to_have_attribute(
        "data-avoided", "1", timeout=TIMEOUT
    )
    room.shot("avoid-alert-area")


def test_every_page_in_chinese_has_no_english_label(visit: OpenVisit) -> None:
    v = visit("all-pages")
    v.login("hamza.qureshi")
    v.set_language("zh")
    assert_no_english(v.page, "header")
    for page, ready in (
        ("#/map", "#map[data-incidents]"),
        ("#/incidents", "main h1"),
        ("#/review", "main h1"),
        ("#/movements", "#movement-counts"),
        ("#/alerts", "#alert-form"),
        ("#/plans", "main h1"),
        ("#/me", "#me-open"),
        ("#/reports", "#sitrep-form"),
    ):
        v.go(page)
        v.page.wait_for_selector(ready, timeout=TIMEOUT)
        v.page.wait_for_load_state("networkidle")
        assert_no_english(v.page, page)
        v.shot(page.strip("#/"))
    # the check itself finds an English label
    v.page.evaluate("document.querySelector('main h1').textContent = 'Reports'")
    with pytest.raises(AssertionError, match="Reports"):
        assert_no_english(v.page, "planted label")


def test_the_situation_report_downloads_from_the_dashboard(visit: OpenVisit) -> None:
    v = visit("reports")
    v.login("li.wei")
    v.go("#/reports")
    v.page.wait_for_selector("#sitrep-form")
    v.page.fill("#r-from", "2014-01-01")
    v.page.fill("#r-to", "2014-12-31")
    v.page.select_option("#r-format", "pdf")
    v.shot("form")
    with v.page.expect_download(timeout=60_000) as info:
        v.page.click("#sitrep-form button[type=submit]")
    download = info.value
    assert download.suggested_filename == "sitrep-2014-01-01-2014-12-31.pdf"
    path = v.shots / download.suggested_filename
    download.save_as(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 20_000
