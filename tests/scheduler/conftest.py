"""The scheduler's tests: the ``slow`` marker of the tests that start real processes."""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts real processes; seconds, not milliseconds")
