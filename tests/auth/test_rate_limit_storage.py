"""With REDIS_URL set, sign-in limits are counted in Redis, shared by every web worker."""

import pytest

from eldercare import create_app
from eldercare.extensions import limiter

REDIS = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_available():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")


@pytest.mark.no_transaction
def test_login_limit_is_kept_in_redis(app, redis_available):
    other = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_STORAGE_URI": None,
            "REDIS_URL": REDIS,
            "LOGIN_RATE_LIMIT": "2 per minute",
        }
    )
    try:
        assert other.config["RATELIMIT_STORAGE_URI"] == REDIS
        assert "redis" in type(limiter.storage).__name__.lower()
        limiter.reset()
        client = other.test_client()
        statuses = [
            client.post("/auth/login", data={"username": "nobody", "password": "x"}).status_code
            for _ in range(3)
        ]
        assert statuses == [422, 422, 429]
    finally:
        limiter.reset()
        limiter.init_app(app)  # back to the suite's in-memory storage
