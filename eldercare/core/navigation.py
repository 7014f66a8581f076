"""Where to go next: the one check of a ``next`` target a page was given."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import url_for

# Browsers read a backslash as a slash and drop tabs and newlines: "/\\evil.com" and
# "/\t/evil.com" both lead to //evil.com.
_UNSAFE_IN_NEXT = re.compile(r"[\\\x00-\x1f\x7f]")


def safe_next(target: str | None) -> str:
    """A path on this site to go to after signing in; anything else means the home page."""
    if target and target.startswith("/") and not _UNSAFE_IN_NEXT.search(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("home.index")
