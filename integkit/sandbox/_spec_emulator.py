"""An emulator made from any OpenAPI 3 description: ``ik.sandbox(spec="openapi.yaml")``.

Every operation of the description is routed (Starlette's path templates); requests are judged
by :class:`~integkit.sandbox._openapi.SpecValidator` (a refused one gets 400, or 422 for a
body, with the problems named); answers are generated from the response schemas, the same for
a seed (:mod:`._fake`). A collection (a path whose GET lists an array and whose
``{path}/{id}`` exists) is a store: seeded ``records``, POST creates, GET/PATCH/PUT/DELETE on
the item read, update and delete, and GET on the collection pages in the style the
description's parameters show (``offset``, ``page``, ``cursor``/``page_token``,
``starting_after``) or the one given (``paging=``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import yaml
from starlette.routing import compile_path

from .._errors import ConfigError
from ._app import Emulator, Reply, Request
from ._clock import Moment
from ._fake import Faker, deref
from ._openapi import SpecValidator, base_path

__all__ = ["PAGING_STYLES", "SpecEmulator", "load_spec"]

PAGING_STYLES = ("offset", "page", "cursor", "starting_after")
_METHODS = ("get", "post", "put", "patch", "delete")
_SIZE = ("limit", "per_page", "page_size", "pageSize", "perPage", "max_results", "maxResults",
         "count", "size")
_CURSOR = ("cursor", "page_token", "pageToken", "after", "next_token")
_TOTAL = re.compile(r"^(total|total_count|totalCount|total_results|count)$")
_MORE = re.compile(r"^(has_more|hasMore|has_next|more)$")
_NEXT = re.compile(r"^(next|next_cursor|nextCursor|next_page_token|nextPageToken|next_page"
                   r"|next_token|next_url|cursor)$")


def load_spec(spec: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """The description as a dict (a fresh copy): a mapping, or a ``.yaml``/``.json`` file."""
    if isinstance(spec, Mapping):
        return copy.deepcopy(dict(spec))
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"sandbox: no OpenAPI description at {str(path)!r}")
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3"):
        raise ConfigError(f"sandbox: {str(path)!r} is not an OpenAPI 3 description")
    return doc


class _Route:
    """One path template of the description and its operations."""

    def __init__(self, template: str, item: dict[str, Any]) -> None:
        self.template = template
        self.regex = compile_path(template)[0]
        self.operations = {m: op for m, op in item.items() if m in _METHODS}
        self.params = list(item.get("parameters", ()))


class SpecEmulator(Emulator):
    """The emulator of a user's own OpenAPI 3 description (a path or a dict)."""

    key_prefix = "key_spec_"

    def __init__(self, spec: str | Path | Mapping[str, Any], *, records: int = 100,
                 seed: int = 0, rate_limit: tuple[float, int] | None = None,
                 latency: float = 0.0, api_key: str | None = None, now: Moment = None,
                 paging: str | None = None) -> None:
        super().__init__(api_key=api_key, rate_limit=rate_limit, latency=latency, now=now)
        if paging is not None and paging not in PAGING_STYLES:
            raise ConfigError(f"sandbox: paging={paging!r}; use one of {PAGING_STYLES}")
        self.doc = load_spec(spec)
        title = str(self.doc.get("info", {}).get("title") or "api")
        self.service = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "api"
        self.base = base_path(self.doc)
        self.validator = SpecValidator(self.doc)
        # seeded data is anchored at the emulated day's midnight: the same seed, the same data
        self.fake = Faker(self.doc, seed, self.world_clock.midnight())
        self.paging = paging
        self.routes = sorted((_Route(t, i) for t, i in self.doc.get("paths", {}).items()),
                             key=lambda r: (r.template.count("{"), -len(r.template)))
        #: collection path template -> its records, in order
        self.store: dict[str, list[dict[str, Any]]] = {}
        self.items: dict[str, str] = {}  # item template -> collection template
        self.ids: dict[str, str] = {}  # collection template -> its records' id field
        self._seed_collections(records)

    # -- the description's shape -------------------------------------------------------------
    def _seed_collections(self, records: int) -> None:
        templates = {r.template: r for r in self.routes}
        for route in self.routes:
            get = route.operations.get("get")
            item = next((t for t in templates if re.fullmatch(
                re.escape(route.template) + r"/\{[^/}]+\}", t)), None)
            if get is None or item is None or self._item_schema(route.template) is None:
                continue
            self.items[item] = route.template
            schema = self._item_schema(route.template) or {}
            self.ids[route.template] = _id_field(self.fake.properties(schema),
                                                 item.rsplit("{", 1)[1].rstrip("}"))
            self.store[route.template] = [self.fake.record(schema, f"{route.template}#{i}", i)
                                          for i in range(records)]

    def _response_schema(self, operation: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """The first 2xx answer's status and JSON schema (``{}`` when it has none)."""
        for status, answer in sorted(operation.get("responses", {}).items(),
                                     key=lambda pair: str(pair[0])):
            if str(status).startswith("2"):  # "201", 201 (YAML) or "2XX"
                content = deref(self.doc, answer).get("content") or {}
                media: dict[str, Any] = next((v for k, v in content.items() if "json" in k), {})
                return (int(status) if str(status).isdigit() else 200,
                        self.fake.merged(media.get("schema") or {}))
        return 200, {}

    def _list_shape(self, template: str) -> tuple[dict[str, Any], str | None]:
        """The collection GET's answer schema and the name of its array (None: a bare list)."""
        schema = self._response_schema(self.routes_by(template).operations["get"])[1]
        if self.fake.kind(schema) == "array":
            return schema, None
        for name, prop in self.fake.properties(schema).items():
            if self.fake.kind(prop) == "array":
                return schema, name
        return schema, None

    def _item_schema(self, template: str) -> dict[str, Any] | None:
        schema, key = self._list_shape(template)
        array = schema if key is None else self.fake.merged(self.fake.properties(schema)[key])
        items = self.fake.merged(array.get("items") or {})
        return items if self.fake.kind(items) == "object" else None

    def routes_by(self, template: str) -> _Route:
        return next(r for r in self.routes if r.template == template)

    # -- requests ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        key = _credential(request)
        if not self.allow(key):
            return _json(429, {"error": {"message": "rate limit exceeded", "type": "rate_limit"}},
                         [(b"retry-after", b"1")])
        path = request.path[len(self.base):] if request.path.startswith(self.base + "/") \
            else request.path
        route, values = self._route(path)
        if route is None:
            return _json(404, {"error": {"message": f"no operation at {path}",
                                         "type": "not_found"}})
        method = request.method.lower()
        operation = route.operations.get(method)
        if operation is None:
            return _json(405, {"error": {"message": f"{request.method} is not allowed on "
                                         f"{route.template}", "type": "method_not_allowed"}})
        problems = self.validator.problems(request.method, request.path, request.query,
                                           request.headers, request.body)
        if problems:
            status = 422 if all(p.location == "body" for p in problems) else 400
            return _json(status, {"error": {
                "message": "; ".join(f"{p.location}{' ' + p.name if p.name else ''}: {p.kind}"
                                     + (f" (wanted {p.wanted})" if p.wanted else "")
                                     for p in problems),
                "type": "invalid_request",
                "problems": [{"location": p.location, "name": p.name, "kind": p.kind,
                              "wanted": p.wanted} for p in problems]}})
        return self._answer(route, method, operation, values, request)

    def _route(self, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self.routes:
            found = route.regex.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def _answer(self, route: _Route, method: str, operation: Mapping[str, Any],
                values: dict[str, str], request: Request) -> Reply:
        status, schema = self._response_schema(operation)
        template = route.template
        query = dict(parse_qsl(request.query))
        if template in self.store and method == "get":
            try:
                return _json(status, self._page(template, query, request))
            except ValueError as exc:  # a paging parameter the description does not type
                return _json(400, {"error": {"message": f"invalid paging parameter: {exc}",
                                             "type": "invalid_request"}})
        if template in self.store and method == "post":
            record = self._merge(self.fake.record(self._item_schema(template) or {},
                                                  f"{template}#new{len(self.request_log)}",
                                                  len(self.store[template])), request.body,
                                 self.ids[template])
            self._stamp(record)
            self.store[template].append(record)
            self.objects[template] += 1
            return _json(status, record)
        if template in self.items:
            records = self.store[self.items[template]]
            id_field = self.ids[self.items[template]]
            wanted = next(iter(values.values()), "")
            at = next((i for i, r in enumerate(records) if str(r.get(id_field)) == wanted),
                      None)
            if at is None:
                return _json(404, {"error": {"message": f"no record {wanted}",
                                             "type": "not_found"}})
            if method == "delete":
                records.pop(at)
                return Reply(status, b"" if status == 204 else orjson.dumps({id_field: wanted,
                                                                              "deleted": True}))
            if method in ("patch", "put"):
                records[at] = self._merge(records[at], request.body, id_field)
            return _json(status, records[at])
        body = self.fake.value(schema, f"{template}:{method}", 0) if schema else None
        return Reply(status, b"" if body is None else orjson.dumps(body))

    def _stamp(self, record: dict[str, Any]) -> None:
        """A new record's creation and update times: now, by the sandbox clock."""
        now = self.world_clock.datetime().replace(microsecond=0)
        for name in ("created", "created_at", "createdAt", "updated_at", "updatedAt"):
            if isinstance(record.get(name), int):
                record[name] = int(now.timestamp())
            elif isinstance(record.get(name), str) and "T" in record[name]:
                record[name] = now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _merge(self, record: dict[str, Any], body: bytes, id_field: str) -> dict[str, Any]:
        """``record`` with the fields a JSON or form body sets (the id stays)."""
        try:
            sent = orjson.loads(body) if body.lstrip()[:1] == b"{" else \
                dict(parse_qsl(body.decode("utf-8", "replace")))
        except orjson.JSONDecodeError:
            sent = {}
        return {**record, **{k: v for k, v in sent.items() if k != id_field}}

    # -- paging ------------------------------------------------------------------------------
    def _style(self, template: str) -> tuple[str, str, str]:
        """(style, position parameter, size parameter) of the collection's GET."""
        names = [p.get("name", "") for p in (deref(self.doc, p) for p in
                 [*self.routes_by(template).params,
                  *self.routes_by(template).operations["get"].get("parameters", ())])]
        size = next((n for n in _SIZE if n in names), "limit")
        detected = ("offset", "offset") if "offset" in names else \
            ("page", "page") if "page" in names else \
            ("starting_after", "starting_after") if "starting_after" in names else \
            next((("cursor", n) for n in _CURSOR if n in names), ("offset", "offset"))
        style = self.paging or detected[0]
        position = detected[1] if style == detected[0] else \
            {"offset": "offset", "page": "page", "cursor": "cursor",
             "starting_after": "starting_after"}[style]
        return style, position, size

    def _page(self, template: str, query: dict[str, str], request: Request) -> Any:
        style, position, size_name = self._style(template)
        id_field = self.ids[template]
        records = [r for r in self.store[template]
                   if all(str(r.get(k)) == v for k, v in query.items() if k in r)]
        size = max(1, int(float(query.get(size_name, 10))))
        given = query.get(position)
        start = 0
        if style == "offset":
            start = int(given or 0)
        elif style == "page":
            start = (max(1, int(given or 1)) - 1) * size
        elif style == "starting_after" and given:
            start = next((i + 1 for i, r in enumerate(records) if str(r.get(id_field)) == given),
                         len(records))
        elif style == "cursor" and given:
            start = int(given.removeprefix("cur_")) if given.startswith("cur_") else 0
        page = records[start:start + size]
        more = start + size < len(records)
        tokens = {"next": _token(style, start + size, size) if more else None,
                  "prev": _token(style, max(0, start - size), size) if start else None,
                  "self": _token(style, start, size)}
        if style == "starting_after":  # the last record's id is the next page's cursor
            tokens = {"next": str(page[-1].get(id_field)) if more and page else None}
        schema, key = self._list_shape(template)
        if key is None:
            return page
        body = self.fake.value(schema, f"{template}:list", 0)
        body[key] = page
        self._fill(schema, body, len(records), more, tokens, position, query, request)
        return body

    def _fill(self, schema: dict[str, Any], body: dict[str, Any], total: int, more: bool,
              tokens: dict[str, str | None], position: str, query: dict[str, str],
              request: Request, depth: int = 0) -> None:
        """Set the paging fields ``schema`` declares: total, has-more, next (and, as links,
        self and prev)."""
        for name, prop in self.fake.properties(schema).items():
            kind = self.fake.kind(prop)
            link = self.fake.merged(prop).get("format") in ("uri", "url") or \
                name.endswith("url")
            which = "next" if _NEXT.match(name) else \
                "prev" if name in ("prev", "previous") and link else \
                "self" if name == "self" and link else None
            if kind == "object" and depth == 0:
                inner = body.setdefault(name, {})
                if isinstance(inner, dict):
                    self._fill(prop, inner, total, more, tokens, position, query, request, 1)
            elif _TOTAL.match(name) and kind in ("integer", "number"):
                body[name] = total
            elif _MORE.match(name) and kind == "boolean":
                body[name] = more
            elif which is not None and kind == "string":
                token = tokens.get(which)
                if token is None:
                    body.pop(name, None)
                elif link:
                    host = request.headers.get("host", "127.0.0.1")
                    body[name] = f"http://{host}{request.path}?" + \
                        urlencode({**query, position: token})
                else:
                    body[name] = token


def _id_field(properties: Mapping[str, Any], path_param: str) -> str:
    """The field that identifies a record: ``id``, the item path's parameter, or the first
    ``...id`` field."""
    for name in ("id", path_param):
        if name in properties:
            return name
    return next((n for n in properties if n.lower().endswith("id")), "id")


def _token(style: str, start: int, size: int) -> str:
    """What the position parameter says to start at ``start`` (offset, page or cursor)."""
    return str(start) if style == "offset" else str(start // size + 1) if style == "page" \
        else f"cur_{start}"


def _credential(request: Request) -> str:
    """The key limits count against: the bearer token or API key sent (or "anonymous")."""
    auth = request.headers.get("authorization", "")
    return auth.split(" ", 1)[-1] or request.headers.get("x-api-key", "") or "anonymous"


def _json(status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> Reply:
    return Reply(status, orjson.dumps(body), headers)
