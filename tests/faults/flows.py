"""Client-side helpers for the fault tests: log in, refresh, log out against the example app."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}


@dataclass
class Session:
    """The tokens of one login, as a browser would hold them."""

    access: str
    refresh: str
    csrf: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    @property
    def refresh_headers(self) -> dict[str, str]:
        return {"Cookie": f"refresh_token={self.refresh}; csrf_refresh_token={self.csrf}", "X-CSRF-Token": self.csrf}


def login(client: httpx.Client, user: str = "bob") -> Session:
    response = client.post("/auth/login", json={"username": user, "password": PASSWORDS[user]})
    client.cookies.clear()
    assert response.status_code == 200, response.text
    return Session(
        response.json()["access_token"], response.cookies["refresh_token"], response.cookies["csrf_refresh_token"]
    )


def refresh(client: httpx.Client, session: Session) -> httpx.Response:
    """POST /auth/refresh; on success ``session`` now holds the rotated tokens."""
    response = client.post("/auth/refresh", headers=session.refresh_headers)
    client.cookies.clear()
    if response.status_code == 200:
        session.access = response.json()["access_token"]
        session.refresh = response.cookies["refresh_token"]
        session.csrf = response.cookies["csrf_refresh_token"]
    return response


def logout(client: httpx.Client, session: Session) -> httpx.Response:
    response = client.post("/auth/logout", headers=session.refresh_headers)
    client.cookies.clear()
    return response


def me(client: httpx.Client, session: Session | None) -> httpx.Response:
    response = client.get("/me", headers=session.bearer if session else {})
    client.cookies.clear()
    return response
