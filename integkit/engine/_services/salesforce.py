"""Salesforce: OAuth 2.0 (refresh token) to the instance the token names, SOQL queries over the
REST or Bulk API 2.0, typed frames from describe, record writes and sObject Collections.

>>> sf = ik.connect("salesforce", client_id="3MVG9...", client_secret="...",
...                 refresh_token="5Aep...")                                  # doctest: +SKIP
>>> sf.query("SELECT Id, Name, Amount FROM Opportunity WHERE Amount > 10000").to_frame()
>>> sf.query(object="Opportunity", fields=["Id", "Amount", "CloseDate"],
...          where={"StageName": ["Closed Won"], "CloseDate": {"gte": date(2024, 1, 1)}},
...          order_by="-CloseDate", limit=500).to_frame()
>>> sf.upsert("Account", external_id="External_Id__c", external_value="A-42",
...           data={"Name": "Acme"})
>>> sf.create_many("Contact", [{"LastName": "Ng"}, {"LastName": "Ito"}], all_or_none=True)

Credentials come from ``client_id=``/``client_secret=``/``refresh_token=`` or the env vars the
definition names (``SALESFORCE_CLIENT_ID``...); tokens live in integkit's encrypted token store.
``base_url`` is the login host (``https://test.salesforce.com`` for a sandbox org); API calls go
to the ``instance_url`` of the token response. ``access_token=`` + ``instance_url=`` use an
existing session instead (no refresh).
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import decimal
import functools
import hashlib
import inspect
import math
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from ..._errors import (
    AuthenticationError,
    ConfigError,
)
from ..._events import logger
from ..._http import CallTrace, Feedback, register_feedback
from ..._pagination import PageRequest
from ..._results import Result
from ..._suggest import unknown_keyword
from ..._validate import positive_duration
from ...auth import Bearer, OAuth2, TokenStore
from .._definition import ConnectorDef
from .._encoding import path_segment
from .._listing import ListingPlan, cache_age, read_listing
from .._rest import Connection, Listing
from .salesforce_query import SoqlListing, strip_attributes
from .salesforce_soql import build_soql, quote
from .salesforce_types import SalesforceResult

__all__ = ["SalesforceConnection"]

COLLECTION_SIZE = 200  # records per sObject Collections request
_ORG_TABLE = ("CREATE TABLE IF NOT EXISTS ik_salesforce_org (account TEXT PRIMARY KEY, "
              "daily INTEGER NOT NULL, seen REAL NOT NULL)")
_COMPOUND = ("address", "location")  # not selectable as one column in every API
_PLAIN_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


def _sforce_usage(response: httpx.Response) -> tuple[int, int] | None:
    """Salesforce's ``Sforce-Limit-Info: api-usage=18/15000``: the org's calls today, of its
    daily budget."""
    info = response.headers.get("sforce-limit-info", "")
    for part in info.split(","):
        name, _, value = part.strip().partition("=")
        if name == "api-usage" and "/" in value:
            used, _, limit = value.partition("/")
            if used.isdigit() and limit.isdigit():
                return int(used), int(limit)
    return None


def sforce_limit_info(response: httpx.Response) -> Feedback | None:
    """The feedback parser ``sforce_limit_info``: the quota layer's count follows the org's."""
    usage = _sforce_usage(response)
    return None if usage is None else Feedback(used=usage[0], limit=usage[1])


register_feedback("sforce_limit_info", sforce_limit_info, gives="used")


def _jsonable(value: Any) -> Any:
    """A field value JSON can carry: dates as ISO text, NaN (pandas' missing) as null."""
    if isinstance(value, dt.datetime):
        return quote(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        return _jsonable(item())
    to_pydatetime = getattr(value, "to_pydatetime", None)  # pandas.Timestamp
    if callable(to_pydatetime):
        return _jsonable(to_pydatetime())
    return value


def _records(records: Iterable[Mapping[str, Any]] | Any) -> list[dict[str, Any]]:
    """Dicts from a list of mappings or a DataFrame (missing values become null)."""
    to_dict = getattr(records, "to_dict", None)
    if callable(to_dict):
        records = to_dict("records")
    return [{k: _jsonable(v) for k, v in dict(r).items()} for r in records]


class SalesforceConnection(Connection):
    """Salesforce's REST API (see the module doc).

    Args beyond ``ik.connect``'s: ``client_id``, ``client_secret``, ``refresh_token``,
    ``login_url`` (alias of ``base_url``), ``access_token`` + ``instance_url`` (an existing
    session), ``api_version`` (``"60.0"``), ``bulk_threshold`` (rows from which a query runs
    as a Bulk API 2.0 job), ``bulk_page_size`` (rows per CSV result set),
    ``bulk_poll_interval`` (first pause between job polls), ``token_store``.
    """

    own_auth = True  # a connected app's refresh token, or an existing session

    def __init__(
        self,
        definition: ConnectorDef,
        *,
        auth: httpx.Auth | None = None,
        base_url: str | None = None,
        login_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        access_token: str | None = None,
        instance_url: str | None = None,
        api_version: str | None = None,
        bulk_threshold: int = 10_000,
        bulk_page_size: int = 50_000,
        bulk_poll_interval: float | str = 0.5,
        token_store: TokenStore | None = None,
        quotas: dict[str, Any] | None = None,
        account: str = "default",
        **options: Any,
    ) -> None:
        spec = definition.auth
        env = dict(spec.get("env") or {})

        def setting(value: str | None, name: str) -> str | None:
            return value if value is not None else (definition.environ(env[name]) or None
                                                    if name in env else None)

        login = (login_url or base_url or setting(None, "login_url") or
                 definition.base_url).rstrip("/")
        access_token = setting(access_token, "access_token")
        instance_url = setting(instance_url, "instance_url")
        self._oauth: OAuth2 | None = None
        if auth is None and access_token:
            if not instance_url:
                raise ConfigError("salesforce: access_token= needs instance_url= (the "
                                  "https://<domain>.my.salesforce.com the session belongs to)")
            auth = Bearer(access_token)
        elif auth is None:
            client_id = setting(client_id, "client_id")
            client_secret = setting(client_secret, "client_secret")
            if not client_id:
                raise ConfigError(
                    "salesforce needs a connected app: pass client_id=, client_secret= and "
                    f"refresh_token= (or set {', '.join(env.get(k, k) for k in ('client_id', 'client_secret', 'refresh_token'))}); "  # noqa: E501
                    "to try it offline, use ik.sandbox('salesforce')")
            auth = OAuth2(
                token_url=login + spec.get("token_path", "/services/oauth2/token"),
                client_id=client_id, client_secret=client_secret, grant="refresh_token",
                refresh_token=setting(refresh_token, "refresh_token"), service="salesforce",
                store=token_store or TokenStore.of_connection(options.get("state")),
                token_endpoint_auth_method="client_secret_post"
                if client_secret else "none",
            )
        if isinstance(auth, OAuth2):
            self._oauth = auth
        if account == "default":
            who = f"{login}|{getattr(auth, 'client_id', None) or instance_url}"
            account = hashlib.blake2b(who.encode(), digest_size=6).hexdigest()
        self.login_url = login
        self.bulk_threshold = int(bulk_threshold)
        self.bulk_page_size = int(bulk_page_size)
        self.bulk_poll_interval = positive_duration(bulk_poll_interval, "bulk_poll_interval")
        self.sleep = options.get("sleep", time.sleep)
        self._explicit_daily = (quotas or {}).get("daily") if quotas is not None else None
        self._describes: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._org_daily: int | None = None
        super().__init__(definition, auth=auth, base_url=instance_url or login, quotas=quotas,
                         account=account, api_version=api_version, **options)
        self.instance_url: str | None = instance_url.rstrip("/") if instance_url else None
        # Shown as the host: every Salesforce path (data_path, nextRecordsUrl) is from its root.
        self.base_url = (instance_url or login).rstrip("/")
        self.client.event_hooks["response"].append(self._on_response)
        self._recall_org_limit()

    # -- where calls go -----------------------------------------------------------------------
    def data_path(self, *parts: str) -> str:
        """``/services/data/v60.0/<parts>``: the pinned API version's path (the engine's
        ``version_prefix``), each part one path segment."""
        tail = "/".join(path_segment(p, what="path part", service=self.service) for p in parts)
        return self.version_prefix + (f"/{tail}" if tail else "")

    def _ensure_instance(self) -> None:
        """Point the client at the instance the token response named (once per token)."""
        if self._oauth is None:
            return
        token = self._oauth.fetch_token()
        url = (token.get("extra") or {}).get("instance_url")
        if not url:
            raise AuthenticationError(
                "the token response named no instance_url", service=self.service,
                endpoint="token", hint="Check login_url: it must be Salesforce's login host "
                "(https://login.salesforce.com, or test.salesforce.com for sandboxes).")
        url = str(url).rstrip("/")
        if url != self.instance_url:
            with self._lock:
                if url != self.instance_url:
                    # the org's instance, named by the token endpoint: its own origin now
                    self.origins.adopt(url, came_from=self._oauth.token_url,
                                       service=self.service, endpoint="token")
                    logger.info("integkit: salesforce: API calls go to %s", url)
                    self.instance_url = url
                    self.client.base_url = httpx.URL(self.versioned(url))

    # -- limits ------------------------------------------------------------------------------
    def _on_response(self, response: httpx.Response) -> None:
        usage = _sforce_usage(response)
        if usage is not None:
            self._learn_org_limit(usage[1])

    def _learn_org_limit(self, daily: int) -> None:
        """The org's daily API budget (Sforce-Limit-Info, /limits) replaces the definition's
        guess (an explicit ``quotas={"daily": n}`` below it still wins); kept in the state
        so the next process starts from it."""
        if daily <= 0 or daily == self._org_daily:
            return
        self._apply_org_limit(daily)
        state = self.state
        try:
            if state.kind == "sqlite":
                with state.sqlite(immediate=True) as db:
                    db.execute(_ORG_TABLE)
                    db.execute("INSERT OR REPLACE INTO ik_salesforce_org VALUES (?, ?, ?)",
                               (self.account, daily, time.time()))
            else:
                state.redis().set(state.key("salesforce_org", self.account), daily)
        except Exception as exc:  # noqa: BLE001 - a remembered limit is a nicety
            logger.warning("integkit: salesforce: could not store the org's API limit (%s)", exc)

    def _recall_org_limit(self) -> None:
        if self.quota is None:
            return
        state = self.state
        try:
            if state.kind == "sqlite":
                with state.sqlite() as db:
                    db.execute(_ORG_TABLE)
                    row = db.execute("SELECT daily FROM ik_salesforce_org WHERE account = ?",
                                     (self.account,)).fetchone()
                daily = int(row[0]) if row else None
            else:
                raw = state.redis().get(state.key("salesforce_org", self.account))
                daily = int(raw) if raw is not None else None
        except Exception:  # noqa: BLE001
            daily = None
        if daily:
            self._apply_org_limit(daily)

    def _apply_org_limit(self, daily: int) -> None:
        self._org_daily = daily
        if self.quota is None:
            return
        if self._explicit_daily:
            daily = min(daily, int(self._explicit_daily))
        if self.quota.config.daily != daily:
            self.quota.config = dataclasses.replace(self.quota.config, daily=daily)

    def limits(self) -> dict[str, Any]:
        """The org's limits (``DailyApiRequests``, ``DailyBulkV2QueryJobs``...: Max and
        Remaining); also sets the daily budget the connection keeps to."""
        body: dict[str, Any] = self.request("GET", self.data_path("limits"), endpoint="limits")
        daily = body.get("DailyApiRequests") or {}
        if isinstance(daily.get("Max"), int):
            self._learn_org_limit(daily["Max"])
            if self.quota is not None and isinstance(daily.get("Remaining"), int):
                self.quota.observe(daily["Max"] - daily["Remaining"], daily["Max"])
        return body

    # -- one call -----------------------------------------------------------------------------
    def build_request(self, request: PageRequest, *, base_url: str | None = None,
                      extensions: dict[str, Any] | None = None) -> httpx.Request:
        """The shared request, aimed at the instance the token names when it goes to the
        client's base URL (the token is fetched first if need be)."""
        if base_url is None:
            self._ensure_instance()
        return super().build_request(request, base_url=base_url, extensions=extensions)

    def send_csv(self, request: PageRequest, *, endpoint: str,
                 priority: str | None = None) -> tuple[httpx.Response, str, CallTrace]:
        """:meth:`send` for a CSV answer (Bulk API result sets): the text, undecoded."""
        csv = dataclasses.replace(request, headers={**request.headers, "Accept": "text/csv"})
        response, text, trace = self.send(csv, endpoint=endpoint, priority=priority, text=True)
        return response, str(text), trace

    # -- queries ------------------------------------------------------------------------------
    def _soql(self, soql: str | None, object: str | None, fields: Sequence[str] | str | None,
              where: Mapping[str, Any] | str | None, order_by: str | Sequence[str] | None,
              limit: int | None, offset: int | None) -> str:
        if soql is not None:
            if object is not None or fields is not None or where is not None:
                raise ConfigError("pass either a SOQL string or object=/fields=/where=, not both")
            return soql
        if object is None:
            raise ConfigError("query() needs a SOQL string or object= (with fields=, where=...)")
        if fields is None:
            fields = [f["name"] for f in self.describe(object)["fields"]
                      if f.get("type") not in _COMPOUND]
        return build_soql(object, fields, where=where, order_by=order_by, limit=limit,
                          offset=offset)

    def query(
        self,
        soql: str | None = None,
        *,
        object: str | None = None,
        fields: Sequence[str] | str | None = None,
        where: Mapping[str, Any] | str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        bulk: bool | None = None,
        batch_size: int | None = None,
        max_records: int | None = None,
        checkpoint: str | None = None,
        priority: str | None = None,
        cache: bool | str | float | None = None,
        include_deleted: bool = False,
    ) -> Result:
        """A lazy Result over the rows of a SOQL query, given as text or built from
        ``object``/``fields``/``where``/``order_by``/``limit`` (all fields when ``fields`` is
        None). Large answers (``bulk_threshold`` rows or more, by a ``SELECT COUNT()`` first)
        run as a Bulk API 2.0 job; ``bulk=True``/``False`` decides without counting.
        ``to_frame()`` types the columns from the object's describe."""
        text = self._soql(soql, object, fields, where, order_by, limit, offset)
        if batch_size is not None and not 200 <= batch_size <= 2000:
            raise ConfigError("batch_size must be between 200 and 2000 (Salesforce's bounds)")
        listing = self._soql_listing(text, all_rows=include_deleted, bulk=bulk,
                                     batch_size=batch_size, priority=priority,
                                     max_records=max_records, checkpoint=checkpoint,
                                     cache=cache)
        if bulk and listing.parts is not None and (
                listing.parts.clause("OFFSET") or listing.parts.clause("GROUP BY")
                or any("(" in f for f in listing.parts.fields)):
            raise ConfigError("Bulk API 2.0 runs no OFFSET, GROUP BY, COUNT() or subqueries; "
                              "use bulk=False")
        return read_listing(self, listing.plan, source=listing, result_type=functools.partial(
            SalesforceResult, types=lambda cols: self.column_types(
                listing.object, cols) if listing.object else {},
            columns=lambda: self.query_columns(listing)))

    def _soql_listing(self, soql: str, *, all_rows: bool = False, bulk: bool | None = None,
                      batch_size: int | None = None, priority: str | None = None,
                      max_records: int | None = None, checkpoint: str | None = None,
                      cache: bool | str | float | None = None) -> SoqlListing:
        """The pages of ``soql``, planned (``cache``: True for a day, or a duration)."""
        name = "queryAll" if all_rows else "query"
        plan = ListingPlan(
            name=name, path=self.data_path(name), endpoint=name, params={"q": soql},
            records_path="records", primary_key=self.definition.primary_key,
            max_empty_pages=self.max_empty_pages, timestamps=self.definition.timestamps or None,
            priority=priority, max_records=max_records, checkpoint=checkpoint,
            cache=cache_age(cache))
        return SoqlListing(self, plan, all_rows=all_rows, bulk=bulk, batch_size=batch_size)

    def query_all(self, soql: str | None = None, **options: Any) -> Result:
        """:meth:`query` over ``/queryAll``: deleted (recycle bin) and archived rows too."""
        options["include_deleted"] = True
        return self.query(soql, **options)

    def list(self, resource: str, **options: Any) -> Result:
        """Every row of an sObject (``sf.list("Account", where=..., fields=[...])``); a path
        (``/services/...``) lists like any REST API."""
        if resource.startswith(("/", "http")):
            return super().list(resource, **options)
        accepted = set(inspect.signature(self.query).parameters) - {"soql", "object"}
        for name in options:
            if name not in accepted:  # query() would fail with a bare TypeError
                raise unknown_keyword(f"salesforce.list({resource!r})", name, accepted)
        return self.query(object=resource, **options)

    def count_rows(self, soql: str, *, all_rows: bool = False,
                   priority: str | None = None) -> int:
        """``totalSize`` of a ``SELECT COUNT() ...`` query."""
        path = self.data_path("queryAll" if all_rows else "query")
        body = self.request("GET", path, params={"q": soql}, endpoint="query.count",
                            priority=priority)
        return int(body.get("totalSize", 0))

    def count(self, listing: Listing | str) -> int | None:
        """Rows a query listing (or a SOQL string) returns, from ``SELECT COUNT()``: what
        ``Result.estimate()`` starts from. None where a count cannot tell."""
        if isinstance(listing, str):
            listing = self._soql_listing(listing)
        return listing.count()

    # -- metadata --------------------------------------------------------------------------
    def describe(self, object: str) -> dict[str, Any]:
        """The object's describe (fields with types, relationships...), fetched once."""
        key = object.lower()
        with self._lock:
            cached = self._describes.get(key)
        if cached is not None:
            return cached
        body: dict[str, Any] = self.request(
            "GET", self.data_path("sobjects", object, "describe"), endpoint="describe")
        with self._lock:
            self._describes[key] = body
            self._describes[str(body.get("name", object)).lower()] = body
        return body

    def field_types(self, object: str) -> dict[str, str]:
        """Field name -> Salesforce type (``currency``, ``date``, ``reference``...)."""
        return {f["name"]: f["type"] for f in self.describe(object).get("fields", [])}

    def column_types(self, object: str, columns: Iterable[str]) -> dict[str, str]:
        """Salesforce types of a query's columns, ``Account.Name`` followed through the
        relationship's describe."""
        out: dict[str, str] = {}
        for column in columns:
            found = self._path_field(object, column.split("."))
            if found is not None:
                out[column] = found[1]
        return out

    def query_columns(self, listing: SoqlListing) -> builtins.list[str]:
        """The columns of a query's rows, spelt as Salesforce spells them (``Id``, ``Account.
        Name``): what the frame of a query that returned no row holds. Aggregates and
        subqueries are left out (their columns come with their rows)."""
        if listing.parts is None or listing.object is None:
            return []
        out = []
        for item in listing.parts.fields:
            if not _PLAIN_FIELD.match(item):
                continue
            found = self._path_field(listing.object, item.split("."))
            out.append(found[0] if found is not None else item)
        return list(dict.fromkeys(out))

    def _path_field(self, object: str, path: builtins.list[str]) -> tuple[str, str] | None:
        """(the field path as the describe spells it, its type), or None when unknown."""
        fields = {f["name"].lower(): f for f in self.describe(object).get("fields", [])}
        if len(path) == 1:
            field = fields.get(path[0].lower())
            return (str(field["name"]), str(field["type"])) if field else None
        for field in fields.values():
            relation = str(field.get("relationshipName") or "")
            if relation.lower() == path[0].lower():
                targets = field.get("referenceTo") or []
                found = self._path_field(targets[0], path[1:]) if len(targets) == 1 else None
                return None if found is None else (f"{relation}.{found[0]}", found[1])
        return None

    def retrieve(self, resource: str, id: str, **params: Any) -> dict[str, Any]:
        """One record by id (``fields=[...]`` to pick fields); the object name and the id are
        each one path segment."""
        path_segment(id, service=self.service, endpoint="sobjects.retrieve")
        fields = params.pop("fields", None)
        if fields is not None and not isinstance(fields, str):
            params["fields"] = ",".join(fields)
        elif fields:
            params["fields"] = fields
        body = self.request("GET", self.data_path("sobjects", resource, id), params=params,
                            endpoint="sobjects.retrieve")
        return strip_attributes(body)  # type: ignore[no-any-return]

    # -- writes -------------------------------------------------------------------------------
    def create(self, object: str, data: Mapping[str, Any] | None = None,
               **fields: Any) -> dict[str, Any]:
        """Create a record; Salesforce's answer ``{"id", "success", "errors"}``."""
        body = _jsonable({**(data or {}), **fields})
        return self.request("POST", self.data_path("sobjects", object),  # type: ignore[no-any-return]
                            json=body, endpoint="sobjects.create")

    def update(self, object: str, id: str, data: Mapping[str, Any] | None = None,
               **fields: Any) -> None:
        """Change fields of a record (PATCH; nothing comes back)."""
        self.request("PATCH", self.data_path("sobjects", object, id),
                     json=_jsonable({**(data or {}), **fields}), endpoint="sobjects.update")

    def delete(self, object: str, id: str) -> None:
        """Delete a record (it goes to the recycle bin: ``query_all`` still sees it)."""
        self.request("DELETE", self.data_path("sobjects", object, id),
                     endpoint="sobjects.delete")

    def upsert(self, object: str, *, external_id: str, external_value: Any,
               data: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update the record whose ``external_id`` field equals ``external_value``;
        the answer says which (``created``) and the record's ``id``."""
        value = _jsonable(external_value)
        body = self.request(
            "PATCH", self.data_path("sobjects", object, external_id, str(value)),
            json=_jsonable(dict(data)), endpoint="sobjects.upsert")
        return body or {"id": None, "success": True, "errors": [], "created": False}

    def _collections(self, method: str, object: str | None, records: builtins.list[dict[str, Any]],
                     all_or_none: bool) -> builtins.list[dict[str, Any]]:
        if all_or_none and len(records) > COLLECTION_SIZE:
            raise ConfigError(
                f"all_or_none holds within one request of {COLLECTION_SIZE} records; "
                f"{len(records)} records would be {-(-len(records) // COLLECTION_SIZE)} separate "
                "transactions. Send at most 200, or use all_or_none=False.")
        results: builtins.list[dict[str, Any]] = []
        path = self.data_path("composite", "sobjects")
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start:start + COLLECTION_SIZE]
            if method == "DELETE":
                params = {"ids": ",".join(r["Id"] for r in chunk),
                          "allOrNone": str(all_or_none).lower()}
                answer = self.request("DELETE", path, params=params,
                                      endpoint="composite.sobjects.delete")
            else:
                typed = [{"attributes": {"type": object}, **r} for r in chunk]
                answer = self.request(method, path, json={"allOrNone": all_or_none,
                                                          "records": typed},
                                      endpoint=f"composite.sobjects.{method.lower()}")
            results.extend(answer or [])
        return results

    def create_many(self, object: str, records: Iterable[Mapping[str, Any]] | Any, *,
                    all_or_none: bool = False) -> builtins.list[dict[str, Any]]:
        """Create records (a list of dicts or a DataFrame) 200 per request (sObject
        Collections); one ``{"id", "success", "errors"}`` per record, in order."""
        return self._collections("POST", object, _records(records), all_or_none)

    def update_many(self, object: str, records: Iterable[Mapping[str, Any]] | Any, *,
                    all_or_none: bool = False) -> builtins.list[dict[str, Any]]:
        """Update records (each with its ``Id``) 200 per request; one result per record."""
        rows = _records(records)
        if any(not r.get("Id") for r in rows):
            raise ConfigError("update_many: every record needs its Id")
        return self._collections("PATCH", object, rows, all_or_none)

    def delete_many(self, ids: Iterable[str], *, all_or_none: bool = False
                    ) -> builtins.list[dict[str, Any]]:
        """Delete records by id, 200 per request; one result per id."""
        return self._collections("DELETE", None, [{"Id": str(i)} for i in ids], all_or_none)


CONNECTION = SalesforceConnection
