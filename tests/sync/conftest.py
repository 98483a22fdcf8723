"""Fixtures of the sync client tests (helpers in synchelp.py)."""
import pytest

from synchelp import Site


@pytest.fixture
def site(app, world, tmp_path):
    return Site(app, world, tmp_path)



@pytest.fixture
def site_factory(app, world, tmp_path):
    """A new site (own area, program, rangers) per hypothesis example, in the test's database."""
    n = [0]

    def make():
        n[0] += 1
        return Site(app, world, tmp_path / f"ex{n[0]}", suffix=f"-{n[0]}"), world

    return make
