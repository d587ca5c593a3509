"""The SOQL builder: literals, operators, names, and reading a query back for COUNT()."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

import integkit as ik
from integkit.engine._services.salesforce_soql import build_soql, count_soql, quote, split_soql


@pytest.mark.parametrize(("value", "literal"), [
    (None, "null"), (True, "true"), (False, "false"), (42, "42"), (1e20, "100000000000000000000"),
    (decimal.Decimal("12.50"), "12.50"), (0.1, "0.1"),
    ("it's", r"'it\'s'"), ('a "b" \\ c', r"'a \"b\" \\ c'"), ("line\nbreak\t", r"'line\nbreak\t'"),
    (dt.date(2024, 2, 29), "2024-02-29"),
    (dt.datetime(2024, 1, 15, 10, 30), "2024-01-15T10:30:00Z"),
    (dt.datetime(2024, 1, 15, 12, 30, 0, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "2024-01-15T10:30:00.250Z"),
])
def test_literals(value: object, literal: str) -> None:
    assert quote(value) == literal


def test_literals_that_soql_has_not() -> None:
    for value in (float("nan"), object(), [1, 2]):
        with pytest.raises(ik.ConfigError):
            quote(value)


def test_operators_and_clauses() -> None:
    soql = build_soql(
        "Opportunity", ["Id", "Account.Name"],
        where={"StageName": ["Closed Won", "Closed Lost"], "Amount": {"gt": 10, "lte": 99.5},
               "Name": {"like": "Acme%", "ne": "Acme Test"}, "AccountId": None,
               "CloseDate": {"null": False}, "Type": {"not_in": ["Other"]}, "IsWon": True},
        order_by=["-CloseDate", "Name asc nulls last"], limit=10, offset=20)
    assert soql == (
        "SELECT Id, Account.Name FROM Opportunity WHERE StageName IN ('Closed Won', "
        "'Closed Lost') AND Amount > 10 AND Amount <= 99.5 AND Name LIKE 'Acme%' AND "
        "Name != 'Acme Test' AND AccountId = null AND CloseDate != null AND "
        "Type NOT IN ('Other') AND IsWon = true ORDER BY CloseDate DESC, Name ASC NULLS LAST "
        "LIMIT 10 OFFSET 20")


@pytest.mark.parametrize("bad", [
    {"object": "Account; DELETE"}, {"fields": ["Id, (SELECT Id FROM Contacts)"]},
    {"where": {"Name = 'x' OR Id": 1}}, {"where": {"Amount": {"approx": 3}}},
    {"where": {"Amount": {"gt": None}}}, {"where": {"Type": {"in": []}}},
    {"where": {"Type": {"in": "abc"}}}, {"order_by": "Name; DROP"}, {"limit": -1},
    {"limit": True}, {"fields": []},
])
def test_names_and_shapes_are_checked(bad: dict) -> None:
    args = {"object": "Account", "fields": ["Id"], **bad}
    with pytest.raises(ik.ConfigError):
        build_soql(args.pop("object"), args.pop("fields"), **args)


def test_reading_a_query_back() -> None:
    parts = split_soql("select Id, (SELECT Id FROM Contacts), Name from Account "
                       "where Name = 'a FROM b ORDER BY c' order by Name limit 5")
    assert parts is not None and parts.object == "Account"
    assert parts.fields == ["Id", "(SELECT Id FROM Contacts)", "Name"]
    assert parts.clause("WHERE") == "Name = 'a FROM b ORDER BY c'"
    assert parts.clause("ORDER BY") == "Name" and parts.clause("LIMIT") == "5"
    assert count_soql("SELECT Id FROM Contact WHERE Email LIKE '%it\\'s%' ORDER BY Name "
                      "LIMIT 40") == ("SELECT COUNT() FROM Contact WHERE Email LIKE "
                                      "'%it\\'s%'", 40)
    assert count_soql("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry") is None
    assert count_soql("SELECT Id FROM Account OFFSET 10") is None
    assert split_soql("DELETE FROM Account") is None
