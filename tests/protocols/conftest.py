"""Fixtures for the protocol tests."""
from protocol_records import good  # noqa: F401  (fixture)
