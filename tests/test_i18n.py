"""Every user-facing string has a Chinese translation; Chinese is the default, English works."""

from __future__ import annotations

import os
import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG = os.path.join(
    ROOT, "eldercare", "translations", "zh_Hans_CN", "LC_MESSAGES", "messages.po"
)
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    # A word with two meanings has a context: pgettext("visit tier", "Key").
    "pgettext": ((1, "c"), 2),
    "lazy_pgettext": ((1, "c"), 2),
    "_lp": ((1, "c"), 2),
}
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def source_messages() -> dict[tuple[str | None, str], str]:
    """(context, msgid) -> where it is used, straight from the source (not the .pot file)."""
    found = {}
    for subdir, method in (("eldercare", "python"), ("templates", "jinja2")):
        for filename, _lineno, message, _comments, context in extract_from_dir(
            os.path.join(ROOT, subdir),
            method_map=[("**.py", "python")] if method == "python" else [("**.html", "jinja2")],
            keywords=KEYWORDS,
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault((context, msgid), f"{subdir}/{filename}")
    return found


def chinese_catalog() -> dict[tuple[str | None, str], str]:
    with open(CATALOG, "rb") as handle:
        catalog = read_po(handle, locale="zh_Hans_CN")
    return {(m.context, m.id): m.string for m in catalog if m.id and m.string and not m.fuzzy}


def test_every_message_has_a_chinese_translation():
    translated = chinese_catalog()
    missing = {m: where for m, where in source_messages().items() if m not in translated}
    assert not missing, "untranslated (run `make extract-messages` and translate):\n" + "\n".join(
        f"{where}: {m!r}" for m, where in sorted(missing.items(), key=lambda kv: kv[1])
    )


def test_translations_keep_their_placeholders():
    wrong = [
        (msgid, text)
        for (_context, msgid), text in chinese_catalog().items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
    ]
    assert not wrong


def test_pages_are_chinese_by_default_and_english_on_request(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "登录" in page
    switched = client.post(
        "/language", data={"code": "en", "next": "/auth/login"}, follow_redirects=True
    )
    assert "Sign in" in switched.get_data(as_text=True)
    assert 'lang="en"' in switched.get_data(as_text=True)


def test_api_errors_are_chinese_by_default_and_english_when_asked(client):
    assert client.get("/api/v1/people/").json["message"] == "请先登录。"
    english = client.get("/api/v1/people/", headers={"Accept-Language": "en"})
    assert english.json["message"] == "Please sign in first."


def test_validation_messages_are_translated(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.post("/api/v1/people/", json={"name": "", "id_number": "610302195003151235"})
    assert response.status_code == 422
    messages = [m for ms in response.json["errors"].values() for m in ms]
    assert messages and all(re.search(r"[\u4e00-\u9fff]", m) for m in messages), messages


def test_malformed_json_is_explained_in_chinese(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.post(
        "/api/v1/people/lookup", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json["errors"] == {"json": ["请求内容不是有效的 JSON。"]}


def test_switching_language_after_a_refused_form_returns_to_a_page_that_opens(client, auth, world):
    """A refused POST's page is at the form's action, which answers a GET with 405: the
    language switch goes back to the page the form was on."""
    import lxml.html

    auth.login_as(world.user("county_staff"))
    refused = client.post(
        "/people/new", data={"name": ""}, headers={"Referer": "http://localhost/people/new"}
    )
    assert refused.status_code == 422
    tree = lxml.html.fromstring(refused.get_data(as_text=True))
    back = tree.xpath("//form[contains(@action, '/language')]//input[@name='next']/@value")
    assert back == ["/people/new"]
    # Even a stale page that still says "go back to the POST": a page that opens, not a 405.
    switched = client.post(
        "/language", data={"code": "en", "next": f"/people/{world.person_a.id}/reveal-id"}
    )
    assert switched.status_code == 302
    assert client.get(switched.headers["Location"]).status_code == 200
