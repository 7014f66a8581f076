"""Every form a user can reach, submitted as a person would type into it and refused: the
page says what is wrong in whole Chinese sentences and keeps every value that was typed.

The forms come from the walk (no list of forms): one of each shape per role. Each is sent
twice: once with one field that cannot be valid (an impossible date, a number that is no
number, text longer than any field takes), so the schema refuses; once with plausible
values, which the operation may refuse or accept. Either refusal must keep what was typed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lxml.html
import pytest

from tests.walk.conftest import DEMO_USERS, demo_user
from tests.walk.crawl import Form, error_texts, shape, walk

CJK = re.compile(r"[\u4e00-\u9fff]")
#: Forms that are no user's data entry: signing out and switching language.
NOT_ENTRY = re.compile(r"^/(auth/logout|language)")
TEXT_TYPES = {
    None,
    "",
    "text",
    "search",
    "email",
    "tel",
    "url",
    "password",
    "number",
    "date",
    "month",
    "time",
    "datetime-local",
}


@dataclass
class Typed:
    """What was sent, and which field was made impossible on purpose."""

    values: list[tuple[str, str]] = field(default_factory=list)
    typed: dict[str, str] = field(default_factory=dict)
    broken: str | None = None


def _plausible(el: lxml.html.HtmlElement, n: int) -> str | None:
    kind = el.get("type")
    if el.tag == "select":
        options = [o.get("value", o.text_content()) for o in el.xpath(".//option")]
        options = [o for o in options if o]
        return options[-1] if options else None  # the last: a reset to the first shows
    if el.tag == "textarea":
        return f"走查备注{n}"
    if kind == "hidden" or kind in ("submit", "button", "file", "image", "reset"):
        return None
    if kind in ("checkbox", "radio"):
        return el.get("value", "on")
    if kind == "date":
        return el.get("max") or el.get("min") or "2026-12-01"
    if kind == "datetime-local":
        return "2026-12-01T09:30"
    if kind == "month":
        return "2026-12"
    if kind == "time":
        return "09:30"
    if kind == "number":
        low = el.get("min")
        return low if low not in (None, "") else "3"
    if kind == "email":
        return f"walk{n}@example.cn"
    if kind == "tel":
        return "13800000000"
    if kind == "password":
        return None  # never echoed back, by design
    limit = int(el.get("maxlength") or 20)
    return f"走查{n}"[:limit]


def typed_values(form: Form, break_one: bool) -> Typed:
    out = Typed()
    candidates = []
    for n, el in enumerate(form.fields()):
        name, kind = el.get("name"), el.get("type")
        if el.tag == "input" and kind == "hidden":
            out.values.append((name, el.get("value", "")))
            continue
        value = _plausible(el, n)
        if value is None:
            if el.tag == "input" and kind == "password":
                out.values.append((name, "Walk2026pass"))
            continue
        if kind == "radio" and any(k == name for k, _v in out.values):
            continue
        out.values.append((name, value))
        if kind not in ("checkbox", "radio"):
            out.typed[name] = value
        if el.tag == "input" and kind in TEXT_TYPES - {"password"}:
            candidates.append((name, kind))
    if break_one and candidates:
        name, kind = next(
            ((n, k) for n, k in candidates if k == "date"),
            next(((n, k) for n, k in candidates if k == "number"), candidates[0]),
        )
        bad = {"date": "2026-13-45", "number": "十二"}.get(kind, "长" * 5000)
        out.values = [(k, bad if k == name else v) for k, v in out.values]
        out.typed.pop(name, None)
        out.broken = name
    return out


def _kept(html: str, form: Form, typed: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """The typed values the refused page no longer shows: name -> (typed, shown)."""
    tree = lxml.html.fromstring(html)
    same = [f for f in tree.forms if shape(f.get("action") or "") == shape(form.action)]
    tree = same[0] if same else tree
    lost = {}
    for name, value in typed.items():
        elements = tree.xpath(".//*[@name=$name]", name=name)
        if not elements:
            lost[name] = (value, None)
            continue
        el = elements[0]
        if el.tag == "select":
            chosen = el.xpath(".//option[@selected]")
            shown = chosen[0].get("value") if chosen else None
        elif el.tag == "textarea":
            shown = el.text or ""
        else:
            shown = el.get("value")
        if (shown or "").strip() != value.strip():
            lost[name] = (value, shown)
    return lost


def submit(client, form: Form, typed: Typed):
    multipart = (form.element.get("enctype") or "") == "multipart/form-data"
    data = {}
    for name, value in typed.values:
        data.setdefault(name, []).append(value)
    if multipart:
        return client.post(form.action, data=data, content_type="multipart/form-data")
    return client.post(form.action, data=data)


def post_forms(found) -> list[Form]:
    seen, out = set(), []
    for form in found.forms:
        if form.method != "post" or NOT_ENTRY.search(form.action) or not form.offered():
            continue
        key = (shape(form.action), tuple(sorted(el.get("name") for el in form.fields())))
        if key in seen:
            continue
        seen.add(key)
        out.append(form)
    return out


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_refused_form_says_why_in_chinese_and_keeps_what_was_typed(
    client, auth, demo, username
):
    user = demo_user(username)
    auth.login_as(user)
    forms = post_forms(walk(client))
    assert forms
    problems = []
    for form in forms:
        for break_one in (True, False):
            typed = typed_values(form, break_one)
            if break_one and typed.broken is None:
                continue
            response = submit(client, form, typed)
            broken = f", {typed.broken} impossible" if typed.broken else ""
            where = f"{form.action} (from {form.page}{broken})"
            if response.status_code >= 500 or response.status_code == 405:
                problems.append(f"{where}: {response.status_code}")
                continue
            if response.status_code in (301, 302, 303):
                continue  # accepted (or refused with a message on a page of buttons)
            html = response.get_data(as_text=True)
            if response.mimetype != "text/html":
                continue
            if response.status_code == 403:
                problems.append(f"{where}: offered to a user who may not send it (403)")
                continue
            messages = error_texts(html) if response.status_code >= 400 else []
            if response.status_code >= 400 and not messages:
                problems.append(f"{where}: refused ({response.status_code}) without a message")
            for message in messages:
                if len(message) <= 1 or not CJK.search(message):
                    problems.append(f"{where}: message {message!r}")
            if response.status_code >= 400 and typed.typed:
                lost = _kept(html, form, typed.typed)
                if lost:
                    problems.append(f"{where}: typed values lost {lost}")
            auth.login_as(user)  # a form may have signed the user out (a password change)
    assert not problems, "\n".join(problems)
