"""Browser-session helpers for Flask test-client tests: CSRF token from the page, login, logout, form posts."""

from __future__ import annotations

import re

from workflows.demo import DEMO_PASSWORD

META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def token_of(page: str) -> str:
    match = META_TOKEN.search(page)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


def login(client, username: str, password: str = DEMO_PASSWORD):
    token = token_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def logout(client) -> None:
    token = token_of(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def post(client, path: str, data: dict, page: str = "/"):
    """POST a form with the CSRF token scraped from `page`."""
    token = token_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})
