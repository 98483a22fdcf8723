"""Signing a Flask test client in through the sign-in form, as a browser does:
fetch the form (its pre-session cookie and CSRF token), then post it."""
from __future__ import annotations

import re

FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client, url: str = "/login") -> str:
    """The CSRF token of the sign-in form (sets the pre-session cookie on ``client``)."""
    page = client.get(url).get_data(as_text=True)
    m = FORM_TOKEN.search(page)
    assert m, "the sign-in form has no csrf_token field"
    return m.group(1)


def sign_in(client, username: str, password: str = "password123", url: str = "/login"):
    """Post the sign-in form for ``username``; returns the response (302 on success)."""
    token = form_token(client, url)
    return client.post(url, data={"username": username, "password": password, "csrf_token": token})
