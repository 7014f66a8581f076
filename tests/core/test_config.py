"""Configuration: production refuses to start without secrets, database URLs, defaults,
and the cookie and header settings that the browser sees."""

from __future__ import annotations

import os

import pytest

import config
from config import DevelopmentConfig, ProductionConfig, database_url_from_env
from eldercare import create_app
from tests.builders import PASSWORD

SECRETS = {"SECRET_KEY": "s3cret-for-a-test", "DATA_ENCRYPTION_KEY": "a-data-key-for-a-test"}


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A throw-away instance folder, so no test writes into the project's instance/."""
    folder = tmp_path / "instance"
    monkeypatch.setenv("ELDERCARE_INSTANCE", str(folder))
    return folder


def production(**overrides):
    settings = {"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://", **SECRETS}
    settings.update(overrides)
    return create_app(settings)


# --- production refuses to start without its secrets ------------------------------------


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATA_ENCRYPTION_KEY"])
@pytest.mark.parametrize("value", [None, ""])
def test_production_refuses_to_start_without_a_secret(instance, missing, value):
    with pytest.raises(RuntimeError) as info:
        production(**{missing: value})
    assert missing in str(info.value)


def test_production_names_every_missing_secret(instance):
    with pytest.raises(RuntimeError) as info:
        production(SECRET_KEY=None, DATA_ENCRYPTION_KEY=None)
    assert "SECRET_KEY" in str(info.value) and "DATA_ENCRYPTION_KEY" in str(info.value)


def test_production_by_name_with_unset_environment_refuses(instance, monkeypatch):
    """The environment is read when config.py is imported: unset means None on the class."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEY", None)
    with pytest.raises(RuntimeError):
        create_app("production")


def test_production_starts_with_its_secrets_and_secure_cookies(instance):
    app = production()
    assert app.config["SECRET_KEY"] == SECRETS["SECRET_KEY"]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    assert not app.config.get("DEBUG")
    assert not app.config.get("TESTING")


def test_development_and_testing_need_no_secrets(instance):
    for name in ("development", "testing"):
        app = create_app({"ENV_NAME": name, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        assert app.config["SECRET_KEY"] and app.config["DATA_ENCRYPTION_KEY"]
        assert not app.config.get("DEBUG")


# --- database URLs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/care", "postgresql+psycopg://u:p@db:5432/care"),
        ("postgresql://u:p@db:5432/care", "postgresql+psycopg://u:p@db:5432/care"),
        ("postgresql://postgres@127.0.0.1/x", "postgresql+psycopg://postgres@127.0.0.1/x"),
        ("postgresql+psycopg://u@db/care", "postgresql+psycopg://u@db/care"),
        ("sqlite:////srv/eldercare/care.db", "sqlite:////srv/eldercare/care.db"),
    ],
)
def test_database_url_from_env_points_postgres_at_psycopg3(monkeypatch, given, expected):
    monkeypatch.setenv("ELDERCARE_TEST_DB", given)
    assert database_url_from_env("ELDERCARE_TEST_DB") == expected


@pytest.mark.parametrize("value", [None, ""])
def test_database_url_from_env_unset_is_none(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("ELDERCARE_TEST_DB", raising=False)
    else:
        monkeypatch.setenv("ELDERCARE_TEST_DB", value)
    assert database_url_from_env("ELDERCARE_TEST_DB") is None


def test_database_url_reads_database_url_by_default(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://a@b/c")
    assert database_url_from_env() == "postgresql+psycopg://a@b/c"


def test_default_database_is_a_sqlite_file_in_the_instance_folder(instance, monkeypatch):
    monkeypatch.setattr(DevelopmentConfig, "SQLALCHEMY_DATABASE_URI", None)
    app = create_app("development")
    assert app.instance_path == str(instance)
    path = os.path.join(str(instance), "eldercare.db")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{path}"
    assert instance.is_dir()
    # SQLite waits for a busy writer instead of failing at once.
    timeout = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["timeout"]
    assert timeout == app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000


def test_postgres_gets_no_sqlite_connect_arguments(instance):
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/db"}
    )
    connect_args = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
    assert "timeout" not in connect_args  # psycopg would refuse SQLite's busy timeout
    assert connect_args["options"] == "-c jit=off"


def test_engine_options_of_the_class_are_not_modified(instance):
    create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert "connect_args" not in config.Config.SQLALCHEMY_ENGINE_OPTIONS


# --- what the browser gets --------------------------------------------------------------


def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_session_cookie_is_httponly_and_samesite_lax_on_login(client, make_user):
    make_user("admin", username="cookie_admin")
    response = client.post(
        "/auth/login", data={"username": "cookie_admin", "password": PASSWORD, "remember": "1"}
    )
    assert response.status_code == 302
    cookies = _set_cookies(response)
    for name in ("session", "remember_token"):
        assert name in cookies, cookies
        assert "HttpOnly" in cookies[name]
        assert "SameSite=Lax" in cookies[name]


def test_security_headers(client):
    response = client.get("/auth/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_api_responses_are_not_cached(client):
    assert client.get("/api/v1/auth/me").headers["Cache-Control"] == "no-store"


def test_with_no_setting_the_app_is_production_and_refuses_without_secrets(monkeypatch):
    from config import ProductionConfig

    monkeypatch.delenv("ELDERCARE_CONFIG", raising=False)
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    monkeypatch.setattr(ProductionConfig, "DATA_ENCRYPTION_KEY", None)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


@pytest.mark.no_transaction
def test_demo_data_is_refused_under_production(tmp_path):
    production = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "s" * 40,
            "DATA_ENCRYPTION_KEY": "k" * 40,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "prod.db"),
        }
    )
    from eldercare.devtools.cli import demo  # a flask.commands entry point, not in app.cli

    result = production.test_cli_runner().invoke(demo)
    assert result.exit_code != 0
    assert "production" in result.output
