"""Reading what the receivers of a feature's signal answered (the signals themselves live with
the feature that sends them: people/signals.py, facilities/signals.py)."""

from __future__ import annotations


def answers(signal, sender, **kwargs) -> list:
    """The non-empty values the receivers of ``signal`` returned, in connection order."""
    return [value for _receiver, value in signal.send(sender, **kwargs) if value is not None]


def merged(signal, sender, **kwargs) -> dict:
    """The ``{name: value}`` sections every receiver of ``signal`` returned, as one dict."""
    sections: dict = {}
    for answer in answers(signal, sender, **kwargs):
        sections.update(answer)
    return sections
