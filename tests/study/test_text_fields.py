"""Control characters in every text field of the study server.

The fields are not listed by hand: every form is read from the pages the
server renders (a runner's, a participant's at each step) and every JSON
body from the routes' models, so a field added to a template or a model is
walked too. Each field gets NUL, ESC, DEL and a C1 control (and a tab and a
line break unless it is a ``<textarea>``) in the middle of a plain value;
each must answer 400 with one line naming the field, leave the database as it
was and log no trace-back, on SQLite and on PostgreSQL (which cannot store a
NUL at all)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import inspect, select, text
from studyhelpers import CSRF_FIELD, PROFILE_FORM

from muvi.study import online, service
from muvi.study.app import create_app
from muvi.study.models import Participant, Trial
from muvi.study.online_models import ParticipantOnline

BAD_ANYWHERE = {"NUL": "\x00", "ESC": "\x1b", "DEL": "\x7f", "C1 NEL": "\x85", "C1 CSI": "\x9b"}
BAD_ON_ONE_LINE = {"tab": "\t", "line feed": "\n", "carriage return": "\r"}
ARRIVAL = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "st42", "SESSION_ID": "se7"}
STUDY_FORM = {
    "name": "fields", "modality_music": "on", "modality_audiovisual": "on",
    "items_per_participant": "2", "excerpt_seconds": "4",
    "items": "item_a, a.webm\nitem_b, b.webm", "practice": "prac, p.webm",
    "example_positive_high_arousal": "ex1, a.webm", "panel": "prolific",
    "completion_code": "C0DE", "sound_check": "on", "sound_check_attempts": "3",
    "questions": "hand | choice | Writing hand? | left; right\n"
                 "hours | number | Hours a day | 0-24 | optional\n"
                 "town | text | Home town | optional\nborn | country | Born in | optional",
    "attention": "check1, att.webm, 0, 0.8, 0.8, 0.4, Move to the top right",
}  # fmt: skip


@dataclass
class Form:
    """One ``<form>`` of a page: where it posts and the names of its fields."""

    page: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> first value
    multiline: set[str] = field(default_factory=set)  # the <textarea> fields


class _Forms(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page, self.forms, self._select = page, [], ""
        self.forms: list[Form]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.forms.append(Form(self.page, a.get("action") or self.page))
        elif tag in ("input", "textarea", "select") and self.forms and a.get("name"):
            self.forms[-1].fields.setdefault(a["name"], a.get("value", ""))
            if tag == "textarea":
                self.forms[-1].multiline.add(a["name"])
            self._select = a["name"] if tag == "select" else ""
        elif tag == "option" and self._select and self.forms:
            fields = self.forms[-1].fields
            if not fields[self._select]:
                fields[self._select] = a.get("value", "")


def forms_of(path: str, html: str) -> list[Form]:
    parser = _Forms(path)
    parser.feed(html)
    return parser.forms


@dataclass
class World:
    app: object
    runner: TestClient
    forms: list[Form]
    clients: dict[str, TestClient]  # page path -> the client that may post its form


def _postgres_database(port: int, name: str) -> str:
    import psycopg

    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


def _signed_up(app: object, invite: str) -> tuple[TestClient, str]:
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    page = client.get(f"/s/{invite}", params=ARRIVAL | {"PROLIFIC_PID": f"p{id(client)}"})
    hidden = dict(re.findall(r'name="(panel__[^"]+)" value="([^"]*)"', page.text))
    form = {
        **PROFILE_FORM,
        **hidden,
        "q_hand": "left",
        "csrf_token": CSRF_FIELD.search(page.text)[1],
    }
    reply = client.post(f"/s/{invite}", data=form)
    assert reply.status_code == 200, unescape(reply.text)[:1000]
    return client, reply.url.path.split("/")[2]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> World:
    """A runner who made a study with every online option (a panel, one
    question of each kind, the sound check, an attention trial) through the
    form, and participants standing at each step of the study."""
    tmp = tmp_path_factory.mktemp("fields")
    db: str | Path = tmp / "study.db"
    if request.param == "postgresql":
        db = _postgres_database(request.getfixturevalue("postgres_server"), "muvi_fields")
    media = tmp / "media"
    media.mkdir()
    for name in ("a", "b", "p", "att"):
        (media / f"{name}.webm").write_bytes(b"media bytes are not decoded in these tests")
    app = create_app(db, media)
    sessions = app.state.server.sessions
    with sessions() as session:
        service.create_runner(session, "runner", "correct horse")
    runner = TestClient(app, raise_server_exceptions=False)
    csrf = CSRF_FIELD.search(runner.get("/runner/login").text)[1]
    login = {"username": "runner", "password": "correct horse", "csrf_token": csrf}
    assert runner.post("/runner/login", data=login).status_code == 200
    csrf = CSRF_FIELD.search(runner.get("/runner/studies/new").text)[1]
    made = runner.post("/runner/studies", data={**STUDY_FORM, "csrf_token": csrf})
    assert made.status_code == 200, unescape(made.text)[:1000]
    invite = re.search(r'id="invite" href="[^"]*/s/([^"]+)"', made.text)[1]
    study_id = int(made.url.path.rsplit("/", 1)[1])
    unused = runner.post(
        "/runner/studies", data={**STUDY_FORM, "name": "unused", "csrf_token": csrf}
    )
    unused_id = int(unused.url.path.rsplit("/", 1)[1])  # nobody signed up: its edit form opens

    fresh, fresh_token = _signed_up(app, invite)  # at the instructions and the sound check
    rating, rating_token = _signed_up(app, invite)  # past the sound check: at a trial
    with sessions() as session:
        for token in (fresh_token, rating_token):
            person = session.scalar(select(Participant).where(Participant.token == token))
            service.confirm_instructions(session, person)
        person = session.scalar(select(Participant).where(Participant.token == rating_token))
        session.get(ParticipantOnline, person.id).headphone_passed = True
        session.commit()
        trial = service.next_trial(session, person)
        service.start_trial(session, trial)
    pages = {
        "/runner/login": TestClient(app, raise_server_exceptions=False),
        "/runner/password": runner,
        "/runner/studies/new": runner,
        f"/runner/studies/{study_id}": runner,
        f"/runner/studies/{unused_id}/edit": runner,
        f"/s/{invite}?" + "&".join(f"{k}=v{k}" for k in ARRIVAL): TestClient(
            app, raise_server_exceptions=False
        ),
        f"/p/{fresh_token}/instructions": fresh,
        f"/p/{fresh_token}/sound-check": fresh,
        f"/p/{rating_token}/trial": rating,
        f"/p/{rating_token}/preference": rating,
    }
    forms, clients = [], {}
    for path, client in pages.items():
        reply = client.get(path)
        assert reply.status_code == 200 and reply.url.path == path.split("?")[0], path
        for form in forms_of(path.split("?")[0], reply.text):
            forms.append(form)
            clients[form.action] = client
    return World(app, runner, forms, clients)


def _snapshot(app: object) -> dict[str, list[tuple[object, ...]]]:
    engine = app.state.server.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {
            table: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{table}"'))), key=repr)
            for table in inspect(engine).get_table_names()
            if table != "runner_sessions"  # a login in the walk may touch its session row
        }


def _message(reply: httpx.Response) -> str:
    if reply.headers.get("content-type", "").startswith("application/json"):
        return str(reply.json()["detail"])
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', reply.text, re.S)
    assert found, reply.text[:500]
    return unescape(found.group(1))


def _refused(reply: httpx.Response, name: str) -> None:
    assert reply.status_code == 400, (name, reply.status_code, reply.text[:300])
    message = _message(reply)
    assert "\n" not in message and len(message) < 300, message
    assert "which is not allowed" in message and (name[:57] in message), (name, message)
    assert "Traceback" not in reply.text


def api_routes(routes: list[object]) -> Iterator[APIRoute]:
    """Every route of an application, those of its included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # a router included into the app
            yield from api_routes(route.original_router.routes)
        elif hasattr(route, "routes") and not hasattr(route, "app"):
            yield from api_routes(route.routes)


def _body_model(route: APIRoute) -> type[BaseModel]:
    """The model of a route's body (FastAPI gathers ``Form()`` parameters into one);
    the empty model for a route without a body."""
    body = route.body_field
    model = body.field_info.annotation if body is not None else BaseModel
    assert isinstance(model, type) and issubclass(model, BaseModel), (route.path, model)
    return model


def test_every_post_route_has_its_form_walked(world: World) -> None:
    """The walk reaches a form for every route that takes a form, and every
    ``Form()`` parameter of a route is a field of one of them."""
    walked = {re.sub(r"/p/[^/]+/", "/p/{token}/", f.action) for f in world.forms}
    walked = {re.sub(r"/s/[^/]+$", "/s/{invite}", w) for w in walked}
    walked = {re.sub(r"/trials/\d+/", "/trials/{trial_id}/", w) for w in walked}
    walked = {re.sub(r"/studies/\d+", "/studies/{study_id}", w) for w in walked}
    names = {name for f in world.forms for name in f.fields}
    routes = list(api_routes(world.app.routes))  # type: ignore[attr-defined]
    assert len(routes) >= 15
    for route in routes:
        if "POST" not in route.methods:
            continue
        if route.path.startswith("/api/"):  # JSON bodies: walked from their models below
            continue
        assert route.path in walked, f"no page with a form posting to {route.path} is walked"
        model = _body_model(route)
        assert model.model_fields.keys() <= names, (route.path, model.model_fields.keys() - names)
    assert len(names) >= 40  # the study form alone has about 25


def test_multiline_fields_are_the_textareas(world: World) -> None:
    from muvi.study.app import multiline_fields

    assert multiline_fields() == {name for form in world.forms for name in form.multiline}
    assert multiline_fields() >= {"items", "practice", "consent_text", "instructions_text",
                                  "questions", "attention"}  # fmt: skip
    assert not multiline_fields() & {
        "name",
        "favorite_genre",
        "username",
        "example_positive_high_arousal",
    }


def _post(world: World, form: Form, name: str, value: str) -> httpx.Response:
    data = {**form.fields, name: value}
    return world.clients[form.action].post(form.action, data=data)


def test_a_control_character_in_any_form_field_is_refused(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    before = _snapshot(world.app)
    walked = 0
    with caplog.at_level(logging.DEBUG):
        for form in world.forms:
            for name in form.fields:
                bad = dict(BAD_ANYWHERE)
                if name not in form.multiline:
                    bad |= BAD_ON_ONE_LINE
                for char in bad.values():
                    _refused(_post(world, form, name, f"ok{char}ok"), name)
                    walked += 1
    assert walked >= 40 * len(BAD_ANYWHERE)
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert _snapshot(world.app) == before


def test_a_control_character_in_a_field_name_is_refused(world: World) -> None:
    for form in world.forms:
        reply = world.clients[form.action].post(form.action, data={**form.fields, "x\x00y": "1"})
        assert reply.status_code == 400 and "a field name holds" in _message(reply), form.action


def test_line_breaks_and_tabs_still_reach_the_multiline_fields(world: World) -> None:
    """The control of the walk: a textarea with CR LF and a tab is not refused
    for its characters (the study form then stores the study)."""
    csrf = CSRF_FIELD.search(world.runner.get("/runner/studies/new").text)[1]
    data = {
        **STUDY_FORM,
        "csrf_token": csrf,
        "name": "with line breaks",
        "items": "item_a, a.webm\r\n\titem_b, b.webm\r\n",
        "consent_text": "First paragraph.\r\n\r\n- stop\tany time",
    }
    reply = world.runner.post("/runner/studies", data=data)
    assert reply.status_code == 200, _message(reply)
    study_id = int(reply.url.path.rsplit("/", 1)[1])
    with world.app.state.server.sessions() as session:  # type: ignore[attr-defined]
        options = online.study_options(session, study_id)
    assert options.consent_text == "First paragraph.\r\n\r\n- stop\tany time"


def _json_models(app: object) -> Iterator[tuple[APIRoute, type[BaseModel]]]:
    for route in api_routes(app.routes):  # type: ignore[attr-defined]
        if route.path.startswith("/api/") and "POST" in route.methods:
            yield route, _body_model(route)


def _example(model: type[BaseModel], name: str, value: object) -> dict[str, object]:
    """A body of ``model`` with ``value`` in every field called ``name`` (nested models walked)."""
    out: dict[str, object] = {}
    for field_name, info in model.model_fields.items():
        inner = getattr(info.annotation, "__args__", (info.annotation,))[0]
        if field_name == name:
            out[field_name] = value
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            out[field_name] = [_example(inner, name, value)]
        else:
            out[field_name] = 0
    return out


def _all_fields(model: type[BaseModel]) -> list[tuple[type[BaseModel], str]]:
    found = []
    for field_name, info in model.model_fields.items():
        inner = getattr(info.annotation, "__args__", (info.annotation,))[0]
        found.append((model, field_name))
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            found += _all_fields(inner)
    return found


def test_a_control_character_in_any_json_field_is_refused(world: World) -> None:
    """Every field of every JSON body (and an unknown key) carrying a string
    with a control character answers 400 naming it, before the body's types
    are judged."""
    with world.app.state.server.sessions() as session:  # type: ignore[attr-defined]
        person, trial = session.execute(
            select(Participant, Trial)
            .join(Trial, Trial.participant_id == Participant.id)
            .where(Trial.started_at.is_not(None))
        ).first()
        token, trial_id = person.token, trial.id
    csrf = world.app.state.server.participant_csrf(token)  # type: ignore[attr-defined]
    client = world.clients[f"/p/{token}/trials/{trial_id}/answers"]
    before = _snapshot(world.app)
    routes = list(_json_models(world.app))
    assert len(routes) >= 2
    for route, model in routes:
        path = route.path.replace("{token}", token).replace("{trial_id}", str(trial_id))
        targets = [(name, _example(model, name, "")) for _m, name in _all_fields(model)]
        targets.append(("note", {"note": ""}))
        for name, body in targets:
            for char in BAD_ANYWHERE.values():
                content = json.dumps(body).replace('""', json.dumps(f"ok{char}ok"))
                reply = client.post(
                    path,
                    content=content,
                    headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
                )
                _refused(reply, name)
    assert _snapshot(world.app) == before


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/s/ab%00cd", "invite"),
        ("/p/ab%1Bcd/instructions", "token"),
        ("/s/x?PROLIFIC_PID=a%00b", "PROLIFIC_PID"),
        ("/runner/login?next=/runner%0D%0ALocation:x", "next"),
    ],
)
def test_a_control_character_in_a_path_or_query_is_refused(
    world: World, path: str, name: str
) -> None:
    reply = world.runner.get(path)
    _refused(reply, name)
