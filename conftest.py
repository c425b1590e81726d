"""Shared pytest fixtures: real servers, started and stopped by the tests themselves."""

pytest_plugins = ["casework.testing.postgres", "casework.testing.nats"]
