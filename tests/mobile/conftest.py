"""Fixtures for the mobile tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from mobile_runner import ARTIFACTS


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/mobile (gitignored): screenshots land here for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
