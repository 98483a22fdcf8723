"""Minimal client for the Saola server's API: device sign-in and reference data.

``requests`` is imported only when a request is made, so the module imports
anywhere (tests, Android before the first sync). Any answer that is not the
expected JSON (a captive portal's HTML page with status 200, a proxy error)
is an ApiError, never data.
"""
from __future__ import annotations


class ApiError(Exception):
    """The server could not be reached or answered something unusable.

    ``status`` is the HTTP status (None when there was no answer).
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _error_message(body) -> str | None:
    # The server answers {"error": {"code", "message", "details"}}; accept a flat {"message"} too.
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    if isinstance(err, dict):
        return err.get("message") or err.get("code")
    return body.get("message") or (err if isinstance(err, str) else None)


class ApiClient:
    """Talks to ``{server}/api/v1``; ``token`` is the device token after sign-in."""

    def __init__(self, server: str, token: str | None = None, timeout: float = 20.0, session=None):
        server = (server or "").strip().rstrip("/")
        if not server.startswith(("http://", "https://")):
            raise ApiError(f"server address {server!r} must start with http:// or https://")
        self.server = server
        self.token = token
        self.timeout = timeout
        self._session = session

    @property
    def session(self):
        """The requests.Session (created on first use)."""
        if self._session is None:
            import requests  # lazy: not needed to import the app's core

            self._session = requests.Session()
        return self._session

    def _request(self, method: str, path: str, **kw):
        import requests

        url = f"{self.server}/api/v1{path}"
        headers = kw.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.setdefault("Accept", "application/json")
        try:
            resp = self.session.request(method, url, headers=headers, timeout=self.timeout, **kw)
        except requests.RequestException as exc:
            raise ApiError(f"cannot reach {self.server}: {exc.__class__.__name__}: {exc}") from None
        ctype = resp.headers.get("Content-Type", "")
        body = None
        if "json" in ctype:
            try:
                body = resp.json()
            except ValueError:
                body = None
        if resp.status_code >= 400:
            raise ApiError(f"{method} {path}: HTTP {resp.status_code}: {_error_message(body) or resp.reason}",
                           resp.status_code)
        if body is None:
            raise ApiError(f"{method} {path}: expected JSON, got {ctype or 'no content type'} "
                           f"(a captive portal or proxy?)", resp.status_code)
        return body

    def sign_in(self, username: str, password: str, device_id: str, device_name: str) -> dict:
        """Register this device for a ranger; returns {"token", "user"} and keeps the token."""
        body = self._request("POST", "/auth/device", json={
            "username": username, "password": password, "device_id": device_id, "device_name": device_name})
        if not isinstance(body, dict) or not isinstance(body.get("token"), str) or not body["token"]:
            raise ApiError("POST /auth/device: the answer has no token")
        self.token = body["token"]
        return body

    @staticmethod
    def _items(body, path: str, key: str) -> list:
        # Accept a bare list or an envelope {"items": [...]} / {key: [...]}.
        if isinstance(body, list):
            return body
        if isinstance(body, dict):
            for k in ("items", key, "data"):
                if isinstance(body.get(k), list):
                    return body[k]
        raise ApiError(f"GET {path}: expected a list of {key}")

    def _all_pages(self, path: str, key: str, params: dict | None = None) -> list:
        # List endpoints answer pages {"items", "next_offset"}; follow them to the end.
        params = dict(params or {}, limit=500)
        out: list = []
        for _ in range(1000):  # a bound, not an expected count: 500,000 areas would be a bug
            body = self._request("GET", path, params=params)
            out.extend(self._items(body, path, key))
            nxt = body.get("next_offset") if isinstance(body, dict) else None
            if nxt is None:
                return out
            params["offset"] = nxt
        raise ApiError(f"GET {path}: pagination does not end")

    def areas(self) -> list[dict]:
        """Protected areas the ranger belongs to (every page)."""
        return self._all_pages("/areas", "areas")

    def programs(self, area_id: str) -> list[dict]:
        """Monitoring programs of a protected area (every page)."""
        return self._all_pages("/programs", "programs", {"area_id": area_id})

    def protocols(self) -> list[dict]:
        """Active protocol definitions (full JSON definitions, checked by the caller)."""
        return self._items(self._request("GET", "/protocols"), "/protocols", "protocols")

    def species(self, program_id: str) -> list[dict]:
        """The program's species list (scientific, Vietnamese, English names...)."""
        path = f"/programs/{program_id}/species"
        return self._items(self._request("GET", path), path, "species")

    def reference(self, area_id: str) -> dict:
        """The area's sync reference: boundary, transects, the offline basemap's description (and more)."""
        body = self._request("GET", "/sync/reference", params={"area_id": area_id})
        if not isinstance(body, dict):
            raise ApiError("GET /sync/reference: expected an object")
        return body
