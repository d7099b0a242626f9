"""Every cookie of the study server is ``Secure`` when the request came over
HTTPS: directly (an ``https`` scheme) or through a trusted reverse proxy
(``X-Forwarded-Proto: https``); a client that is not a trusted proxy cannot
claim HTTPS with the header, and plain HTTP gets no ``Secure`` (a browser
would drop the cookie)."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from studyhelpers import CSRF_FIELD, PROFILE_FORM

from muvi.study.app import create_app
from muvi.study.deps import CSRF_COOKIE, PARTICIPANT_COOKIE, SESSION_COOKIE
from muvi.study.service import MediaSpec, StudyConfig, create_runner, create_study

PROXY = "127.0.0.1"
"""A reverse proxy on the server's machine: trusted by default."""


@pytest.fixture
def served(tmp_path: Path) -> tuple[object, str]:
    """The app (default settings) with a runner and a study."""
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.webm").write_bytes(b"media bytes are not decoded in these tests")
    app = create_app(tmp_path / "study.db", media)
    with app.state.server.sessions() as session:
        runner = create_runner(session, "runner", "correct horse")
        config = StudyConfig("s", [MediaSpec("item_a", "a.webm")], items_per_participant=1)
        invite = create_study(session, config, media, runner.id).invite_token
    return app, invite


def _flags(reply: httpx.Response) -> dict[str, bool]:
    """Cookie name -> whether it was set with the Secure attribute."""
    flags = {}
    for header in reply.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            flags[name] = bool(morsel["secure"])
    return flags


def _sent_back(reply: httpx.Response) -> dict[str, str]:
    """The ``Cookie`` header a browser on the far side of the proxy (over
    HTTPS) sends back; the test client itself speaks HTTP to the proxy's side
    and would keep a Secure cookie to itself."""
    jar = SimpleCookie()
    for header in reply.headers.get_list("set-cookie"):
        jar.load(header)
    return {"Cookie": "; ".join(f"{k}={m.value}" for k, m in jar.items())}


def _every_cookie(app: object, invite: str, **client: object) -> dict[str, bool]:
    """Log in and out as the runner and sign up as a participant; the Secure
    flag of each cookie set (``logout``: the one that clears the session)."""
    seen: dict[str, bool] = {}
    runner = TestClient(app, follow_redirects=False, **client)  # type: ignore[arg-type]
    page = runner.get("/runner/login")
    seen |= _flags(page)
    login = {
        "username": "runner",
        "password": "correct horse",
        "csrf_token": CSRF_FIELD.search(page.text)[1],
    }
    reply = runner.post("/runner/login", data=login, headers=_sent_back(page))
    assert reply.status_code == 303, reply.text
    seen |= _flags(reply)
    cookies = {"Cookie": _sent_back(page)["Cookie"] + "; " + _sent_back(reply)["Cookie"]}
    home = runner.get("/runner", headers=cookies)
    logout = {"csrf_token": CSRF_FIELD.search(home.text)[1]}
    seen["logout"] = _flags(runner.post("/runner/logout", data=logout, headers=cookies))[
        SESSION_COOKIE
    ]
    participant = TestClient(app, follow_redirects=False, **client)  # type: ignore[arg-type]
    page = participant.get(f"/s/{invite}")
    form = {**PROFILE_FORM, "csrf_token": CSRF_FIELD.search(page.text)[1]}
    reply = participant.post(f"/s/{invite}", data=form, headers=_sent_back(page))
    assert reply.status_code == 303, reply.text
    seen |= _flags(reply)
    assert set(seen) == {CSRF_COOKIE, SESSION_COOKIE, PARTICIPANT_COOKIE, "logout"}
    return seen


def test_over_https_every_cookie_is_secure(served: tuple[object, str]) -> None:
    app, invite = served
    flags = _every_cookie(app, invite, base_url="https://study.example")
    assert flags == {
        CSRF_COOKIE: True,
        SESSION_COOKIE: True,
        PARTICIPANT_COOKIE: True,
        "logout": True,
    }


def test_behind_a_trusted_https_proxy_every_cookie_is_secure(served: tuple[object, str]) -> None:
    app, invite = served
    flags = _every_cookie(
        app,
        invite,
        client=(PROXY, 5000),
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.3"},
    )
    assert flags == {
        CSRF_COOKIE: True,
        SESSION_COOKIE: True,
        PARTICIPANT_COOKIE: True,
        "logout": True,
    }


def test_an_untrusted_client_cannot_claim_https(served: tuple[object, str]) -> None:
    app, invite = served
    flags = _every_cookie(
        app, invite, client=("198.51.100.9", 5000), headers={"X-Forwarded-Proto": "https"}
    )
    assert flags == {
        CSRF_COOKIE: False,
        SESSION_COOKIE: False,
        PARTICIPANT_COOKIE: False,
        "logout": False,
    }


def test_plain_http_through_the_proxy_is_not_secure(served: tuple[object, str]) -> None:
    app, invite = served
    flags = _every_cookie(app, invite, client=(PROXY, 5000), headers={"X-Forwarded-Proto": "http"})
    assert flags == {
        CSRF_COOKIE: False,
        SESSION_COOKIE: False,
        PARTICIPANT_COOKIE: False,
        "logout": False,
    }
