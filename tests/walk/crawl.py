"""A user's walk through the app: every page a role can reach from its home page by links,
the forms on them and the files (exports, prints) they offer, found by reading the HTML.

The walk tests use it so that a page, form or export added later is tried without anyone
listing it: what a user can reach, the tests reach."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import lxml.html

#: Files a page offers for download or print: tried by the export walk, not crawled.
FILE = re.compile(r"(\.(xlsx|csv|ics|pdf|zip)(\?|$))|([?&]print=1)")
#: Links that leave the walk: signing out, switching language, the API and its document.
SKIP = re.compile(r"^/(auth/logout|static/|api/|language)|^/apidocs|/reveal")
#: At most this many URLs of one shape (digits replaced) are walked: one person page tells
#: as much as two thousand.
PER_SHAPE = 2


def shape(url: str) -> str:
    parts = urlsplit(url)
    query = sorted(k for k, _v in parse_qsl(parts.query, keep_blank_values=True))
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(query) if query else "")


@dataclass
class Form:
    page: str
    action: str
    method: str
    element: lxml.html.FormElement

    def offered(self) -> bool:
        """Whether a user can send it: a form shown read-only (its fieldset or its button
        disabled, as a day-care center's settings are to county staff) is not offered."""
        buttons = self.element.xpath(
            ".//button[not(@type) or @type='submit'] | .//input[@type='submit' or @type='image']"
        )
        if not buttons:  # sent by a change (a select that submits), or by Enter
            return any(
                not el.xpath("ancestor::fieldset[@disabled]")
                for el in self.fields()
                if el.get("type") != "hidden"
            )
        return any(
            b.get("disabled") is None and not b.xpath("ancestor::fieldset[@disabled]")
            for b in buttons
        )

    def fields(self) -> list[lxml.html.HtmlElement]:
        return [
            el
            for el in self.element.iter("input", "textarea", "select")
            if el.get("name") and not el.get("disabled")
        ]


@dataclass
class Walk:
    pages: dict[str, str] = field(default_factory=dict)  # url -> html
    forms: list[Form] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # url -> page it was found on
    failures: dict[str, int] = field(default_factory=dict)  # url -> status


def _links(page: str, html: lxml.html.HtmlElement) -> list[str]:
    out = []
    for href in html.xpath("//a/@href"):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "lang"])
        out.append(parts.path + ("?" + query if query else ""))
    return out


def walk(client, start: str = "/", limit: int = 150) -> Walk:
    """Breadth-first over the GET links of the pages a signed-in client can open."""
    result = Walk()
    seen_shapes: dict[str, int] = {}
    queue = deque([start])
    queued = {start}
    while queue and len(result.pages) < limit:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code >= 500 or response.status_code in (400, 405):
            result.failures[url] = response.status_code
            continue
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        text = response.get_data(as_text=True)
        result.pages[url] = text
        html = lxml.html.fromstring(text)
        for form in html.forms:
            method = (form.get("method") or "get").lower()
            action = form.get("action") or url
            result.forms.append(Form(url, action, method, form))
        for link in _links(url, html):
            if SKIP.search(link) or link in queued:
                continue
            if FILE.search(link):
                result.files.setdefault(link, url)
                continue
            key = shape(link)
            if seen_shapes.get(key, 0) >= PER_SHAPE:
                continue
            seen_shapes[key] = seen_shapes.get(key, 0) + 1
            queued.add(link)
            queue.append(link)
    return result


def form_values(form: Form) -> list[tuple[str, str]]:
    """What the browser would send for the form as it stands (first option of a select,
    checked boxes only)."""
    values: list[tuple[str, str]] = []
    for el in form.fields():
        name = el.get("name")
        if el.tag == "select":
            chosen = el.xpath(".//option[@selected]") or el.xpath(".//option")
            if chosen:
                values.append((name, chosen[0].get("value", chosen[0].text_content())))
        elif el.tag == "textarea":
            values.append((name, el.text or ""))
        elif el.get("type") in ("checkbox", "radio"):
            if el.get("checked") is not None:
                values.append((name, el.get("value", "on")))
        elif el.get("type") in ("submit", "button", "image", "reset", "file"):
            continue
        else:
            values.append((name, el.get("value", "")))
    return values


def error_texts(html: str) -> list[str]:
    """The messages a refused form shows: field messages and alerts, one entry each."""
    tree = lxml.html.fromstring(html)
    out = []
    for el in tree.xpath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' invalid-feedback ')]"
    ):
        out.append(el.text_content().strip())
    for alert in tree.xpath(
        "//*[contains(@class, 'alert-danger') or contains(@class, 'alert-warning')]"
    ):
        children = alert.xpath("./div|./li|./p|./ul/li")
        if children:
            out.extend(c.text_content().strip() for c in children)
        else:
            out.append(alert.text_content().strip())
    return [t for t in out if t]
