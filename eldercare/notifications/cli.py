"""``flask outbox dispatch``: a dispatcher process beside the scheduler's own dispatch job, as
many as wanted on any machine (each message is claimed by one of them); and ``flask outbox
requeue``, the command-line twin of the administrators' button."""

from __future__ import annotations

import logging

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from eldercare.core.processes import configure_logging, stop_on_signals, stop_when
from eldercare.extensions import db
from eldercare.notifications import operations as ops
from eldercare.notifications.models import Channel
from eldercare.notifications.tasks import dispatch_outbox

log = logging.getLogger("eldercare.outbox")

outbox_cli = AppGroup("outbox", help="The outbox of e-mail and SMS messages.")

#: Messages per run of the loop: a full run is followed at once by the next.
BATCH = 100


@outbox_cli.command("dispatch")
@click.option("--once", is_flag=True, help="One run, then exit.")
@click.option(
    "--idle",
    type=click.FloatRange(min=0.1, max=3600),
    default=None,
    help="Seconds to wait when nothing was due (default OUTBOX_DISPATCH_SECONDS).",
)
def dispatch(once: bool, idle: float | None) -> None:
    """Send due e-mail and SMS until SIGTERM or SIGINT, which stop it between two messages.
    A database that goes away is waited for (the messages wait in it)."""
    configure_logging()
    app = current_app._get_current_object()
    wait = idle if idle is not None else app.config["OUTBOX_DISPATCH_SECONDS"]
    stop = stop_on_signals(log, "the message being sent is recorded")
    total = 0
    with stop_when(stop.is_set):
        while not stop.is_set():
            try:
                sent = dispatch_outbox(limit=BATCH)
            except (sa.exc.SQLAlchemyError, OSError) as err:
                log.warning("outbox: the database failed (%s); trying again", err)
                db.session.rollback()
                db.session.remove()
                sent = 0
            total += sent
            if sent:
                log.info("outbox: %d sent", sent)
            if once:
                break
            if sent < BATCH:
                stop.wait(wait)
    log.info("outbox dispatcher stopped: %d sent", total)


@outbox_cli.command("requeue")
@click.argument("channel", type=click.Choice([Channel.EMAIL.value, Channel.SMS.value]))
def requeue(channel: str) -> None:
    """Send every failed (dead) message of CHANNEL again, e.g. once the mail server works."""
    count = ops.requeue_dead(channel, by=None)
    db.session.commit()
    click.echo(f"{channel}: {count} requeued")
