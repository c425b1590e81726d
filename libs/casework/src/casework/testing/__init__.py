"""Fixtures other teams can reuse: a throwaway PostgreSQL, a nats-server, a fake clock.

Register them in a conftest with `pytest_plugins = ["casework.testing.postgres", ...]`.
"""
