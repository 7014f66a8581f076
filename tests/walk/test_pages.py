"""Every page a user can reach by links from their home page opens, and speaks Chinese.

No list of pages: the walk follows the links each role is shown, so a page added later is
opened here as soon as something links to it."""

from __future__ import annotations

import re

import pytest

from tests.test_i18n_pages import english_words
from tests.walk.conftest import DEMO_USERS, demo_user
from tests.walk.crawl import walk

#: Data, not words: identifiers shown as code, file types, bed codes (一床一码), program and
#: section codes, scheme versions, e-mail addresses, demo user names.
DATA = re.compile(
    r"<code>.*?</code>|\.ics\b|\b\d{5}-[0-9A-F]{10}\b|\bv\d+\b|(?<![A-Za-z])[A-Z]{1,4}(?![a-z])|[\w.+*-]+@[\w.-]+"
)
NAMES = set(DEMO_USERS) | {"checker", "county2"}


def chinese_problems(html: str) -> set[str]:
    return {w for w in english_words(DATA.sub(" ", html)) if w not in NAMES}


@pytest.mark.parametrize("username", DEMO_USERS)
def test_every_reachable_page_opens_in_chinese(client, auth, demo, username):
    auth.login_as(demo_user(username))
    found = walk(client)
    assert len(found.pages) > 5
    assert not found.failures, found.failures
    english = {
        url: sorted(words) for url, html in found.pages.items() if (words := chinese_problems(html))
    }
    assert not english, english


def test_public_pages_open_in_chinese(client, demo):
    found = walk(client, start="/public/facilities")
    assert len(found.pages) > 2
    assert not found.failures, found.failures
    english = {
        url: sorted(words) for url, html in found.pages.items() if (words := chinese_problems(html))
    }
    assert not english, english
