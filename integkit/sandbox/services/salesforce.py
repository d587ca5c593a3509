"""A local Salesforce org that answers like the REST API (v20.0 to v61.0 in the path).

Emulated, with Salesforce's wire format:

- OAuth 2.0 at ``/services/oauth2/token`` (the sandbox OAuth provider, mounted): the refresh
  token grant answers as Salesforce does (``instance_url``, ``id``, ``issued_at``, an HMAC
  ``signature``; no ``expires_in``, no new refresh token); sessions expire after
  ``session_ttl`` seconds and then get ``401 INVALID_SESSION_ID``.
- ``GET query?q=`` / ``queryAll?q=`` over the SOQL subset of :mod:`.salesforce_soql`, pages of
  ``batchSize`` (``Sforce-Query-Options``, default 2000) followed with ``nextRecordsUrl``;
  ``SELECT COUNT()``; queryAll includes the recycle bin.
- ``sobjects`` (global describe), ``sobjects/{o}/describe``, ``sobjects/{o}/{id}`` (GET, PATCH,
  DELETE), ``POST sobjects/{o}``, upsert ``PATCH sobjects/{o}/{externalIdField}/{value}``.
- sObject Collections ``/composite/sobjects`` (POST, PATCH, DELETE; 200 records, allOrNone).
- Bulk API 2.0 query jobs ``/jobs/query`` (create, poll, CSV results with ``Sforce-Locator``
  and ``maxRecords``), completing after ``bulk_polls`` polls.
- ``/limits``; ``Sforce-Limit-Info: api-usage=n/max`` on every API answer; ``403
  REQUEST_LIMIT_EXCEEDED`` once the day's ``daily_limit`` is spent ("TotalRequests Limit
  exceeded.") or when the per-org rate limit refuses ("ConcurrentPerOrgLongTxn Limit
  exceeded."). Errors are arrays: ``[{"message", "errorCode", "fields"}]``.

Salesforce documents no request-id header, so none is sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from .._app import Emulator, Reply, Request
from .._clock import Moment
from .._faults import Headers
from .._oauth import OAuthProvider, TokenRejected
from .salesforce_data import (
    SCHEMA,
    Field,
    SObject,
    csv_value,
    describe,
    json_value,
    make_id,
    seed_records,
)
from .salesforce_soql import Column, Query, SoqlError, parse, read

__all__ = ["API_VERSION", "SalesforceEmulator", "SalesforceOAuth"]

API_VERSION = "60.0"
_VERSION = re.compile(r"^/services/data/v(\d+)\.0(/.*)?$")
_MAX_COLLECTION = 200
_DEFAULT_BULK_RECORDS = 50_000
_ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "fields": [],
                "message": "Record rolled back because not all records were valid and the "
                           "request was using AllOrNone header"}
_TEXT = ("id", "reference", "string", "textarea", "picklist", "email", "phone", "url")


class _Error(Exception):
    """An answer in Salesforce's error shape."""

    def __init__(self, status: int, code: str, message: str,
                 fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def item(self) -> dict[str, Any]:
        """As one element of a write result's ``errors`` (``statusCode``)."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def reply(self) -> Reply:
        body: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields:
            body["fields"] = self.fields
        return Reply(self.status, orjson.dumps([body]))


def _not_found() -> _Error:
    return _Error(404, "NOT_FOUND", "The requested resource does not exist")


class SalesforceOAuth(OAuthProvider):
    """The sandbox provider answering with Salesforce's token response fields."""

    def __init__(self, emulator: SalesforceEmulator, **options: Any) -> None:
        super().__init__(prefix="/services/oauth2", rotate_refresh_tokens=False,
                         report_refresh_expiry=False, **options)
        self.emulator = emulator
        self._host_url = "http://127.0.0.1"

    def handle_oauth(self, request: Request) -> Reply | None:
        self._host_url = f"http://{request.headers.get('host', '127.0.0.1')}"
        return super().handle_oauth(request)

    def _issue(self, client_id: str, user: str, scopes: frozenset[str], *, refresh: bool,
               family: str | None = None) -> dict[str, Any]:
        body = super()._issue(client_id, user, scopes, refresh=refresh, family=family)
        for name in ("expires_in", "refresh_token_expires_in"):
            body.pop(name, None)
        org = self.emulator
        identity = f"{self._host_url}/id/{org.org_id}/{org.user_id}"
        issued_at = str(int(time.time() * 1000))
        client = self.clients.get(client_id)
        key = (client.secret if client and client.secret else "").encode()
        signature = base64.b64encode(hmac.new(key, (identity + issued_at).encode(),
                                              hashlib.sha256).digest()).decode()
        body.update(instance_url=org.instance_url or self._host_url, id=identity,
                    issued_at=issued_at, signature=signature)
        return body


@dataclass
class _Cursor:
    """A query's result, kept for ``nextRecordsUrl`` pages."""

    query: Query
    rows: list[dict[str, Any]]
    version: str
    size: int  # records a page holds (batchSize of the first request)


@dataclass
class _Job:
    """A Bulk API 2.0 query job."""

    info: dict[str, Any]
    query: Query
    all_rows: bool
    polls: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


class SalesforceEmulator(Emulator):
    """The emulated org; see the module doc.

    Args beyond the common ones: ``daily_limit`` (the org's API calls a day), ``api_usage``
    (calls already spent today), ``session_ttl`` (seconds an access token lives),
    ``bulk_polls`` (polls until a job completes), ``instance_url`` (what token responses
    name; default: the URL the token request came to). ``api_key`` is the connected app's
    consumer secret.
    """

    service = "salesforce"
    key_prefix = ""

    def __init__(self, *, records: int = 1000, seed: int = 0,
                 rate_limit: tuple[float, int] | None = None, latency: float = 0.0,
                 api_key: str | None = None, daily_limit: int = 100_000, api_usage: int = 0,
                 session_ttl: float = 7200.0, bulk_polls: int = 2,
                 instance_url: str | None = None, now: Moment = None) -> None:
        super().__init__(api_key=api_key or secrets.token_hex(32).upper(),
                         rate_limit=rate_limit, latency=latency, now=now)
        self.daily_limit = int(daily_limit)
        self.api_usage = int(api_usage)
        self.bulk_polls = max(1, int(bulk_polls))
        self.instance_url = instance_url
        self.now = self.world_clock.midnight()
        self.org_id = make_id("00D", seed + 1)
        self.user_id = make_id("005", 1)
        self.client_id = "3MVG9" + hashlib.blake2b(self.api_key.encode(),
                                                   digest_size=30).hexdigest()[:80]
        self.oauth = SalesforceOAuth(self, access_token_ttl=session_ttl)
        self.oauth.register_client(self.client_id, self.api_key)
        self.refresh_token = self.oauth.issue(self.client_id, ["api", "refresh_token"])[
            "refresh_token"]
        self.store = seed_records(records, seed, self.now)
        self.by_id: dict[str, tuple[str, dict[str, Any]]] = {
            r["Id"]: (name, r) for name, rows in self.store.items() for r in rows}
        self.cursors: dict[str, _Cursor] = {}
        self.jobs: dict[str, _Job] = {}
        self.counters: Counter[str] = Counter()
        #: API requests answered per Host header (which instance a client talked to).
        self.hosts: Counter[str] = Counter()
        #: 403 REQUEST_LIMIT_EXCEEDED answers (daily budget, or the rate limit).
        self.limit_refusals = 0

    # -- the Emulator contract ---------------------------------------------------------------
    def credentials(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "client_secret": self.api_key,
                "refresh_token": self.refresh_token}

    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        code, message = {
            429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
            500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this "
                                       "ErrorId if you contact support: 1424869313-93 "
                                       "(-1198127012)"),
        }.get(status, ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Try again."))
        return (orjson.dumps([{"message": message, "errorCode": code}]),
                [(b"content-type", b"application/json;charset=UTF-8")])

    def stats(self) -> dict[str, Any]:
        data = super().stats()
        data.update(api_usage=self.api_usage, daily_limit=self.daily_limit,
                    limit_refusals=self.limit_refusals, token_calls=dict(self.oauth.token_calls))
        return data

    def expire_sessions(self) -> int:
        """End every live session now: the next API call gets 401 INVALID_SESSION_ID."""
        return self.oauth.expire_access_tokens()

    def records(self, object: str, *, deleted: bool = False) -> list[dict[str, Any]]:
        """The org's records of ``object`` (tests compare answers with them)."""
        return [r for r in self.store[object.lower()] if deleted or not r["IsDeleted"]]

    # -- routing -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        reply = self.oauth.handle_oauth(request)
        if reply is not None:
            return reply
        if request.path.rstrip("/") == "/services/data":
            return Reply(200, orjson.dumps([
                {"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"},
                {"label": "Summer '24", "url": "/services/data/v61.0", "version": "61.0"}]))
        match = _VERSION.match(request.path)
        if match is None or not 20 <= int(match.group(1)) <= 61:
            return _not_found().reply()
        version = f"{match.group(1)}.0"
        route = (match.group(2) or "/").rstrip("/") or "/"
        try:
            token = self.oauth.require_token(request)
        except TokenRejected:
            return _Error(401, "INVALID_SESSION_ID", "Session expired or invalid").reply()
        refusal = self._spend(token.client_id)
        if refusal is not None:
            return self._with_usage(refusal)
        self.hosts[request.headers.get("host", "")] += 1
        try:
            reply = self._route(request, route, version)
        except _Error as exc:
            reply = exc.reply()
        except SoqlError as exc:
            reply = _Error(400, exc.code, exc.message).reply()
        return self._with_usage(reply)

    def _spend(self, key: str) -> Reply | None:
        if self.api_usage >= self.daily_limit:
            self.limit_refusals += 1
            return _Error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").reply()
        if not self.allow(key):
            self.limit_refusals += 1
            return _Error(403, "REQUEST_LIMIT_EXCEEDED",
                          "ConcurrentPerOrgLongTxn Limit exceeded.").reply()
        self.api_usage += 1
        return None

    def _with_usage(self, reply: Reply) -> Reply:
        reply.headers.append((b"sforce-limit-info",
                              f"api-usage={self.api_usage}/{self.daily_limit}".encode()))
        return reply

    def _route(self, request: Request, route: str, version: str) -> Reply:
        method, parts = request.method, [unquote(p) for p in route.strip("/").split("/") if p]
        head = parts[0] if parts else ""
        if not parts and method == "GET":
            names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
            return _json(200, {n: f"/services/data/v{version}/{n}" for n in names})
        if head in ("query", "queryAll") and method == "GET":
            if len(parts) == 2:
                return self._more(parts[1])
            if len(parts) == 1:
                return self._query(request, version, all_rows=head == "queryAll")
        if head == "limits" and method == "GET" and len(parts) == 1:
            return self._limits()
        if head == "sobjects":
            return self._sobjects(request, parts[1:], version)
        if parts[:2] == ["composite", "sobjects"] and len(parts) == 2:
            return self._collections(request, version)
        if parts[:2] == ["jobs", "query"]:
            return self._jobs(request, parts[2:], version)
        raise _not_found()

    # -- queries ------------------------------------------------------------------------------
    def _today(self) -> dt.date:
        return self.world_clock.today()

    def _get(self, object: str, record_id: str) -> dict[str, Any] | None:
        found = self.by_id.get(record_id)
        return found[1] if found and found[0] == object.lower() else None

    def _run(self, query: Query, *, all_rows: bool) -> list[dict[str, Any]]:
        rows = [r for r in self.store[query.object.name.lower()]
                if (all_rows or not r.get("IsDeleted")) and
                (query.where is None or query.where(r, self._get))]
        for col, desc, nulls_first in reversed(query.order):
            present = [r for r in rows if read(r, col, self._get) is not None]
            absent = [r for r in rows if read(r, col, self._get) is None]
            present.sort(key=_sorter(col, self._get), reverse=desc)
            rows = absent + present if nulls_first else present + absent
        start = query.offset or 0
        end = start + query.limit if query.limit is not None else None
        return rows[start:end]

    def _query(self, request: Request, version: str, *, all_rows: bool) -> Reply:
        params = dict(parse_qsl(request.query, keep_blank_values=True))
        soql = params.get("q")
        if not soql:
            raise _Error(400, "MALFORMED_QUERY", "A query string has to be specified")
        query = parse(soql, today=self._today())
        rows = self._run(query, all_rows=all_rows)
        if query.count:
            return _json(200, {"totalSize": len(rows), "done": True, "records": []})
        self.counters["queries"] += 1
        cursor = _Cursor(query, rows, version, _batch_size(request))
        return self._page(cursor, self._new_locator(cursor), 0)

    def _new_locator(self, cursor: _Cursor) -> str:
        locator = "01g" + secrets.token_hex(8)[:12].upper() + "AAA"
        if len(self.cursors) > 500:
            self.cursors.pop(next(iter(self.cursors)))
        self.cursors[locator] = cursor
        return locator

    def _page(self, cursor: _Cursor, locator: str, start: int) -> Reply:
        end = min(len(cursor.rows), start + cursor.size)
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
        if end < len(cursor.rows):
            body["nextRecordsUrl"] = (f"/services/data/v{cursor.version}/query/{locator}-"
                                      f"{end}")
        body["records"] = [self._render(cursor.query, r, cursor.version)
                           for r in cursor.rows[start:end]]
        return _json(200, body)

    def _more(self, locator_part: str) -> Reply:
        locator, _, offset = locator_part.rpartition("-")
        cursor = self.cursors.get(locator)
        if cursor is None or not offset.isdigit():
            raise _Error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, locator, int(offset))

    def _render(self, query: Query, record: dict[str, Any], version: str) -> dict[str, Any]:
        obj = query.object.name
        out: dict[str, Any] = {"attributes": _attributes(obj, record["Id"], version)}
        for col in query.columns:
            _place(out, record, col, self._get, version)
        return out

    def _limits(self) -> Reply:
        remaining = max(0, self.daily_limit - self.api_usage)
        jobs = len(self.jobs)
        return _json(200, {
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "DailyApiRequests": {"Max": self.daily_limit, "Remaining": remaining},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - jobs},
            "DataStorageMB": {"Max": 1024, "Remaining": 1000},
            "SingleEmailMessage": {"Max": 5000, "Remaining": 5000},
        })

    # -- sObjects -----------------------------------------------------------------------------
    def _object(self, name: str) -> SObject:
        obj = SCHEMA.get(name.lower())
        if obj is None:
            raise _Error(404, "NOT_FOUND", "The requested resource does not exist")
        return obj

    def _sobjects(self, request: Request, parts: list[str], version: str) -> Reply:
        method = request.method
        if not parts and method == "GET":
            return _json(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
                {k: v for k, v in describe(o, version).items()
                 if k not in ("fields", "childRelationships", "recordTypeInfos")}
                for o in SCHEMA.values()]})
        obj = self._object(parts[0])
        if len(parts) == 1:
            if method == "POST":
                record = self._validated_create(obj, self._body(request))
                self._insert(obj, record)
                return _json(201, {"id": record["Id"], "success": True, "errors": []})
            if method == "GET":
                return _json(200, {"objectDescribe": {k: v for k, v in describe(
                    obj, version).items() if k not in ("fields", "childRelationships")},
                    "recentItems": []})
        if len(parts) == 2 and parts[1] == "describe" and method == "GET":
            return _json(200, describe(obj, version))
        if len(parts) == 2:
            return self._row(request, obj, parts[1], version)
        if len(parts) == 3 and method == "PATCH":
            return self._upsert(request, obj, parts[1], parts[2])
        raise _not_found()

    def _row(self, request: Request, obj: SObject, record_id: str, version: str) -> Reply:
        record = self._live(obj, record_id)
        if request.method == "GET":
            params = dict(parse_qsl(request.query))
            names = [n.strip() for n in params.get("fields", "").split(",") if n.strip()]
            fields = [self._field(obj, n) for n in names] if names else obj.fields
            out = {"attributes": _attributes(obj.name, record["Id"], version)}
            out.update({f.name: json_value(record.get(f.name)) for f in fields})
            return _json(200, out)
        if request.method == "PATCH":
            changed = self._validated_update(obj, record, self._body(request))
            self._replace(obj, changed)
            return Reply(204, b"")
        if request.method == "DELETE":
            self._soft_delete(record)
            return Reply(204, b"")
        raise _Error(405, "METHOD_NOT_ALLOWED",
                     f"HTTP Method '{request.method}' not allowed. Allowed are GET,PATCH,HEAD,"
                     "DELETE")

    def _live(self, obj: SObject, record_id: str) -> dict[str, Any]:
        record = self._get(obj.name, record_id)
        if record is None and len(record_id) == 15:  # a 15-character id names the same record
            record = next((r for r in self.store[obj.name.lower()]
                           if r["Id"][:15] == record_id), None)
        if record is None:
            raise _not_found()
        if record.get("IsDeleted"):
            raise _Error(404, "ENTITY_IS_DELETED", "entity is deleted")
        return record

    def _field(self, obj: SObject, name: str) -> Field:
        found = obj.field(name)
        if found is None:
            raise _Error(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type "
                                               f"{obj.name}")
        return found

    def _upsert(self, request: Request, obj: SObject, field_name: str, value: str) -> Reply:
        key = obj.field(field_name)
        if key is None or not (key.external_id or key.type == "id"):
            raise _Error(404, "NOT_FOUND", "Provided external ID field does not exist or is "
                                           f"not accessible: {field_name}")
        body = self._body(request)
        matches = [r for r in self.store[obj.name.lower()] if not r.get("IsDeleted")
                   and r.get(key.name) is not None and str(r[key.name]).lower() == value.lower()]
        if len(matches) > 1:
            version = request.path.split("/")[3][1:]
            return _json(300, [f"/services/data/v{version}/sobjects/{obj.name}/{r['Id']}"
                               for r in matches])
        if matches:
            changed = self._validated_update(obj, matches[0], {
                k: v for k, v in body.items() if k.lower() != key.name.lower()})
            self._replace(obj, changed)
            return _json(200, {"id": changed["Id"], "success": True, "errors": [],
                               "created": False})
        record = self._validated_create(obj, {**body, key.name: value})
        self._insert(obj, record)
        return _json(201, {"id": record["Id"], "success": True, "errors": [], "created": True})

    # -- validation and changes ------------------------------------------------------------------
    def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = orjson.loads(request.body or b"{}")
        except orjson.JSONDecodeError as exc:
            raise _Error(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None
        if not isinstance(body, dict):
            raise _Error(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject "
                                                   "from a JSON array or value")
        return body

    def _values(self, obj: SObject, body: dict[str, Any], *, creating: bool
                ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        locked = []
        for name, raw in body.items():
            if name == "attributes" or (name == "Id" and not creating):
                continue
            found = obj.field(name)
            if found is None:
                raise _Error(400, "INVALID_FIELD", f"No such column '{name}' on sobject of "
                                                   f"type {obj.name}")
            if not (found.createable if creating else found.updateable):
                locked.append(found.name)
                continue
            out[found.name] = self._convert(obj, found, raw)
        if locked:
            action = "create" if creating else "update"
            raise _Error(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                         f"Unable to {action} fields: {locked}. Please check the security "
                         "settings of this field and verify that it is read/write for your "
                         "profile or permission set.", locked)
        return out

    def _convert(self, obj: SObject, spec: Field, raw: Any) -> Any:
        if raw is None:
            if not spec.nillable:
                raise _Error(400, "REQUIRED_FIELD_MISSING",
                             f"Required fields are missing: [{spec.name}]", [spec.name])
            return None
        kind = spec.type

        def wrong() -> _Error:
            shown = orjson.dumps(raw).decode()
            return _Error(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} "
                          f"from {type(raw).__name__.upper()} value {shown} or request may be "
                          f"missing a required field", [spec.name])

        if kind in _TEXT:
            if not isinstance(raw, str):
                raise wrong()
            if spec.length and len(raw) > spec.length:
                raise _Error(400, "STRING_TOO_LONG", f"{spec.label}: data value too large: "
                             f"{raw[:20]}... (max length={spec.length})", [spec.name])
            if kind == "reference" and self._get(spec.reference_to[0], raw) is None:
                raise _Error(400, "INVALID_CROSS_REFERENCE_KEY",
                             f"{spec.label}: id value of incorrect type: {raw}", [spec.name])
            return raw
        if kind == "boolean":
            if not isinstance(raw, bool):
                raise wrong()
            return raw
        if kind in ("int", "double", "currency", "percent"):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise wrong()
            return int(raw) if kind == "int" else float(raw)
        if not isinstance(raw, str):
            raise wrong()
        try:
            if kind == "date":
                return dt.date.fromisoformat(raw[:10])
            text = raw.replace("Z", "+00:00")
            if re.search(r"[+-]\d{4}$", text):
                text = text[:-2] + ":" + text[-2:]
            value = dt.datetime.fromisoformat(text)
            return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        except ValueError:
            raise wrong() from None

    def _derive(self, obj: SObject, record: dict[str, Any]) -> None:
        """Fields Salesforce computes (names, stage-driven flags)."""
        if obj.name == "Contact":
            record["Name"] = " ".join(p for p in (record.get("FirstName"),
                                                  record.get("LastName")) if p)
        if obj.name == "Opportunity":
            stage = str(record.get("StageName") or "")
            record["IsClosed"] = stage.startswith("Closed")
            record["IsWon"] = stage == "Closed Won"

    def _check_unique(self, obj: SObject, record: dict[str, Any]) -> None:
        for spec in obj.fields:
            value = record.get(spec.name)
            if not spec.unique or value is None:
                continue
            for other in self.store[obj.name.lower()]:
                if other["Id"] != record["Id"] and other.get(spec.name) == value:
                    raise _Error(400, "DUPLICATE_VALUE", f"duplicate value found: {spec.name} "
                                 f"duplicates value on record with id: {other['Id']}",
                                 [spec.name])

    def _validated_create(self, obj: SObject, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("Id") is not None:
            raise _Error(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                         "cannot specify Id in an insert call", ["Id"])
        values = self._values(obj, body, creating=True)
        missing = [f.name for f in obj.fields if f.required and values.get(f.name) is None]
        if missing:
            raise _Error(400, "REQUIRED_FIELD_MISSING",
                         f"Required fields are missing: [{', '.join(missing)}]", missing)
        stamp = self.world_clock.datetime().replace(microsecond=0)
        record: dict[str, Any] = {f.name: None for f in obj.fields}
        record.update(IsDeleted=False, OwnerId=self.user_id, CreatedDate=stamp,
                      LastModifiedDate=stamp, SystemModstamp=stamp)
        for spec in obj.fields:
            if spec.type == "boolean" and record.get(spec.name) is None:
                record[spec.name] = False
        record.update(values)
        record["Id"] = make_id(obj.prefix, len(self.store[obj.name.lower()]) + 1)
        self._derive(obj, record)
        self._check_unique(obj, record)
        return record

    def _validated_update(self, obj: SObject, record: dict[str, Any],
                          body: dict[str, Any]) -> dict[str, Any]:
        values = self._values(obj, body, creating=False)
        changed = {**record, **values}
        stamp = self.world_clock.datetime().replace(microsecond=0)
        changed.update(LastModifiedDate=stamp, SystemModstamp=stamp)
        self._derive(obj, changed)
        self._check_unique(obj, changed)
        return changed

    def _insert(self, obj: SObject, record: dict[str, Any]) -> None:
        self.store[obj.name.lower()].append(record)
        self.by_id[record["Id"]] = (obj.name.lower(), record)
        self.objects[obj.name] += 1

    def _replace(self, obj: SObject, changed: dict[str, Any]) -> None:
        _, record = self.by_id[changed["Id"]]
        record.update(changed)  # in place: cursors and jobs hold the same dicts

    def _soft_delete(self, record: dict[str, Any]) -> None:
        record["IsDeleted"] = True
        record["SystemModstamp"] = self.world_clock.datetime().replace(microsecond=0)

    # -- sObject Collections -------------------------------------------------------------------
    def _collections(self, request: Request, version: str) -> Reply:
        method = request.method
        if method == "DELETE":
            params = dict(parse_qsl(request.query))
            ids = [i for i in params.get("ids", "").split(",") if i]
            all_or_none = params.get("allOrNone", "false").lower() == "true"
            items: list[Any] = ids
        elif method in ("POST", "PATCH"):
            body = orjson.loads(request.body or b"{}") if request.body else {}
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise _Error(400, "JSON_PARSER_ERROR", "The request body needs records")
            items = body["records"]
            all_or_none = bool(body.get("allOrNone", False))
        else:
            raise _not_found()
        if not items:
            raise _Error(400, "INVALID_FIELD", "No records to process" if method != "DELETE"
                         else "No ids to process")
        if len(items) > _MAX_COLLECTION:
            raise _Error(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more "
                                                   f"than {_MAX_COLLECTION} records into this "
                                                   "call")
        planned: list[tuple[str, SObject | None, dict[str, Any] | None, _Error | None]] = []
        for item in items:
            try:
                planned.append(self._plan(method, item))
            except _Error as exc:
                planned.append(("", None, None, exc))
        failed = any(p[3] is not None for p in planned)
        results: list[dict[str, Any]] = []
        for (record_id, obj, record, error), item in zip(planned, items, strict=True):
            if error is not None:
                entry: dict[str, Any] = {"success": False, "errors": [error.item()]}
                if method == "DELETE":
                    entry["id"] = item
                results.append(entry)
                continue
            if all_or_none and failed:
                results.append({"id": record_id, "success": False, "errors": [_ROLLED_BACK]}
                               if method == "DELETE" else
                               {"success": False, "errors": [_ROLLED_BACK]})
                continue
            assert obj is not None and record is not None
            if method == "POST":
                record["Id"] = make_id(obj.prefix, len(self.store[obj.name.lower()]) + 1)
                self._insert(obj, record)
            elif method == "PATCH":
                self._replace(obj, record)
            else:
                self._soft_delete(record)
            results.append({"id": record["Id"], "success": True, "errors": []})
        return _json(200, results)

    def _plan(self, method: str, item: Any
              ) -> tuple[str, SObject | None, dict[str, Any] | None, _Error | None]:
        """What one collection item would do: (id, object, the record to store, None)."""
        if method == "DELETE":
            found = self.by_id.get(str(item))
            if found is None:
                raise _Error(404, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            obj = SCHEMA[found[0]]
            return str(item), obj, self._live(obj, str(item)), None
        if not isinstance(item, dict):
            raise _Error(400, "JSON_PARSER_ERROR", "each record must be an object")
        kind = (item.get("attributes") or {}).get("type")
        if not kind:
            raise _Error(400, "INVALID_TYPE", "Must send a concrete entity type.")
        obj = self._object(str(kind))
        if method == "POST":
            return "", obj, self._validated_create(obj, item), None
        record_id = item.get("Id")
        if not record_id:
            raise _Error(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        current = self._live(obj, str(record_id))
        return current["Id"], obj, self._validated_update(obj, current, item), None

    # -- Bulk API 2.0 query jobs ----------------------------------------------------------------
    def _jobs(self, request: Request, parts: list[str], version: str) -> Reply:
        method = request.method
        if not parts and method == "POST":
            return self._create_job(request, version)
        if not parts:
            raise _not_found()
        job = self.jobs.get(parts[0])
        if job is None:
            raise _Error(404, "NOT_FOUND", "The requested resource does not exist")
        if len(parts) == 1 and method == "GET":
            job.polls += 1
            if job.info["state"] in ("UploadComplete", "InProgress"):
                if job.polls >= self.bulk_polls:
                    job.rows = self._run(job.query, all_rows=job.all_rows)
                    job.info.update(state="JobComplete", numberRecordsProcessed=len(job.rows),
                                    totalProcessingTime=37 * job.polls)
                else:
                    job.info["state"] = "InProgress"
            return _json(200, job.info)
        if len(parts) == 1 and method == "DELETE":
            del self.jobs[parts[0]]
            return Reply(204, b"")
        if len(parts) == 2 and parts[1] == "results" and method == "GET":
            return self._results(request, job)
        raise _not_found()

    def _create_job(self, request: Request, version: str) -> Reply:
        body = self._body(request)
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise _Error(400, "INVALIDJOB", "Invalid operation: query or queryAll expected")
        query = parse(str(body.get("query") or ""), today=self._today())
        if query.count or query.offset is not None:
            raise _Error(400, "INVALIDJOB", "Bulk API 2.0 query jobs do not support COUNT() "
                                            "or OFFSET")
        stamp = json_value(self.world_clock.datetime())
        job_id = make_id("750", len(self.jobs) + 1 + self.counters["jobs"])
        self.counters["jobs"] += 1
        info = {"id": job_id, "operation": operation, "object": query.object.name,
                "createdById": self.user_id, "createdDate": stamp, "systemModstamp": stamp,
                "state": "UploadComplete", "concurrencyMode": "Parallel",
                "contentType": "CSV", "apiVersion": float(version), "jobType": "V2Query",
                "lineEnding": "LF", "columnDelimiter": "COMMA", "numberRecordsProcessed": 0,
                "retries": 0, "totalProcessingTime": 0}
        self.jobs[job_id] = _Job(info, query, operation == "queryAll")
        return _json(200, info)

    def _results(self, request: Request, job: _Job) -> Reply:
        if job.info["state"] != "JobComplete":
            raise _Error(400, "INVALIDJOB", f"Job {job.info['id']} is not complete: its state "
                                            f"is {job.info['state']}")
        params = dict(parse_qsl(request.query))
        raw = params.get("maxRecords", str(_DEFAULT_BULK_RECORDS))
        if not raw.isdigit() or int(raw) < 1:
            raise _Error(400, "INVALIDJOB", f"Invalid maxRecords: {raw}")
        size = int(raw)
        start = _unlocator(params.get("locator"))
        if start is None:
            raise _Error(400, "INVALIDJOB", "Invalid locator")
        rows = job.rows[start:start + size]
        end = start + len(rows)
        header = ",".join(_csv_cell(".".join(c.path)) for c in job.query.columns)
        lines = [header]
        for record in rows:
            lines.append(",".join(_csv_cell(csv_value(read(record, c, self._get)))
                                  for c in job.query.columns))
        locator = _locator(end) if end < len(job.rows) else "null"
        return Reply(200, ("\n".join(lines) + "\n").encode(), [
            (b"content-type", b"text/csv"), (b"sforce-locator", locator.encode()),
            (b"sforce-numberofrecords", str(len(rows)).encode())])


# -- helpers ----------------------------------------------------------------------------------


def _json(status: int, body: Any) -> Reply:
    return Reply(status, orjson.dumps(body),
                 [(b"content-type", b"application/json;charset=UTF-8")])


def _attributes(obj: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": obj, "url": f"/services/data/v{version}/sobjects/{obj}/{record_id}"}


def _place(out: dict[str, Any], record: dict[str, Any], col: Column,
           get: Any, version: str) -> None:
    """Put ``col``'s value into the rendered record, nesting relationships as Salesforce
    does (``"Account": {"attributes": ..., "Name": ...}`` or ``"Account": null``)."""
    node_out, node = out, record
    for step, obj in zip(col.path[:-1], col.objects[:-1], strict=True):
        ref = obj.relationship(step)
        assert ref is not None
        target_id = node.get(ref.name)
        target = get(ref.reference_to[0], target_id) if target_id else None
        if target is None:
            node_out.setdefault(step, None)
            return
        child = node_out.get(step)
        if not isinstance(child, dict):
            child = {"attributes": _attributes(ref.reference_to[0], target["Id"], version)}
            node_out[step] = child
        node_out, node = child, target
    node_out[col.path[-1]] = json_value(node.get(col.field.name))


def _sorter(col: Column, get: Any) -> Any:
    """The sort key of ``col`` (text without regard to case, as SOQL sorts it)."""
    def key(record: dict[str, Any]) -> Any:
        value = read(record, col, get)
        return value.lower() if isinstance(value, str) else value
    return key


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
    if not match:
        return 2000
    return min(2000, max(200, int(match.group(1))))


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _unlocator(locator: str | None) -> int | None:
    if locator is None or locator == "":
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _csv_cell(value: str | None) -> str:
    if value is None:
        return ""
    return '"' + value.replace('"', '""') + '"'

