"""Errors that help (issue 10, item 4).

A mistyped event, keyword, option or plan is an integkit error that names the call and the
closest thing that exists (never Python's TypeError from some inner ``__init__``); a typo of
one of integkit's options in ``conn.list`` never leaks into the query string; ``ik.quota``
works for ``ik.rest`` connections, also once they are gone; and no message or docstring names
a method or function that does not exist. Calls go over real loopback HTTP (``home``).
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import inspect
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik
from integkit._connect import _connection_class
from integkit._events import EVENTS
from integkit.engine import Connection, ConnectorDef, Resource, available_services
from integkit.engine import load_definition as definition_of
from integkit.ledger import Ledger, pricing_for

from .._live import gone

ROOT = Path(__file__).resolve().parents[2]




# -- ik.on / ik.off ------------------------------------------------------------------------------
def test_a_mistyped_event_raises_and_lists_the_events() -> None:
    with pytest.raises(ik.ConfigError) as info:
        ik.on("quoat", print)
    message = str(info.value)
    assert "ik.on('quoat')" in message and "did you mean 'quota'?" in message
    for name in ("call", "auth", "quota"):
        assert f"{name} (" in message
    with pytest.raises(ik.ConfigError, match="ik.off\\('cal'\\).*did you mean 'call'"):
        ik.off("cal")
    with pytest.raises(ik.ConfigError, match="fn must be a function"):
        ik.on("call", "print")


def test_every_event_integkit_emits_can_be_hooked() -> None:
    emitted = set()
    for path in (ROOT / "integkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "emit":
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path}: emit() of a computed name"
                emitted.add(first.value)
    assert emitted == set(EVENTS)
    def hook(event: Any) -> None:
        pass

    for name in EVENTS:
        assert ik.on(name, hook) is hook
        ik.off(name, hook)


# -- keywords of ik.connect and ik.rest --------------------------------------------------------
@pytest.mark.parametrize(("service", "options", "meant"), [
    ("stripe", {"api_kye": "sk_test_typo_123456789"}, "api_key"),
    ("stripe", {"api_key": "sk_test_typo_123456789", "retyr": {}}, "retry"),
    ("stripe", {"api_key": "sk_test_typo_123456789", "rate_limt": False}, "rate_limit"),
    ("shopify", {"shop": "demo", "access_token": "shpat_typo_123456", "base_ur": "x"},
     "base_url"),
    ("github", {"token": "ghp_typo_1234567890", "rpo": "a/b"}, "repo"),
    ("salesforce", {"client_id": "id", "client_secret": "s", "refresh_token": "r",
                    "bulk_treshold": 5}, "bulk_threshold"),
])
def test_a_mistyped_connect_keyword_names_connect_and_the_closest(
        service: str, options: dict[str, Any], meant: str) -> None:
    with pytest.raises(ik.ConfigError) as info:
        ik.connect(service, **options)
    message = str(info.value)
    typo = list(options)[-1]
    assert message.startswith(f"ik.connect({service!r}) takes no keyword {typo!r}")
    assert f"did you mean {meant}=?" in message
    assert "__init__" not in message and "PipelineOptions" not in message


def test_a_listing_option_given_to_connect_says_where_it_belongs() -> None:
    with pytest.raises(ik.ConfigError, match="'paralel': parallel= is an option of conn.list"):
        ik.connect("stripe", api_key="sk_test_typo_123456789", paralel=4)
    with pytest.raises(ik.ConfigError, match="'max_records': it is an option of conn.list"):
        ik.rest("http://127.0.0.1:9", max_records=10)
    with pytest.raises(ik.ConfigError) as info:
        ik.connect("stripe", api_key="sk_test_typo_123456789", zzqx=1)
    assert "it takes: " in str(info.value) and "api_key" in str(info.value)


@pytest.mark.parametrize(("options", "meant"), [
    ({"paginatr": "cursor"}, "paginator"), ({"records_pth": "items"}, "records_path"),
    ({"primary_keys": "id"}, "primary_key"), ({"allowed_origin": ["x"]}, "allowed_origins"),
    ({"rate_limits": False}, "rate_limit"),
])
def test_a_mistyped_rest_keyword_names_rest_and_the_closest(options, meant) -> None:
    with pytest.raises(ik.ConfigError) as info:
        ik.rest("http://127.0.0.1:9", **options)
    assert str(info.value) == (f"ik.rest() takes no keyword {next(iter(options))!r}; "
                               f"did you mean {meant}=?")


def test_every_keyword_connect_accepts_reaches_the_connection(home) -> None:
    # the accepted set is derived from the signatures: each keyword really is taken
    conn = ik.connect("stripe", api_key="sk_test_kw_123456789", base_url=home.url,
                      max_connections=3, max_empty_pages=4, coalesce=False, rate_limit=False,
                      account="kw", priority="bulk", deadline="1m", allowed_origins=[])
    assert conn.max_empty_pages == 4 and conn.priority == "bulk" and conn.deadline == 60


# -- conn.list: a slip of integkit's own options never leaks into the query ----------------------
def echo(request: Request) -> JSONResponse:
    return JSONResponse({"data": [{"id": 1, "query": str(request.url.query)}], "next": None})


@pytest.mark.parametrize(("typo", "meant"), [
    ("max_record", "max_records"), ("paralel", "parallel"), ("maxRecords", "max_records"),
    ("checkpont", "checkpoint"), ("deadlin", "deadline"), ("priorty", "priority"),
    ("cahce", "cache"), ("max_empty_page", "max_empty_pages"),
])
def test_a_slip_of_a_list_option_raises_before_any_call(home, typo, meant) -> None:
    home.route("/items", echo)
    conn = ik.rest(home.url, rate_limit=False, cache=False)
    with pytest.raises(ik.ConfigError) as info:
        conn.list("/items", **{typo: 10})
    message = str(info.value)
    assert f"{typo}= looks like a slip of integkit's {meant}=" in message
    assert f"did you mean {meant}=?" in message
    assert f"list('/items?{typo}=...')" in message  # how to send it if the API takes it
    assert home.seen == []


def test_the_services_own_parameters_go_to_the_query_as_given(home) -> None:
    home.route("/items", echo)
    conn = ik.rest(home.url, rate_limit=False, cache=False)
    params = {"limit": 5, "status": "open", "headline": "x", "jsonp": "cb", "methods": "a",
              "max_results": 7, "state": "all", "page_size": 3}
    row = conn.list("/items", **params).to_frame().iloc[0]
    assert sorted(row["query"].split("&")) == sorted(f"{k}={v}" for k, v in params.items())
    # a name that looks like a slip, sent through the path as the error says
    row = conn.list("/items?cached=1", limit=5).to_frame().iloc[0]
    assert row["query"] == "cached=1&limit=5"


def test_a_parameter_the_resource_declares_is_never_judged_a_slip(home) -> None:
    home.route("/items", echo)
    definition = ConnectorDef(service="declared", base_url=home.url, resources={
        "items": Resource(name="items", path="/items", params={"cached": 0})})
    conn = Connection(definition, rate_limit=False, cache=False)
    assert conn.list("items", cached=1).to_frame().iloc[0]["query"] == "cached=1"


# -- ik.quota for ik.rest connections --------------------------------------------------------------
def test_quota_reports_a_rest_connection_also_once_it_is_gone(home, state_url) -> None:
    home.route("/items", echo)
    name = f"q{uuid.uuid4().hex[:8]}"
    frame = ik.rest(home.url, name=name, state=state_url, cache=False,
                    rate_limit={"limit": 50, "per": "1s"},
                    quotas={"daily": 100}).list("/items").to_frame()
    assert len(frame) == 1
    assert gone(lambda c: c.service == name)  # its limits live in the state backend
    status = ik.quota(name)
    assert status["service"] == name
    assert status["budgets"]["daily"]["used"] == 1
    assert status["budgets"]["daily"]["remaining"] == 99
    assert [t["limit"] for t in status["limits"]] == [50]
    api = ik.rest(home.url, name=name, state=state_url, cache=False, quotas={"daily": 100})
    api.list("/items").to_frame()
    assert ik.quota(name)["budgets"]["daily"]["used"] == 2 == ik.quota(api)[
        "budgets"]["daily"]["used"]


def test_quota_of_an_unknown_name_or_of_nothing_says_what_to_pass() -> None:
    with pytest.raises(ik.ConfigError, match="ik.quota\\('nowhere'\\): no connection named "
                                             "'nowhere' was made in this process.*ik.quota\\(api"):
        ik.quota("nowhere")
    with pytest.raises(ik.ConfigError, match="ik.quota\\(\\) needs the service's name or the "
                                             "connection"):
        ik.quota()


# -- ik.costs(plan=...) ---------------------------------------------------------------------------
def test_costs_with_a_plan_that_does_not_exist_lists_the_plans(tmp_path) -> None:
    empty = Ledger(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(ik.ConfigError) as info:
        ik.costs(plan="platinum-x", state=empty)
    message = str(info.value)
    assert message.startswith("ik.costs(plan='platinum-x'): no pricing table has it.")
    for service in available_services():
        table = pricing_for(service)
        if table is not None:
            assert f"{service}: {', '.join(sorted(table.plans))}" in message
    stripe_plan = sorted(pricing_for("stripe").plans)[0]  # type: ignore[union-attr]
    with pytest.raises(ik.ConfigError, match=f"Did you mean {stripe_plan!r}"):
        ik.costs(plan=stripe_plan[:-1] + "x" + stripe_plan[-1], state=empty)
    assert ik.costs(plan=stripe_plan, state=empty).empty  # a real plan, nothing billed yet


def test_costs_names_the_services_with_calls_and_their_plans(tmp_path) -> None:
    now = dt.datetime(2025, 7, 1, 12, tzinfo=dt.UTC).timestamp()
    book = Ledger(f"sqlite:///{tmp_path / 'state.db'}")
    book.record(ik.CallEvent(service="stripe", endpoint="charges.list", method="GET",
                             url="https://api.stripe.com/v1/charges", status=200,
                             duration=0.1, attempt=1, timestamp=now))
    with pytest.raises(ik.ConfigError) as info:
        ik.costs(plan="platinum-x", state=book, now=now)
    message = str(info.value)
    plans = ", ".join(sorted(pricing_for("stripe").plans))  # type: ignore[union-attr]
    assert "none of the services with calls in 2025-07 (stripe) has it" in message
    assert f"Plans: stripe: {plans};" in message and "github" not in message


# -- hints never name what does not exist --------------------------------------------------------
_NAMED = re.compile(r"(?<![\w.])(ik|conn|Result|result|"
                    + "|".join(available_services()) + r")((?:\.\w+)+)\(")


def _instance_attributes(cls: type) -> dict[str, type | None]:
    """Attributes ``__init__`` sets (``self.inventory = Inventory(self)``), with the class
    they are made from where it can be read off the line."""
    found: dict[str, type | None] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            source = inspect.getsource(init)
        except (OSError, TypeError):
            continue
        scope = inspect.getmodule(init).__dict__  # type: ignore[union-attr]
        for attr, made in re.findall(r"self\.(\w+)\s*(?::[^=\n]+)?=\s*(\w+)?", source):
            kind = scope.get(made)
            found.setdefault(attr, kind if isinstance(kind, type) else None)
    return found


def _resolves(owner: Any, parts: list[str]) -> bool:
    """Whether ``owner.parts[0].parts[1]...`` exists (a class's attributes, or those its
    ``__init__`` sets)."""
    for part in parts:
        if hasattr(owner, part):
            owner = getattr(owner, part)
            continue
        made = _instance_attributes(owner).get(part, False) if isinstance(owner, type) else False
        if made is False:
            return False
        if made is None:  # set in __init__, of a kind the line does not say
            return True
        owner = made
    return True


def _service(name: str) -> tuple[type, set[str]]:
    definition = definition_of(name)
    return _connection_class(definition), set(definition.operations)


def names_resolve(head: str, chain: str) -> bool:
    parts = chain.strip(".").split(".")
    if head == "ik" and parts[0] in available_services():
        head, parts = parts[0], parts[1:]
        if not parts:
            return True
    if head == "ik":
        return _resolves(ik, parts)
    if head in ("Result", "result"):
        return _resolves(ik.Result, parts)
    services = [_service(s) for s in available_services()] if head == "conn" else \
        [_service(head)]
    if head == "conn":
        services.append((Connection, set()))
    return any(_resolves(cls, parts) or (len(parts) == 1 and parts[0] in operations)
               for cls, operations in services)


def _texts() -> list[tuple[str, str]]:
    """Every string in integkit's code (messages, hints, docstrings), and the READMEs."""
    found = []
    for path in sorted((ROOT / "integkit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    for readme in (ROOT / "README.md", ROOT / "notebooks" / "README.md"):
        found.append((str(readme.relative_to(ROOT)), readme.read_text()))
    return found


def test_no_message_names_a_method_that_does_not_exist() -> None:
    named = [(where, m.group(1), m.group(2)) for where, text in _texts()
             for m in _NAMED.finditer(text)]
    assert len(named) > 100  # the scan sees the messages (ik.connect(, conn.list(...)...)
    missing = sorted({f"{where}: {head}{chain}(" for where, head, chain in named
                      if not names_resolve(head, chain)})
    assert missing == []


def test_the_scan_catches_a_name_that_does_not_exist() -> None:
    assert not names_resolve("conn", ".list_path")
    assert not names_resolve("ik", ".stripe.list_path")
    assert not names_resolve("ik", ".quota_of")
    assert names_resolve("conn", ".list") and names_resolve("ik", ".auth.OAuth2")
    assert names_resolve("shopify", ".inventory.check")  # set in __init__, typed by its line
    assert not names_resolve("shopify", ".inventory.count_all")
    assert names_resolve("stripe", ".create_payment_intent")  # an operation of the definition


def _arguments(text: str, start: int) -> str:
    """The argument text of the call whose ``(`` is at ``start`` (quotes and brackets
    balanced), or what there is of it."""
    depth, quote, index = 0, "", start
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return text[start + 1:index]
        index += 1
    return text[start + 1:]


def _top_level_keywords(arguments: str) -> tuple[str | None, list[str]]:
    """The first positional argument's literal text and the keywords of a call's arguments,
    at its own level (not those of nested calls or dicts)."""
    parts, depth, quote, current = [], 0, "", ""
    for index, char in enumerate(arguments):
        if quote:
            quote = "" if char == quote and arguments[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    parts.append(current.strip())
    keywords = [m.group(1) for part in parts
                if (m := re.match(r"([A-Za-z_]\w*)\s*=(?!=)", part))]
    first = parts[0] if parts and not re.match(r"[A-Za-z_]\w*\s*=(?!=)", parts[0]) else None
    return first, keywords


def _accepted(function: str, first: str | None) -> set[str] | None:
    """The keywords ``ik.<function>`` takes (None: any, it passes them on)."""
    from integkit._connect import connect_keywords

    if function == "connect":
        literal = (first or "").strip("'\"")
        services = [literal] if literal in available_services() else available_services()
        return set().union(*(connect_keywords(_connection_class(definition_of(s)),
                                               definition_of(s)) for s in services))
    if function == "rest":
        return {*inspect.signature(ik.rest).parameters, *Connection.keywords()}
    if function == "configure":  # configure(**changes): the settings there are
        return {f.name for f in dataclasses.fields(ik.Settings)}
    if function == "sandbox":  # ik.sandbox(service, **options) starts integkit.sandbox's
        from integkit.sandbox import sandbox

        return set(inspect.signature(sandbox).parameters)
    target: Any = ik
    for part in function.split("."):
        target = getattr(target, part, None)
    if target is None or not callable(target):
        return None
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def test_no_message_names_an_option_a_call_does_not_take() -> None:
    checked, wrong = 0, []
    for where, text in _texts():
        for match in re.finditer(r"(?<![\w.])ik\.([\w.]+)\(", text):
            if match.group(1).split(".")[0] in available_services():
                continue  # ik.stripe.list(...): the rest are the service's parameters
            first, keywords = _top_level_keywords(_arguments(text, match.end() - 1))
            accepted = _accepted(match.group(1), first) if keywords else None
            if accepted is None:
                continue
            checked += len(keywords)
            wrong += [f"{where}: ik.{match.group(1)}(... {k}=" for k in keywords
                      if k not in accepted]
    assert checked > 100  # ik.connect(..., allowed_origins=...), ik.configure(state=...)...
    assert wrong == []
    assert _top_level_keywords('"stripe", api_kye=1, retry={"a": (1, 2)}') == (
        '"stripe"', ["api_kye", "retry"])
    assert "api_kye" not in _accepted("connect", '"stripe"')  # type: ignore[operator]
