"""Sign-in and sign-out, password change, API tokens, and the admin's user pages."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from eldercare.auth import operations as ops
from eldercare.auth import sessions
from eldercare.auth.models import ApiToken, User
from eldercare.auth.schemas import (
    LoginSchema,
    PasswordChangeSchema,
    RegisterSchema,
    TokenCreateSchema,
    UserCreateSchema,
    UserQuery,
    UserUpdateSchema,
)
from eldercare.core.forms import list_page, submit_form
from eldercare.core.navigation import safe_next
from eldercare.core.permissions import (
    ROLE_LABELS,
    Role,
    get_visible_or_404,
    roles_required,
)
from eldercare.core.schemas import InputSchema
from eldercare.extensions import limiter

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("home.index"))
    form, errors = {}, {}
    if request.method == "POST":
        form = request.form
        # A refused sign-in is committed too: it keeps the failure count and any lockout.
        result = submit_form(LoginSchema(), ops.sign_in)
        errors = result.errors
        if result.ok and isinstance(result.value, ops.LoginRefused):
            errors = {"_schema": [str(result.value.message)]}
        elif result.ok:
            user, remember = result.value
            login_user(user, remember=remember)
            return redirect(safe_next(request.args.get("next")))
    status = 200 if not errors else 422
    return render_template("auth/login.html", form=form, errors=errors), status


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register():
    """Family members sign themselves up; staff verify each relative they ask to see."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if request.method == "GET":
        return render_template("auth/register.html", form={}, errors={})
    result = submit_form(RegisterSchema(), ops.register_family)
    if not result.ok:
        return render_template(
            "auth/register.html", form=request.form, errors=result.errors
        ), result.status
    login_user(result.value)
    flash(
        _("Your account is ready. Now ask to link your relative: staff will verify it."),
        "success",
    )
    return redirect(url_for("people.link_request"))


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated and not getattr(g, "token_auth", False):
        # The sign-in ends on the server: its session cookie and its "stay signed in"
        # cookie, wherever they were copied to, sign nobody in any more.
        user = current_user._get_current_object()
        submit_form(InputSchema(), lambda _d: ops.sign_out(user))
    logout_user()
    flash(_("You have signed out."), "info")
    response = redirect(url_for("auth.login"))
    # Unsent visit drafts (health notes) must not stay on a shared phone for the next user;
    # static/js/drafts.js deletes them too where the browser ignores this header (plain HTTP).
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    if request.method == "GET":
        return render_template("auth/password.html", errors={})
    # The user itself, not the proxy: it carries the key of this request's sign-in, which
    # the change keeps while it ends every other one.
    user = current_user._get_current_object()
    result = submit_form(
        PasswordChangeSchema(),
        lambda d: ops.change_password(user, d["current_password"], d["new_password"]),
    )
    if not result.ok:
        return render_template("auth/password.html", errors=result.errors), result.status
    # This sign-in stays; every other one has ended, and the API tokens are revoked.
    flash(_("Your password has been changed."), "success")
    if result.value:
        flash(
            _(
                "Your other sign-ins have ended and %(num)s API tokens were revoked: create "
                "new ones on the API tokens page where a system needs them.",
                num=result.value,
            ),
            "info",
        )
    else:
        flash(_("Your other sign-ins have ended."), "info")
    return redirect(url_for("home.index"))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    errors, secret = {}, None
    form = {}
    if request.method == "POST":
        form = request.form
        result = submit_form(
            TokenCreateSchema(),
            lambda d: ops.create_token(current_user, d["name"], d["expires_in_days"]),
        )
        errors = result.errors
        if result.ok:
            _token, secret = result.value
            form = {}
    return render_template(
        "auth/tokens.html",
        tokens=ops.tokens_of(current_user),
        secret=secret,
        form=form,
        errors=errors,
    ), (422 if errors else 200)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    token = get_visible_or_404(ApiToken, token_id)
    if token.user_id != current_user.id and current_user.role != Role.ADMIN:
        return redirect(url_for("auth.tokens"))
    submit_form(InputSchema(), lambda d: ops.revoke_token(token, current_user))
    flash(_("The token has been revoked."), "success")
    return redirect(url_for("auth.tokens"))


# --- administration of users -------------------------------------------------------------


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    page, args = list_page(UserQuery(), lambda args: ops.search_users(current_user, args))
    return render_template(
        "auth/users.html",
        page=page,
        q=args.get("q", ""),
        role_filter=args.get("role", ""),
        role_labels=ROLE_LABELS,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    if request.method == "GET":
        return _user_form({}, None, {})
    result = submit_form(UserCreateSchema(), lambda data: ops.create_user(data, current_user))
    if not result.ok:
        return _user_form(request.form, None, result.errors, result.status)
    flash(_("User %(name)s created.", name=result.value.username), "success")
    return redirect(url_for("auth.users"))


def _user_form(form, user: User | None, errors: dict, status: int = 200):
    regions, facilities = ops.scope_choices()
    return render_template(
        "auth/user_form.html",
        form=form,
        errors=errors,
        user=user,
        regions=regions,
        facilities=facilities,
        role_labels=ROLE_LABELS,
        sign_ins=sessions.open_sessions(user) if user else [],
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    user = get_visible_or_404(User, user_id)
    if request.method == "GET":
        fields = ("display_name", "email", "phone", "role", "region_id", "facility_id", "active")
        return _user_form({f: getattr(user, f) for f in fields}, user, {})
    result = submit_form(UserUpdateSchema(), lambda data: ops.update_user(user, data, current_user))
    if not result.ok:
        return _user_form(request.form, user, result.errors, result.status)
    flash(_("User %(name)s saved.", name=user.username), "success")
    return redirect(url_for("auth.users"))


@bp.route("/users/<int:user_id>/sessions/end", methods=["POST"])
@roles_required(Role.ADMIN)
def user_end_sessions(user_id: int):
    user = get_visible_or_404(User, user_id)
    result = submit_form(InputSchema(), lambda d: ops.end_sessions(user, current_user))
    if result.ok:
        ended, revoked = result.value
        flash(
            _(
                "%(name)s is signed out everywhere: %(n)s sign-ins ended, %(t)s API tokens "
                "revoked.",
                name=user.username,
                n=ended,
                t=revoked,
            ),
            "success",
        )
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@roles_required(Role.ADMIN)
def user_unlock(user_id: int):
    user = get_visible_or_404(User, user_id)
    submit_form(InputSchema(), lambda d: ops.unlock_user(user, current_user))
    flash(_("User %(name)s unlocked.", name=user.username), "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))
