"""What the outbox asks the features that write messages (connected in each feature's
``events.py``, like the registry's signals)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

still_true = _signals.signal(
    "outbox-still-true",
    doc="""Asked by the dispatcher right before it sends an e-mail or SMS, under the message's
    row lock: each receiver that wrote such messages returns a reason (plain text, kept as
    the message's last error) why the message is no longer true and must not go (the visit
    it reminds of was made meanwhile, the person died), or None. A message with a reason is
    cancelled, never sent. Receivers look at the message's ``idempotency_key`` (the notice
    key they wrote) and return None quickly for the messages of others.

    sender: the OutboxMessage. kwargs: ``now`` (the dispatcher's clock).""",
)


def stale_reason(message, now) -> str | None:
    """The first reason a receiver gives why ``message`` must not be sent, or None."""
    for _receiver, reason in still_true.send(message, now=now):
        if reason:
            return str(reason)
    return None
