"""Fixtures of the web UI tests (data builders live in webdata.py)."""
from __future__ import annotations

import re

import pytest

from signin import sign_in
from webdata import ReviewData, build_review_data

@pytest.fixture
def rd(app, world) -> ReviewData:
    """Review data in the test database (both backends)."""
    return build_review_data(app, world)


CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


class Browser:
    """A signed-in test client that sends the CSRF token like the pages' scripts."""

    def __init__(self, client, username: str, password: str = "password123"):
        self.client = client
        r = sign_in(client, username, password)
        assert r.status_code == 302, r.get_data(as_text=True)[:300]
        page = client.get("/").get_data(as_text=True)
        self.csrf = CSRF_RE.search(page).group(1)
        assert self.csrf

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def post(self, url, json=None, **kw):
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.post(url, json=json, headers=headers, **kw)

    def form(self, url, data):
        return self.client.post(url, data={"csrf_token": self.csrf, **data})

    def patch(self, url, json=None):
        return self.client.patch(url, json=json, headers={"X-CSRF-Token": self.csrf})

    def delete(self, url):
        return self.client.delete(url, headers={"X-CSRF-Token": self.csrf})


@pytest.fixture
def signed_in(app):
    """signed_in("bio") -> a Browser signed in as that user (a fresh client each time)."""
    return lambda username: Browser(app.test_client(), username)
