"""Rating scheme pages: the shipped schemes and a county's copies, copying one, editing an
item of a copy no round uses yet."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, role_of, roles_required
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Scheme
from eldercare.ratings.schemas import CopySchema, ItemSchema
from eldercare.ratings.views.common import KEEPERS, STAFF, bp
from eldercare.regions import areas as area


@bp.route("/schemes")
@roles_required(*STAFF)
def schemes():
    return render_template("ratings/schemes.html", schemes=ops.schemes_for(current_user))


def _scheme_page(
    scheme: Scheme, errors=None, failed: int | None = None, status: int = 200, form=None
):
    return render_template(
        "ratings/scheme.html",
        scheme=scheme,
        form=form or {},
        can_edit=ops.can_edit(current_user, scheme),
        can_copy=role_of(current_user) in KEEPERS,
        counties=area.county_choices(current_user) if role_of(current_user) == Role.ADMIN else [],
        errors=errors or {},
        failed=failed,
    ), status


@bp.route("/schemes/<int:scheme_id>")
@roles_required(*STAFF)
def scheme(scheme_id: int):
    return _scheme_page(get_visible_or_404(Scheme, scheme_id))


@bp.route("/schemes/<int:scheme_id>/copy", methods=["POST"])
@roles_required(*KEEPERS)
def copy(scheme_id: int):
    original = get_visible_or_404(Scheme, scheme_id)

    def action(data):
        county = None
        if role_of(current_user) == Role.ADMIN:
            county = ops.county_by_id(data.get("county_id"))
            if county is None:
                abort(422)
        return ops.copy_scheme(original, current_user, county)

    result = submit_form(CopySchema(), action)
    if not result.ok:
        return _scheme_page(original, result.errors, status=result.status, form=request.form)
    flash(
        _("Copied as version %(version)s for your county.", version=result.value.version), "success"
    )
    return redirect(url_for("ratings.scheme", scheme_id=result.value.id))


@bp.route("/schemes/<int:scheme_id>/items/<int:item_id>", methods=["POST"])
@roles_required(*KEEPERS)
def update_item(scheme_id: int, item_id: int):
    found = get_visible_or_404(Scheme, scheme_id)
    item = ops.item_of(found, item_id)
    if item is None:
        abort(404)
    result = submit_form(ItemSchema(), lambda d: ops.update_item(item, d, current_user))
    if not result.ok:
        # A refusal was rolled back: the page shows the scheme as stored.
        return _scheme_page(
            found, result.errors, failed=item.id, status=result.status, form=request.form
        )
    flash(_("Item saved."), "success")
    return redirect(url_for("ratings.scheme", scheme_id=found.id, _anchor=f"item-{item.id}"))
