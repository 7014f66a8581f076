"""Eldercare: the county elderly-care service platform (create_app factory)."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from eldercare.core.i18n import install_marshmallow_messages, install_template_gettext

install_marshmallow_messages()  # before any schema class is defined

from config import CONFIGS  # noqa: E402
from eldercare import events  # noqa: E402
from eldercare.extensions import (  # noqa: E402
    api,
    babel,
    bootstrap,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
)

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: Any = None) -> Flask:
    """Build the web application. ``config``: a name, a class, a dict, or None (env)."""
    app = Flask(
        __name__,
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
        static_folder=os.path.join(PROJECT_ROOT, "static"),
        instance_path=os.environ.get("ELDERCARE_INSTANCE", os.path.join(PROJECT_ROOT, "instance")),
    )
    _load_config(app, config)
    if app.config.get("PROXY_FIX_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    register_extensions(app)
    register_blueprints(app)
    events.connect_all()
    register_errorhandlers(app)
    register_commands(app)
    _register_request_hooks(app)
    return app


def _load_config(app: Flask, config: Any) -> None:
    overrides: dict[str, Any] = {}
    if isinstance(config, dict):
        overrides = config
        config = overrides.get("ENV_NAME")
    if config is None:
        # Production unless told otherwise: the development keys are published in this
        # repository, so a deployment that forgot the setting must refuse, not run on them.
        config = os.environ.get("ELDERCARE_CONFIG", "production")
    if isinstance(config, str):
        config = CONFIGS[config]
    app.config.from_object(config)
    app.config.update(overrides)
    missing = [k for k in app.config.get("REQUIRED_SECRETS", ()) if not app.config.get(k)]
    if missing:
        raise RuntimeError(
            "Refusing to start: production needs " + ", ".join(missing) + " to be set"
        )
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "eldercare.db")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {})["timeout"] = (
            app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
        )
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and app.config.get(
        "POSTGRES_JIT_OFF", True
    ):
        # The app's queries are short; PostgreSQL's JIT compiles the costlier plans (the
        # vacancy search's per-facility aggregates at city scale) for longer than they run.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args["options"] = (connect_args.get("options", "") + " -c jit=off").strip()
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        # Shared by every worker through Redis; one process alone can count in memory.
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    # CSRF is checked in our own hook so that token-authenticated API calls can skip it.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints need it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        # Take the write lock up front: a deferred transaction that later writes can fail
        # with SQLITE_BUSY when another writer got in between; IMMEDIATE waits instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def register_extensions(app: Flask) -> None:
    from eldercare.core.db import render_migration_item
    from eldercare.core.i18n import select_locale

    db.init_app(app)
    migrate.init_app(
        app, db, render_as_batch=True, compare_type=True, render_item=render_migration_item
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"),
    )
    install_template_gettext(app)
    limiter.init_app(app)
    bootstrap.init_app(app)
    api.init_app(app)
    from eldercare.core import openapi

    openapi.install(api)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "Personal API token"}
    )
    api.spec.components.security_scheme(
        "sessionCookie", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    from eldercare.auth.login import configure_login

    configure_login(app)


def register_blueprints(app: Flask) -> None:
    from eldercare.api_docs import bp as api_docs_bp
    from eldercare.audit.views import bp as audit_bp
    from eldercare.auth.api import blp as auth_api
    from eldercare.auth.views import bp as auth_bp
    from eldercare.beds.api import blp as beds_api
    from eldercare.beds.views import bp as beds_bp
    from eldercare.bookings.manage_views import bp as booking_admin_bp
    from eldercare.bookings.manage_views import desk_bp as booking_desk_bp
    from eldercare.bookings.views import bp as bookings_bp
    from eldercare.dashboard.views import bp as dashboard_bp
    from eldercare.daycare.report_views import bp as daycare_reports_bp
    from eldercare.daycare.views import bp as daycare_bp
    from eldercare.facilities.api import blp as facilities_api
    from eldercare.facilities.views import bp as facilities_bp
    from eldercare.feeds.views import bp as feeds_bp
    from eldercare.home.views import bp as home_bp
    from eldercare.notifications.views import bp as notifications_bp
    from eldercare.people.api import blp as people_api
    from eldercare.people.views import bp as people_bp
    from eldercare.public.views import bp as public_bp
    from eldercare.ratings.overview import bp as ratings_overview_bp
    from eldercare.ratings.public_views import bp as ratings_public_bp
    from eldercare.ratings.views import bp as ratings_bp
    from eldercare.regions.api import blp as regions_api
    from eldercare.regions.views import bp as regions_bp
    from eldercare.scheduler.views import bp as jobs_bp
    from eldercare.subsidies.existence.views import bp as existence_bp
    from eldercare.subsidies.report_views import bp as subsidy_files_bp
    from eldercare.subsidies.views import bp as subsidies_bp
    from eldercare.visits.api import blp as visits_api
    from eldercare.visits.views import bp as visits_bp

    for bp in (
        home_bp,
        auth_bp,
        regions_bp,
        people_bp,
        facilities_bp,
        beds_bp,
        daycare_bp,
        daycare_reports_bp,
        public_bp,
        bookings_bp,
        booking_admin_bp,
        booking_desk_bp,
        dashboard_bp,
        visits_bp,
        ratings_bp,
        ratings_overview_bp,
        ratings_public_bp,
        subsidies_bp,
        subsidy_files_bp,
        audit_bp,
        notifications_bp,
        feeds_bp,
        existence_bp,
        jobs_bp,
        api_docs_bp,
    ):
        app.register_blueprint(bp)
    for blp in (auth_api, regions_api, people_api, facilities_api, beds_api, visits_api):
        api.register_blueprint(blp)


def register_errorhandlers(app: Flask) -> None:
    from eldercare.core.errors import register_error_handlers

    register_error_handlers(app)


def register_commands(app: Flask) -> None:
    from eldercare.commands import register

    register(app)


def _register_request_hooks(app: Flask) -> None:
    from eldercare.auth.login import authenticate_bearer
    from eldercare.core.templating import install_template_globals

    install_template_globals(app)

    @app.before_request
    def _authenticate_and_protect():
        authenticate_bearer()
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if g.get("token_auth") or not app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.routing_exception is not None:
            return  # nothing is dispatched: the 404 or 405 is the answer, not a CSRF failure
        _signed_out_api_write_is_401()
        csrf.protect()

    def _signed_out_api_write_is_401():
        """An API write that needs a user, sent with none, is told to sign in (401, as the
        document says) before its missing CSRF token is looked at: a token for no session
        could never be right, and 400 would send the client looking for the wrong fault."""
        from flask_login import current_user

        from eldercare.core.errors import AppError

        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "allowed_roles", None) is not None and not current_user.is_authenticated:
            raise AppError(401)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Our pages run no inline script; only Swagger UI's page (from its package) does.
        scripts = "'self' 'unsafe-inline'" if request.path == "/api/v1/docs" else "'self'"
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"script-src {scripts}; frame-ancestors 'none'; form-action 'self'",
        )
        # Pages with personal data (residents' names, ID numbers) are never cached.
        if request.path.startswith(
            (
                "/people",
                "/api/",
                "/facilities",
                "/audit",
                "/auth",
                "/visits",
                "/inbox",
                "/admin",
                "/subsidies",
                "/dashboard",
                "/bookings",
                "/ratings",
            )
        ):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
