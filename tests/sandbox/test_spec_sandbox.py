"""``ik.sandbox(spec=...)``: any API's OpenAPI 3 description as a running emulator.

Two descriptions of different styles, over real HTTP on 127.0.0.1: a small hand-written one
with offset paging (``NOTES``), and SendGrid's published templates API (../shared/specs) with
``page_token`` paging and a next-page URL in ``_metadata``. Each is read with
``ik.connect(definition)`` from a YAML definition, to the last record.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

import integkit as ik
from integkit.sandbox import create_emulator

SENDGRID = Path(__file__).parents[2].parent / "shared" / "specs" / "sendgrid" / \
    "tsg_templates_v3.json"

NOTES = """\
openapi: 3.0.3
info: {title: Notes API, version: "1.0"}
servers: [{url: "https://api.notes.example.com/v1"}]
paths:
  /notes:
    get:
      parameters:
        - {name: offset, in: query, schema: {type: integer, minimum: 0}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: status, in: query, schema: {type: string, enum: [open, done]}}
      responses:
        "200":
          description: a page of notes
          content:
            application/json:
              schema:
                type: object
                required: [items, total]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Note"}}
                  total: {type: integer}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewNote"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Note"}
  /notes/{note_id}:
    parameters:
      - {name: note_id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200":
          description: a note
          content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}
    patch:
      requestBody:
        content: {application/json: {schema: {$ref: "#/components/schemas/NewNote"}}}
      responses:
        "200":
          description: updated
          content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}
    delete:
      responses:
        "204": {description: deleted}
components:
  schemas:
    NewNote:
      type: object
      required: [title]
      properties:
        title: {type: string, minLength: 1}
        status: {type: string, enum: [open, done]}
        owner_email: {type: string, format: email}
        due: {type: string, format: date}
    Note:
      allOf:
        - {$ref: "#/components/schemas/NewNote"}
        - type: object
          required: [id, created_at, unit_price]
          properties:
            id: {type: string, format: uuid}
            created_at: {type: string, format: date-time}
            unit_price: {type: number, minimum: 0}
            link: {type: string, format: uri}
"""

NOTES_DEFINITION = """\
service: notes
title: Notes
base_url: https://api.notes.example.com/v1
auth: {type: bearer, param: token}
body: json
paginator: {type: offset, limit: 7, total_path: total}
records_path: items
primary_key: id
resources:
  notes:
    path: /notes
"""

SENDGRID_DEFINITION = """\
service: templates
title: SendGrid templates
base_url: https://api.sendgrid.com
auth: {type: bearer, param: token}
body: json
paginator: {type: next_url, next_url_path: _metadata.next}
records_path: result
primary_key: id
resources:
  templates:
    path: /v3/templates
"""


@pytest.fixture
def notes_spec(tmp_path: Path) -> str:
    path = tmp_path / "notes.yaml"
    path.write_text(NOTES)
    return str(path)


@pytest.fixture
def notes(notes_spec: str) -> Iterator[Any]:
    with ik.sandbox(spec=notes_spec, records=30, seed=3) as sb:
        yield sb


def _connect(definition: str, tmp_path: Path, url: str, key: str) -> Any:
    path = tmp_path / "definition.yaml"
    path.write_text(definition)
    return ik.connect(str(path), base_url=url, token=key,
                      state=f"sqlite:///{tmp_path / 'books.db'}")


def _schema(doc: dict[str, Any], path: str, method: str, status: str) -> Any:
    """A validator of the description's answer to ``method path`` with ``status``."""
    media = doc["paths"][path][method]["responses"][status]["content"]["application/json"]
    schema = {**media["schema"], "components": doc.get("components", {})}
    return jsonschema.Draft202012Validator(schema,
                                           format_checker=jsonschema.FormatChecker())


def _formats_hold(note: dict[str, Any]) -> None:
    assert uuid.UUID(note["id"]).version == 4
    assert dt.datetime.fromisoformat(note["created_at"]).tzinfo is not None
    dt.date.fromisoformat(note["due"])
    assert note["owner_email"].count("@") == 1 and note["owner_email"].endswith(".com")
    assert note["link"].startswith("https://")
    assert note["unit_price"] == round(note["unit_price"], 2) >= 0
    assert note["status"] in ("open", "done")


def test_invalid_requests_are_refused_naming_the_problem(notes) -> None:
    http = httpx.Client(base_url=notes.url + "/v1")
    wrong = http.get("/notes", params={"limit": "many"})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["problems"][0]["name"] == "limit"
    outside = http.get("/notes", params={"status": "lost"})
    assert outside.status_code == 400 and "open" in outside.json()["error"]["message"]
    missing = http.post("/notes", json={"status": "open"})
    assert missing.status_code == 422
    assert missing.json()["error"]["problems"] == [
        {"location": "body", "name": "title", "kind": "missing", "wanted": ""}]
    form = http.post("/notes", content=b"title=x",
                     headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 422 and form.json()["error"]["problems"][0]["kind"] == \
        "unsupported"
    assert http.get("/nothing").status_code == 404
    assert http.put("/notes").status_code == 405


def test_generated_answers_validate_against_the_description(notes, notes_spec) -> None:
    doc = yaml.safe_load(Path(notes_spec).read_text())
    http = httpx.Client(base_url=notes.url + "/v1")
    page = http.get("/notes", params={"limit": 30}).json()
    _schema(doc, "/notes", "get", "200").validate(page)
    assert page["total"] == 30 and len(page["items"]) == 30
    for note in page["items"]:
        _formats_hold(note)
    assert len({n["id"] for n in page["items"]}) == 30
    created = http.post("/notes", json={"title": "Buy milk"})
    assert created.status_code == 201
    _schema(doc, "/notes", "post", "201").validate(created.json())


@pytest.mark.skipif(not SENDGRID.is_file(), reason="../shared/specs is absent")
def test_a_published_description_answers_in_its_own_schema() -> None:
    doc = json.loads(SENDGRID.read_text())
    with ik.sandbox(spec=SENDGRID, records=5) as sb:
        http = httpx.Client(base_url=sb.url)
        page = http.get("/v3/templates", params={"page_size": 2})
        assert page.status_code == 200
        _schema(doc, "/v3/templates", "get", "200").validate(page.json())
        one = page.json()["result"][0]
        got = http.get(f"/v3/templates/{one['id']}").json()
        _schema(doc, "/v3/templates/{template_id}", "get", "200").validate(got)
        assert http.get("/v3/templates").status_code == 400  # page_size is required


def test_create_read_update_delete_round_trip(notes) -> None:
    http = httpx.Client(base_url=notes.url + "/v1")
    created = http.post("/notes", json={"title": "Call Ada", "status": "open"}).json()
    assert created["title"] == "Call Ada" and created["status"] == "open"
    url = f"/notes/{created['id']}"
    assert http.get(url).json() == created
    updated = http.patch(url, json={"title": "Call Ada", "status": "done"}).json()
    assert updated["status"] == "done" and updated["id"] == created["id"]
    assert http.get(url).json()["status"] == "done"
    listed = http.get("/notes", params={"offset": 30, "limit": 5}).json()
    assert [n["id"] for n in listed["items"]] == [created["id"]] and listed["total"] == 31
    assert http.delete(url).status_code == 204
    assert http.get(url).status_code == 404
    assert http.get("/notes", params={"limit": 1}).json()["total"] == 30
    assert notes.emulator.objects["/notes"] == 1


def test_connect_lists_to_the_last_record_with_offset_paging(notes, tmp_path) -> None:
    conn = _connect(NOTES_DEFINITION, tmp_path, notes.url + "/v1", notes.api_key)
    frame = conn.list("notes").to_frame()
    assert list(frame["id"]) == [n["id"] for n in notes.emulator.store["/notes"]]
    pages = [log for log in notes.emulator.request_log if log[0] == "GET"]
    assert len(pages) == 5  # 30 records, 7 a page
    done = conn.list("notes", status="done").to_frame()
    assert set(done["status"]) == {"done"}
    assert len(done) == sum(n["status"] == "done" for n in notes.emulator.store["/notes"])


@pytest.mark.skipif(not SENDGRID.is_file(), reason="../shared/specs is absent")
def test_connect_lists_to_the_last_record_with_page_token_paging(tmp_path) -> None:
    with ik.sandbox(spec=SENDGRID, records=23, seed=1) as sb:
        conn = _connect(SENDGRID_DEFINITION, tmp_path, sb.url, sb.api_key)
        frame = conn.list("templates", page_size=5).to_frame()
        assert list(frame["id"]) == [t["id"] for t in sb.emulator.store["/v3/templates"]]
        queries = [q for q in sb.emulator.request_log if q[0] == "GET"]
        assert len(queries) == 5


def test_the_paging_style_can_be_given(notes_spec) -> None:
    with ik.sandbox(spec=notes_spec, records=10, paging="starting_after") as sb:
        http = httpx.Client(base_url=sb.url + "/v1")
        ids = [n["id"] for n in sb.emulator.store["/notes"]]
        after = http.get("/notes", params={"starting_after": ids[3], "limit": 2}).json()
        assert [n["id"] for n in after["items"]] == ids[4:6]
    with pytest.raises(ik.ConfigError, match="paging"):
        create_emulator(spec=notes_spec, paging="sideways")


def test_the_same_seed_gives_the_same_data(notes_spec) -> None:
    first = create_emulator(spec=notes_spec, records=10, seed=5).store  # type: ignore[attr-defined]
    again = create_emulator(spec=notes_spec, records=10, seed=5).store  # type: ignore[attr-defined]
    other = create_emulator(spec=notes_spec, records=10, seed=6).store  # type: ignore[attr-defined]
    assert first == again and first != other
    with ik.sandbox(spec=yaml.safe_load(NOTES), records=10, seed=5) as sb:  # a dict as well
        got = httpx.get(sb.url + "/v1/notes", params={"limit": 10}).json()["items"]
        assert got == first["/notes"]


def test_limits_and_faults_as_other_emulators(notes_spec) -> None:
    with ik.sandbox(spec=notes_spec, records=3, rate_limit="1/2") as sb:
        http = httpx.Client(base_url=sb.url + "/v1",
                            headers={"authorization": f"Bearer {sb.api_key}"})
        statuses = [http.get("/notes").status_code for _ in range(4)]
        assert statuses[:2] == [200, 200] and 429 in statuses[2:]
        assert sb.emulator.rate_limited >= 1
    with ik.sandbox(spec=notes_spec, records=3) as sb:
        sb.faults.fail(503, times=1)
        http = httpx.Client(base_url=sb.url + "/v1")
        assert [http.get("/notes").status_code for _ in range(2)] == [503, 200]


def test_seeded_data_does_not_follow_the_running_clock(notes_spec) -> None:
    """Two sandboxes of one seed started seconds apart (on one emulated day) hold the same
    records: seeded times are anchored at the day, not at the moment the data was made."""
    early = create_emulator(spec=notes_spec, records=10, seed=5, now="2025-07-01T12:00:00.1Z")
    late = create_emulator(spec=notes_spec, records=10, seed=5, now="2025-07-01T12:00:07.9Z")
    assert early.store == late.store  # type: ignore[attr-defined]
