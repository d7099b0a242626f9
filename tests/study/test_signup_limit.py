"""Sign-up throttling: per client address and per study, 429 with a
``Retry-After`` header and a page saying when to try again, other addresses
unaffected, forwarded addresses believed only from a trusted proxy, and the
switch that turns it off for a lab (``muvi study serve --no-signup-limit``)."""

from __future__ import annotations

import re
import threading
from html import unescape
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from studyhelpers import CSRF_FIELD, PROFILE_FORM, run_cli

from muvi.study.app import create_app
from muvi.study.security import DEFAULT_SECURITY, SecurityConfig
from muvi.study.service import MediaSpec, StudyConfig, create_study

PER_ADDRESS, WINDOW_S = 10, 600.0
"""The documented defaults: 10 sign-ups from one address in any 10 minutes."""


def _app(tmp_path: Path, security: SecurityConfig = DEFAULT_SECURITY) -> tuple[object, list[str]]:
    """An app with two studies (their invite tokens)."""
    media = tmp_path / "media"
    media.mkdir(parents=True, exist_ok=True)
    (media / "a.webm").write_bytes(b"media bytes are not decoded in these tests")
    app = create_app(tmp_path / "study.db", media, security)
    invites = []
    with app.state.server.sessions() as session:
        for name in ("first", "second"):
            config = StudyConfig(name, [MediaSpec("item_a", "a.webm")], items_per_participant=1)
            invites.append(create_study(session, config, media).invite_token)
    return app, invites


class Visitor:
    """Sign-ups from one client address (the peer, or one forwarded by a proxy)."""

    def __init__(self, app: object, peer: str = "198.51.100.1", forwarded: str = "") -> None:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        self.client = TestClient(app, client=(peer, 4321), headers=headers, follow_redirects=False)  # type: ignore[arg-type]
        self.csrf: dict[str, str] = {}

    def signup(self, invite: str) -> httpx.Response:
        if invite not in self.csrf:
            self.csrf[invite] = CSRF_FIELD.search(self.client.get(f"/s/{invite}").text)[1]
            self.client.cookies.delete("muvi_participant")
        return self.client.post(
            f"/s/{invite}", data={**PROFILE_FORM, "csrf_token": self.csrf[invite]}
        )


def _accepted(reply: httpx.Response) -> bool:
    return reply.status_code == 303 and reply.headers["location"].startswith("/p/")


def test_two_hundred_signups_from_one_address_are_throttled_after_the_limit(tmp_path: Path) -> None:
    app, (invite, _other) = _app(tmp_path)
    flood = Visitor(app)
    replies = [flood.signup(invite) for _ in range(200)]
    limit = PER_ADDRESS
    assert [_accepted(r) for r in replies] == [True] * limit + [False] * (200 - limit)
    refused = replies[limit:]
    assert {r.status_code for r in refused} == {429}
    for reply in refused[:: len(refused) // 5]:
        wait = int(reply.headers["Retry-After"])
        # all ten went through within seconds of each other: the first frees its
        # place one window (600 s) after it was made
        assert WINDOW_S - 120 < wait <= WINDOW_S
        page = unescape(reply.text)
        assert f"please try again in {wait} s (about {round(wait / 60)} minutes)" in page
    # another address is not held up by the flood
    assert _accepted(Visitor(app, peer="203.0.113.7").signup(invite))


def test_a_refused_signup_does_not_use_up_the_limit(tmp_path: Path) -> None:
    app, (invite, _other) = _app(tmp_path, SecurityConfig(signups_per_address=2))
    visitor = Visitor(app)
    assert _accepted(visitor.signup(invite))  # 1 of 2
    for _ in range(5):  # no consent: refused (400), nothing stored, nothing counted
        data = {**PROFILE_FORM, "consent": "", "csrf_token": visitor.csrf[invite]}
        assert visitor.client.post(f"/s/{invite}", data=data).status_code == 400
    assert _accepted(visitor.signup(invite))  # 2 of 2
    assert visitor.signup(invite).status_code == 429


def test_signups_to_one_study_are_throttled_from_all_addresses(tmp_path: Path) -> None:
    app, (first, second) = _app(tmp_path, SecurityConfig(signups_per_study=5))
    replies = [Visitor(app, peer=f"192.0.2.{i}").signup(first) for i in range(1, 8)]
    assert [_accepted(r) for r in replies] == [True] * 5 + [False] * 2
    assert replies[5].status_code == 429 and int(replies[5].headers["Retry-After"]) > 0
    assert _accepted(Visitor(app, peer="192.0.2.99").signup(second))  # another study


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    # from an untrusted peer, X-Forwarded-For is ignored: changing it does not evade the limit
    app, (invite, _other) = _app(tmp_path, SecurityConfig(signups_per_address=3))
    spoofed = [Visitor(app, forwarded=f"10.9.9.{i}").signup(invite) for i in range(6)]
    assert [_accepted(r) for r in spoofed] == [True] * 3 + [False] * 3
    # behind a trusted proxy, each forwarded address has its own limit
    trusted = SecurityConfig(signups_per_address=3, trusted_proxies=("127.0.0.1",))
    app, (invite, _other) = _app(tmp_path / "proxied", trusted)
    proxied = [Visitor(app, "127.0.0.1", forwarded=f"10.9.9.{i}").signup(invite) for i in range(6)]
    assert all(_accepted(r) for r in proxied)
    one_client = [Visitor(app, "127.0.0.1", forwarded="10.8.8.8").signup(invite) for _ in range(4)]
    assert [_accepted(r) for r in one_client] == [True] * 3 + [False]


def test_the_lab_switch_turns_the_limit_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``muvi study serve --no-signup-limit``: every participant of a lab,
    all from one address, can sign up."""
    import uvicorn

    served: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.webm").write_bytes(b"media bytes are not decoded in these tests")
    db = tmp_path / "study.db"
    code = run_cli(["study", "serve", "--db", str(db), "--media", str(media), "--no-signup-limit"])
    assert code == 0 and served["proxy_headers"] is False
    app = served["app"]
    with app.state.server.sessions() as session:  # type: ignore[attr-defined]
        config = StudyConfig("lab", [MediaSpec("item_a", "a.webm")], items_per_participant=1)
        invite = create_study(session, config, media).invite_token
    lab = Visitor(app)
    n = 3 * PER_ADDRESS
    assert all(_accepted(lab.signup(invite)) for _ in range(n))
    # the same command without the switch throttles
    code = run_cli(["study", "serve", "--db", str(db), "--media", str(media)])
    again = Visitor(served["app"], peer="192.0.2.50")
    assert [_accepted(again.signup(invite)) for _ in range(n)].count(True) == PER_ADDRESS


def test_simultaneous_signups_cannot_slip_past_the_limit() -> None:
    from muvi.study.security import SignupThrottle

    throttle = SignupThrottle(window_s=600.0)
    results: list[float] = []
    lock = threading.Lock()

    def attempt() -> None:
        wait = throttle.reserve([(("address", "192.0.2.1"), 10)])
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(0.0) == 10 and len(results) == 50
    throttle.release([("address", "192.0.2.1")])  # one was not stored after all
    assert throttle.reserve([(("address", "192.0.2.1"), 10)]) == 0.0
    assert 599.0 < throttle.reserve([(("address", "192.0.2.1"), 10)]) <= 600.0


def test_the_documented_defaults() -> None:
    assert DEFAULT_SECURITY.signup_limit is True
    assert DEFAULT_SECURITY.signups_per_address == PER_ADDRESS
    assert DEFAULT_SECURITY.signup_window_s == WINDOW_S


def test_one_panel_id_ten_times_at_once_is_one_signup_and_one_place(tmp_path: Path) -> None:
    """Ten sign-ups with the same PROLIFIC_PID at the same moment, from one
    address: one is stored, the others refused with one line, and the nine
    that were not stored give their places back (nine more fit the limit)."""
    from muvi.study import online

    app, (invite, _other) = _app(tmp_path)
    with app.state.server.sessions() as session:  # type: ignore[attr-defined]
        study = session.get(online.Study, 1)
        online.save_options(session, study, online.OnlineOptions(url_params=("PROLIFIC_PID",)))
    visitors = [Visitor(app) for _ in range(10)]
    forms = []
    for visitor in visitors:
        page = visitor.client.get(f"/s/{invite}", params={"PROLIFIC_PID": "5f1a2b3c4d"})
        forms.append({**PROFILE_FORM, "panel__PROLIFIC_PID": "5f1a2b3c4d",
                      "csrf_token": CSRF_FIELD.search(page.text)[1]})  # fmt: skip
    barrier, replies = threading.Barrier(10), [None] * 10

    def post(i: int) -> None:
        barrier.wait()
        replies[i] = visitors[i].client.post(f"/s/{invite}", data=forms[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(_accepted(r) for r in replies) == 1
    for reply in replies:
        if not _accepted(reply):
            assert reply.status_code == 400
            assert re.search(
                r"signed up for this study already|could not be stored", unescape(reply.text)
            )
    others = [
        visitors[0].client.post(
            f"/s/{invite}", data={**forms[0], "panel__PROLIFIC_PID": f"other{i}"}
        )
        for i in range(PER_ADDRESS)
    ]
    assert [_accepted(r) for r in others] == [True] * (PER_ADDRESS - 1) + [False]
