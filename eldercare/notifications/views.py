"""Every user's inbox of in-app messages, and the administrators' view of the outbox."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.forms import FormResult, list_page, submit_form
from eldercare.core.navigation import safe_next
from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.core.schemas import InputSchema
from eldercare.notifications import operations as ops
from eldercare.notifications.models import (
    CHANNEL_LABELS,
    STATUS_LABELS,
    Channel,
    OutboxMessage,
    OutboxStatus,
)
from eldercare.notifications.schemas import BackToSchema, InboxQuery, OutboxQuery, RequeueSchema

bp = Blueprint("notifications", __name__)
EVERYONE = tuple(Role)
STATUS_COLOURS = {
    OutboxStatus.PENDING.value: "warning",
    OutboxStatus.SENDING.value: "info",
    OutboxStatus.SENT.value: "success",
    OutboxStatus.DEAD.value: "danger",
    OutboxStatus.CANCELLED.value: "secondary",
}


@bp.after_request
def _never_cached(response):
    # Messages speak of residents and their care: not for shared caches or the back button.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- the inbox ------------------------------------------------------------------------------


def _own_message(message_id: int) -> OutboxMessage:
    """One of the signed-in user's in-app messages (an administrator's inbox is also only
    their own: they see other people's messages in the outbox, not as theirs to mark)."""
    message = get_visible_or_404(OutboxMessage, message_id)
    if message.user_id != current_user.id or message.channel != Channel.INAPP:
        abort(404)
    return message


def _back(result: FormResult):
    if not result.ok:
        result.flash_errors()
        return redirect(url_for("notifications.inbox"))
    target = result.value
    return redirect(safe_next(target) if target else url_for("notifications.inbox"))


def _read_and_return(action):
    def run(data: dict) -> str | None:
        action()
        return data.get("next")

    return run


@bp.route("/inbox")
@roles_required(*EVERYONE)
def inbox():
    page, _args = list_page(InboxQuery(), lambda args: ops.inbox_query(current_user))
    return render_template(
        "notifications/inbox.html",
        page=page,
        unread=ops.unread_count(current_user),
        here=request.full_path.rstrip("?"),
    )


@bp.route("/inbox/<int:message_id>/read", methods=["POST"])
@roles_required(*EVERYONE)
def read(message_id: int):
    message = _own_message(message_id)
    return _back(
        submit_form(BackToSchema(), _read_and_return(lambda: ops.mark_read(message, current_user)))
    )


@bp.route("/inbox/read-all", methods=["POST"])
@roles_required(*EVERYONE)
def read_all():
    return _back(
        submit_form(BackToSchema(), _read_and_return(lambda: ops.mark_all_read(current_user)))
    )


@bp.route("/inbox/<int:message_id>/open", methods=["POST"])
@roles_required(*EVERYONE)
def open_message(message_id: int):
    """Follow a message's link, marking it read on the way."""
    message = _own_message(message_id)
    result = submit_form(InputSchema(), lambda data: ops.mark_read(message, current_user).link)
    if result.ok and result.value:
        return redirect(safe_next(result.value))
    return _back(FormResult(errors=result.errors))  # no link: back to the inbox


# --- the administrators' outbox -------------------------------------------------------------


@bp.route("/admin/outbox")
@roles_required(Role.ADMIN)
def outbox():
    page, args = list_page(
        OutboxQuery(),
        lambda args: ops.outbox_query(current_user, args.get("status"), args.get("channel")),
    )
    return render_template(
        "notifications/outbox.html",
        page=page,
        args=args,
        counts=ops.outbox_counts(current_user),
        channels=CHANNEL_LABELS,
        statuses=STATUS_LABELS,
        colours=STATUS_COLOURS,
    )


@bp.route("/admin/outbox/<int:message_id>")
@roles_required(Role.ADMIN)
def outbox_message(message_id: int):
    message = get_visible_or_404(OutboxMessage, message_id)
    return render_template(
        "notifications/message.html",
        message=message,
        colours=STATUS_COLOURS,
        can_retry=message.can_retry,
    )


@bp.route("/admin/outbox/<int:message_id>/retry", methods=["POST"])
@roles_required(Role.ADMIN)
def retry(message_id: int):
    message = get_visible_or_404(OutboxMessage, message_id)
    result = submit_form(InputSchema(), lambda data: ops.retry(message, current_user))
    if result.ok:
        flash(_("The message will be sent again shortly."), "success")
    else:
        result.flash_errors()
    return redirect(url_for("notifications.outbox_message", message_id=message_id))


@bp.route("/admin/outbox/requeue", methods=["POST"])
@roles_required(Role.ADMIN)
def requeue():
    """Every failed message of a channel is sent again (the mail server works again)."""
    result = submit_form(
        RequeueSchema(), lambda data: ops.requeue_dead(data["channel"], current_user)
    )
    if result.ok:
        flash(_("%(n)s failed messages will be sent again shortly.", n=result.value), "success")
    else:
        result.flash_errors()
    return redirect(url_for("notifications.outbox"))
