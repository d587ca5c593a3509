"""Typed request parameters (integkit._params): one converter for every connector's times,
flags, numbers, enums, lists and ranges; every input form a user brings; every error naming
the parameter and the forms it takes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import integkit as ik
from integkit._params import TIME_TYPES, ParamType, convert, param_type, parameters
from integkit.engine._services.slack import to_slack_ts
from integkit.engine._services.stripe import to_unix

UTC = dt.UTC
# Whole microseconds from 1971 to 2100: what every time form can carry exactly.
moments = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1),
                       timezones=st.just(UTC))


def kind(spec: Any) -> ParamType:
    return param_type(spec, "test")


@given(moments)
def test_every_form_of_one_moment_sends_the_same_value(when: dt.datetime) -> None:
    seconds = Decimal(int(when.timestamp())) + Decimal(when.microsecond) / 1_000_000
    forms = [when, when.replace(tzinfo=None), pd.Timestamp(when),
             when.isoformat(), when.isoformat().replace("+00:00", "Z"),
             when.astimezone(dt.timezone(dt.timedelta(hours=5))), f"{seconds:.6f}", seconds]
    for name in TIME_TYPES:
        sent = {repr(convert("t", form, kind(name))) for form in forms}
        assert len(sent) == 1, (name, sent)


@given(moments)
def test_each_time_type_sends_its_own_form_and_reads_back(when: dt.datetime) -> None:
    assert convert("t", when, kind("unix")) == int(when.timestamp())
    assert convert("t", when, kind("unix_ms")) == int(when.timestamp() * 1000) or \
        abs(convert("t", when, kind("unix_ms")) - when.timestamp() * 1000) < 1
    ts = convert("t", when, kind("slack_ts"))
    assert isinstance(ts, str) and len(ts.split(".")[1]) == 6
    assert convert("t", ts, kind("slack_ts")) == ts  # a Slack ts goes out as it came
    stamp = convert("t", when, kind("datetime"))
    assert stamp == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert convert("t", stamp, kind("datetime")) == stamp
    assert convert("t", when, kind("date")) == when.date().isoformat()
    assert convert("t", when.date(), kind("unix")) == int(
        dt.datetime.combine(when.date(), dt.time(), UTC).timestamp())


@given(st.integers(min_value=0, max_value=4_102_444_800))
def test_unix_numbers_round_trip(seconds: int) -> None:
    assert convert("t", seconds, kind("unix")) == seconds
    assert convert("t", str(seconds), kind("unix")) == seconds
    assert convert("t", seconds, kind("unix_ms")) == seconds * 1000
    assert convert("t", seconds, kind("slack_ts")) == f"{seconds}.000000"
    day = convert("t", seconds, kind("date"))
    assert convert("t", day, kind("unix")) == seconds - seconds % 86_400


@pytest.mark.parametrize("type_", TIME_TYPES)
@pytest.mark.parametrize("bad", ["last tuesday", "", True, [1], {"x": 1}, float("nan"),
                                 "inf", object(), pd.NaT])
def test_a_value_that_is_no_time_is_an_error_naming_the_parameter(type_: str, bad: Any) -> None:
    with pytest.raises(ik.ConfigError, match=r"^since=.* is not a date or a time: pass a date"
                       r" \('2024-01-31'\), an ISO 8601 time"):
        convert("since", bad, kind(type_))


def test_the_public_helpers_are_the_one_converter() -> None:
    assert to_slack_ts("2024-01-02") == "1704153600.000000"
    assert to_slack_ts(1712345678.0001) == "1712345678.000100"
    assert to_unix("2024-01-31T12:00:00Z") == 1706702400
    with pytest.raises(ik.ConfigError, match="is not a date or a time"):
        to_unix("soon")


def test_flags_numbers_text_and_enums() -> None:
    flag = kind("boolean")
    assert [convert("f", v, flag) for v in (True, False, "TRUE", "false", 1, 0)] == \
        ["true", "false", "true", "false", "true", "false"]
    assert convert("n", "42", kind("integer")) == 42 and convert("n", 7.0, kind("integer")) == 7
    assert convert("s", 3, kind("string")) == "3"
    state = kind({"type": "enum", "values": ["open", "closed", "all"]})
    assert convert("state", "open", state) == "open"
    for name, value, spec, message in [
        ("inclusive", "yes", "boolean", "is not a boolean: pass True or False"),
        ("limit", 2.5, "integer", "is not a whole number"),
        ("limit", True, "integer", "is not a whole number"),
        ("q", {"a": 1}, "string", "is not text"),
        ("state", "bogus", state, "is not one of open, closed, all"),
    ]:
        with pytest.raises(ik.ConfigError, match=rf"^{name}=.* {message}"):
            convert(name, value, kind(spec))


@given(st.lists(st.text(alphabet="abcxyz -_", min_size=1), min_size=1, max_size=5))
def test_lists_join_with_their_separator_and_a_joined_string_stays(items: list[str]) -> None:
    comma, pipe = kind("list"), kind({"type": "list", "separator": "|"})
    assert convert("labels", items, comma) == ",".join(items)
    assert convert("labels", tuple(items), pipe) == "|".join(items)
    joined = ",".join(items)
    assert convert("labels", joined, comma) == joined


def test_list_items_are_typed_and_sets_sorted() -> None:
    days = kind({"type": "list", "of": "date"})
    assert convert("days", [dt.date(2024, 1, 2), "2024-01-03T05:00:00Z"], days) == \
        "2024-01-02,2024-01-03"
    assert convert("types", {"im", "mpim", "public_channel"}, kind("list")) == \
        "im,mpim,public_channel"
    channel = kind({"type": "list", "of": "enum", "values": ["im", "mpim"]})
    with pytest.raises(ik.ConfigError, match=r"^types\[1\]='pm' is not one of im, mpim"):
        convert("types", "im,pm", channel)
    with pytest.raises(ik.ConfigError, match=r"^types=3 is not a list"):
        convert("types", 3, kind("list"))


@given(moments, moments)
def test_ranges_convert_each_bound(a: dt.datetime, b: dt.datetime) -> None:
    nested = kind({"type": "range", "of": "unix"})
    assert convert("created", {"gte": a, "lt": b.isoformat()}, nested) == \
        {"gte": int(a.timestamp()), "lt": int(b.timestamp())}
    text = kind({"type": "range", "of": "date", "form": "text"})
    assert convert("created", {"gte": a, "lte": b}, text) == \
        f"{a.date().isoformat()}..{b.date().isoformat()}"
    assert convert("created", {"gt": a}, text) == f">{a.date().isoformat()}"


def test_range_errors_name_the_parameter_and_the_keys() -> None:
    nested = kind({"type": "range", "of": "unix"})
    assert convert("created", "2024-01-01", nested) == 1704067200  # one moment
    assert convert("created", ">=2024-01-01", kind(
        {"type": "range", "of": "date", "form": "text"})) == ">=2024-01-01"  # its own syntax
    with pytest.raises(ik.ConfigError, match=r"^created: a range's keys are gte, gt, lte, lt, "
                                             r"not after"):
        convert("created", {"after": "2024-01-01"}, nested)
    with pytest.raises(ik.ConfigError, match=r"^created\['lt'\]='soon' is not a date"):
        convert("created", {"gte": 1, "lt": "soon"}, nested)
    with pytest.raises(ik.ConfigError, match="^created: this service takes one bound"):
        convert("created", {"gt": 1, "lt": 2},
                kind({"type": "range", "of": "date", "form": "text"}))


@pytest.mark.parametrize(("spec", "message"), [
    ("weekday", "parameter 'since' type"),
    ({"type": "range"}, "a range needs of: one of date"),
    ({"type": "range", "of": "boolean"}, "a range needs of"),
    ({"type": "list", "of": "range"}, "a list's items are of a plain type"),
    ({"type": "enum"}, "an enum (or a list of one) needs values"),
    ({"type": "string", "values": ["a"]}, "an enum (or a list of one) needs values"),
    ({"type": "date", "form": "text"}, "form: is for a range"),
    ({"type": "date", "of": "unix"}, "of: is for a list or a range"),
    ({"type": "date", "sep": ","}, "unknown key 'sep'"),
])
def test_declarations_are_checked_naming_the_parameter(spec: Any, message: str) -> None:
    with pytest.raises(ik.ConfigError, match="since") as info:
        parameters({"since": spec}, "parameters")
    assert message.split("'since'")[-1].strip() in str(info.value)


def test_soql_datetime_literals_are_the_one_utc_form() -> None:
    from integkit.engine._services.salesforce_soql import quote
    when = dt.datetime(2024, 1, 31, 12, 0, 0, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert quote(when) == "2024-01-31T11:00:00.250Z"
    assert quote(when.replace(microsecond=0, tzinfo=None)) == "2024-01-31T12:00:00Z"
    assert quote(pd.Timestamp("2024-01-31T12:00:00Z")) == "2024-01-31T12:00:00Z"
    assert quote(dt.date(2024, 1, 31)) == "2024-01-31"
