"""Rendered pages in Chinese carry no stray English (strings someone forgot to translate)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

# Words that are the same in Chinese text: standards, formats, product and protocol names.
ALLOWED = {
    "API",
    "GB",
    "T",
    "ID",
    "IP",
    "JSON",
    "CSV",
    "xlsx",
    "csv",
    "English",
    "UTF",
    "YYYY",
    "MM",
    "DD",
    "Bearer",
    "Authorization",
    "X",
    "OpenAPI",
}
DATA = re.compile(r"^(w_\w+|rel\d+|ec_\w+|\w+@[\w.]+)$")  # test data: user names, tokens
WORD = re.compile(r"[A-Za-z][A-Za-z_@.]*[A-Za-z]|[A-Za-z]")


class _Text(HTMLParser):
    """Visible text plus the texts a user meets in attributes (placeholders, labels)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "aria-label", "title", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    words = set()
    for part in parser.parts:
        for word in WORD.findall(part):
            if word not in ALLOWED and not DATA.match(word):
                words.add(word)
    return words


PAGES = {
    "admin": [
        "/",
        "/auth/users",
        "/auth/users/new",
        "/auth/tokens",
        "/auth/password",
        "/regions/",
        "/audit/",
        "/facilities/new",
    ],
    "county_staff": [
        "/",
        "/people/",
        "/people/new",
        "/people/import",
        "/people/links",
        "/facilities/",
        "/regions/",
        "/audit/",
    ],
    "township_staff": ["/", "/people/"],
    "visitor": ["/"],
    "operator": ["/", "/facilities/"],
    "family": ["/", "/people/links/request"],
    "assessor": ["/", "/ratings/mine", "/auth/tokens"],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_chinese_pages_have_no_untranslated_english(client, auth, world, role):
    auth.login_as(world.user(role))
    client.post(f"/people/{world.person_a.id}/reveal-id")  # something for the audit log
    pages = list(PAGES[role])
    if role in ("admin", "county_staff", "township_staff"):
        pages += [f"/people/{world.person_a.id}", f"/people/{world.person_a.id}/edit"]
    if role in ("admin", "county_staff", "operator"):
        pages += [f"/facilities/{world.facility_a.id}", f"/facilities/{world.facility_a.id}/edit"]
    found = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        words = english_words(response.get_data(as_text=True))
        if words:
            found[url] = sorted(words)
    assert not found, found


def test_login_and_error_pages_have_no_untranslated_english(client):
    assert not english_words(client.get("/auth/login").get_data(as_text=True))
    assert not english_words(client.get("/no-such-page").get_data(as_text=True))
