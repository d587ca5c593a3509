"""The Salesforce emulator on the wire, checked against the shapes the REST API Developer Guide
and the Bulk API 2.0 guide document (there is no official OpenAPI description to check with):
token response, query pages, errors, describe, writes, sObject Collections, Bulk API 2.0 jobs,
limits and Sforce-Limit-Info."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import re
from collections.abc import Iterator

import httpx
import jsonschema
import pytest

from integkit.sandbox import Sandbox, sandbox

V = "/services/data/v60.0"
NEXT_URL = r"^/services/data/v60\.0/query/01g[0-9A-Za-z]+-\d+$"

TOKEN = {  # REST API guide, "OAuth 2.0 Refresh Token Flow": response fields
    "type": "object", "additionalProperties": False,
    "required": ["access_token", "instance_url", "id", "token_type", "issued_at", "signature",
                 "scope"],
    "properties": {"access_token": {"type": "string"}, "instance_url": {"type": "string"},
                   "id": {"type": "string", "pattern": "/id/00D[0-9A-Za-z]{15}/005"},
                   "token_type": {"const": "Bearer"}, "issued_at": {"type": "string",
                                                                    "pattern": r"^\d{13}$"},
                   "signature": {"type": "string"}, "scope": {"type": "string"}},
}
RECORD = {"type": "object", "required": ["attributes"], "properties": {"attributes": {
    "type": "object", "additionalProperties": False, "required": ["type", "url"],
    "properties": {"type": {"type": "string"}, "url": {"type": "string"}}}}}
QUERY = {  # "Query": totalSize, done, nextRecordsUrl, records
    "type": "object", "additionalProperties": False, "required": ["totalSize", "done", "records"],
    "properties": {"totalSize": {"type": "integer"}, "done": {"type": "boolean"},
                   "nextRecordsUrl": {"type": "string", "pattern": NEXT_URL},
                   "records": {"type": "array", "items": RECORD}},
}
ERRORS = {  # "Status Codes and Error Responses": an array of message/errorCode(/fields)
    "type": "array", "minItems": 1, "items": {
        "type": "object", "additionalProperties": False, "required": ["message", "errorCode"],
        "properties": {"message": {"type": "string"}, "errorCode": {"type": "string"},
                       "fields": {"type": "array", "items": {"type": "string"}}}}}
SAVE_RESULT = {  # sObject Collections: one SaveResult per record
    "type": "object", "required": ["success", "errors"],
    "properties": {"id": {"type": "string"}, "success": {"type": "boolean"},
                   "created": {"type": "boolean"},
                   "errors": {"type": "array", "items": {
                       "type": "object", "additionalProperties": False,
                       "required": ["statusCode", "message", "fields"],
                       "properties": {"statusCode": {"type": "string"},
                                      "message": {"type": "string"},
                                      "fields": {"type": "array"}}}}},
}
JOB = {  # Bulk API 2.0 "Create a Query Job" / "Get Information About a Query Job"
    "type": "object",
    "required": ["id", "operation", "object", "createdById", "createdDate", "systemModstamp",
                 "state", "concurrencyMode", "contentType", "apiVersion", "lineEnding",
                 "columnDelimiter"],
    "properties": {"id": {"type": "string", "pattern": "^750"},
                   "operation": {"enum": ["query", "queryAll"]},
                   "state": {"enum": ["UploadComplete", "InProgress", "Aborted", "JobComplete",
                                      "Failed"]},
                   "contentType": {"const": "CSV"}, "apiVersion": {"type": "number"},
                   "lineEnding": {"enum": ["LF", "CRLF"]},
                   "columnDelimiter": {"const": "COMMA"}},
}
LIMIT = {"type": "object", "required": ["Max", "Remaining"], "additionalProperties": False,
         "properties": {"Max": {"type": "integer"}, "Remaining": {"type": "integer"}}}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with sandbox("salesforce", records=2500, seed=11) as running:
        yield running


def token(sb: Sandbox) -> dict:
    creds = sb.credentials
    answer = httpx.post(f"{sb.url}/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": creds["refresh_token"],
        "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture(scope="module")
def api(sb: Sandbox) -> Iterator[httpx.Client]:
    body = token(sb)
    with httpx.Client(base_url=body["instance_url"], timeout=10, headers={
            "Authorization": f"Bearer {body['access_token']}"}) as client:
        yield client


def test_refresh_token_response_is_salesforces(sb: Sandbox) -> None:
    body = token(sb)
    jsonschema.validate(body, TOKEN)
    assert body["instance_url"] == sb.url and "refresh_token" not in body
    expected = base64.b64encode(hmac.new(sb.credentials["client_secret"].encode(),
                                         (body["id"] + body["issued_at"]).encode(),
                                         hashlib.sha256).digest()).decode()
    assert body["signature"] == expected
    bad = httpx.post(f"{sb.url}/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": "nope",
        "client_id": sb.credentials["client_id"],
        "client_secret": sb.credentials["client_secret"]})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_query_pages_and_limit_info(api: httpx.Client, sb: Sandbox) -> None:
    first = api.get(f"{V}/query", params={"q": "SELECT Id, Name, Account.Name FROM Contact"})
    assert first.status_code == 200
    assert re.fullmatch(r"api-usage=\d+/100000", first.headers["sforce-limit-info"])
    page = first.json()
    jsonschema.validate(page, QUERY)
    assert page["done"] is False and len(page["records"]) == 2000
    assert page["nextRecordsUrl"].endswith("-2000")
    record = page["records"][0]
    assert record["attributes"]["url"] == f"{V}/sobjects/Contact/{record['Id']}"
    assert set(record) == {"attributes", "Id", "Name", "Account"}
    assert record["Account"] is None or set(record["Account"]) == {"attributes", "Name"}
    rest = api.get(page["nextRecordsUrl"]).json()
    jsonschema.validate(rest, QUERY)
    assert rest["done"] is True and "nextRecordsUrl" not in rest
    assert len(page["records"]) + len(rest["records"]) == page["totalSize"]
    small = api.get(f"{V}/query", params={"q": "SELECT Id FROM Contact"},
                    headers={"Sforce-Query-Options": "batchSize=300"}).json()
    assert len(small["records"]) == 300 and small["nextRecordsUrl"].endswith("-300")
    nxt = api.get(small["nextRecordsUrl"]).json()
    assert nxt["nextRecordsUrl"].endswith("-600") and len(nxt["records"]) == 300
    count = api.get(f"{V}/query", params={"q": "SELECT COUNT() FROM Contact"}).json()
    assert count == {"totalSize": page["totalSize"], "done": True, "records": []}


def test_soql_semantics(api: httpx.Client, sb: Sandbox) -> None:
    def ids(soql: str) -> list[str]:
        answer = api.get(f"{V}/query", params={"q": soql})
        out = []
        while True:
            assert answer.status_code == 200, answer.text
            out += [r["Id"] for r in answer.json()["records"]]
            if answer.json()["done"]:
                return out
            answer = api.get(answer.json()["nextRecordsUrl"])

    accounts = sb.emulator.records("Account")
    banking = {r["Id"] for r in accounts if r["Industry"] == "Banking"}
    assert set(ids("select id from account where industry = 'BANKING'")) == banking
    assert set(ids("SELECT Id FROM Account WHERE Industry != 'Banking'")) == \
        {r["Id"] for r in accounts} - banking  # != keeps the nulls, as SOQL does
    both = {r["Id"] for r in accounts if r["Industry"] in ("Banking", "Energy")}
    assert set(ids("SELECT Id FROM Account WHERE Industry IN ('Banking', 'Energy')")) == both
    assert set(ids("SELECT Id FROM Account WHERE NOT (Industry IN ('Banking', 'Energy')) "
                   "AND Industry != null")) == {r["Id"] for r in accounts if r["Industry"]
                                                and r["Id"] not in both}
    ordered = ids("SELECT Id FROM Account ORDER BY AnnualRevenue DESC NULLS LAST, Id LIMIT 50 "
                  "OFFSET 10")
    by_revenue = sorted((r for r in accounts if r["AnnualRevenue"] is not None),
                        key=lambda r: (-r["AnnualRevenue"], r["Id"].lower()))
    assert ordered == [r["Id"] for r in by_revenue][10:60]
    opp = sb.emulator.records("Opportunity")
    today = sb.today  # SOQL date literals follow the emulated world's clock
    recent = {r["Id"] for r in opp
              if today - dt.timedelta(days=30) <= r["CreatedDate"].date() <= today}
    assert set(ids("SELECT Id FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:30")) == recent
    linked = {r["Id"] for r in opp if r["AccountId"] and any(
        a["Id"] == r["AccountId"] and a["Name"].startswith("Blue")
        for a in sb.emulator.records("Account", deleted=True))}
    assert set(ids("SELECT Id FROM Opportunity WHERE Account.Name LIKE 'blue%'")) == linked
    assert ids("SELECT Id FROM Account WHERE Name LIKE '100\\%%'") == []


@pytest.mark.parametrize(("soql", "status", "code", "words"), [
    ("SELECT Id FORM Account", 400, "MALFORMED_QUERY", "unexpected token: FORM"),
    ("SELECT Nope FROM Account", 400, "INVALID_FIELD", "No such column 'Nope'"),
    ("SELECT Id FROM Account WHERE AnnualRevenue > '5'", 400, "INVALID_FIELD",
     "must be of type currency and should not be enclosed in quotes"),
    ("SELECT Id FROM Account WHERE Name = 5", 400, "INVALID_FIELD",
     "must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM Widget", 400, "INVALID_TYPE", "sObject type 'Widget' is not supported"),
    ("SELECT Id FROM Account OFFSET 2001", 400, "NUMBER_OUTSIDE_VALID_RANGE", "2000"),
])
def test_query_errors(api: httpx.Client, soql: str, status: int, code: str, words: str) -> None:
    answer = api.get(f"{V}/query", params={"q": soql})
    assert answer.status_code == status
    jsonschema.validate(answer.json(), ERRORS)
    assert answer.json()[0]["errorCode"] == code and words in answer.json()[0]["message"]


def test_sessions_and_versions(sb: Sandbox, api: httpx.Client) -> None:
    answer = httpx.get(f"{sb.url}{V}/limits", headers={"Authorization": "Bearer expired"})
    assert answer.status_code == 401
    assert answer.json() == [{"message": "Session expired or invalid",
                              "errorCode": "INVALID_SESSION_ID"}]
    assert api.get("/services/data/v99.0/limits").json()[0]["errorCode"] == "NOT_FOUND"
    versions = httpx.get(f"{sb.url}/services/data").json()
    assert {"label", "url", "version"} <= set(versions[0])


def test_describe_and_limits(api: httpx.Client) -> None:
    body = api.get(f"{V}/sobjects/Opportunity/describe").json()
    assert body["name"] == "Opportunity" and body["keyPrefix"] == "006"
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["Amount"]["type"] == "currency" and fields["CloseDate"]["type"] == "date"
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["Order_Number__c"]["externalId"] is True
    assert {"name", "type", "label", "nillable", "soapType", "picklistValues", "length",
            "createable", "updateable"} <= set(fields["StageName"])
    limits = api.get(f"{V}/limits").json()
    for name in ("DailyApiRequests", "DailyBulkV2QueryJobs"):
        jsonschema.validate(limits[name], LIMIT)


def test_writes_answer_as_documented(api: httpx.Client) -> None:
    made = api.post(f"{V}/sobjects/Account", json={"Name": "Wire Co"})
    assert made.status_code == 201 and made.json()["success"] is True
    jsonschema.validate(made.json(), SAVE_RESULT)
    record_id = made.json()["id"]
    changed = api.patch(f"{V}/sobjects/Account/{record_id}", json={"Rating": "Hot"})
    assert changed.status_code == 204 and changed.content == b""
    bad = api.patch(f"{V}/sobjects/Account/{record_id}", json={"Nope__c": 1})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    typed = api.post(f"{V}/sobjects/Account", json={"Name": "X", "AnnualRevenue": "lots"})
    assert typed.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    upsert = api.patch(f"{V}/sobjects/Account/External_Id__c/W-1", json={"Name": "Up"})
    assert upsert.status_code == 201 and upsert.json()["created"] is True
    again = api.patch(f"{V}/sobjects/Account/External_Id__c/W-1", json={"Name": "Up 2"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert api.delete(f"{V}/sobjects/Account/{record_id}").status_code == 204
    gone = api.get(f"{V}/sobjects/Account/{record_id}")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_collections_answer_per_record(api: httpx.Client) -> None:
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": "One"},
        {"attributes": {"type": "Contact"}, "FirstName": "NoLastName"}]}
    answer = api.post(f"{V}/composite/sobjects", json=body)
    assert answer.status_code == 200
    results = answer.json()
    for item in results:
        jsonschema.validate(item, SAVE_RESULT)
    assert results[0]["success"] and not results[1]["success"]
    assert results[1]["errors"][0]["fields"] == ["LastName"]
    too_many = {"records": [{"attributes": {"type": "Account"}, "Name": "x"}] * 201}
    refused = api.post(f"{V}/composite/sobjects", json=too_many)
    assert refused.status_code == 400
    jsonschema.validate(refused.json(), ERRORS)
    removed = api.delete(f"{V}/composite/sobjects",
                         params={"ids": results[0]["id"], "allOrNone": "true"})
    assert removed.json() == [{"id": results[0]["id"], "success": True, "errors": []}]


def test_bulk_query_job_lifecycle(api: httpx.Client, sb: Sandbox) -> None:
    created = api.post(f"{V}/jobs/query", json={
        "operation": "query", "query": "SELECT Id, Name, Amount, IsWon, Account.Name "
                                       "FROM Opportunity"})
    assert created.status_code == 200
    job = created.json()
    jsonschema.validate(job, JOB)
    assert job["state"] == "UploadComplete" and job["object"] == "Opportunity"
    early = api.get(f"{V}/jobs/query/{job['id']}/results")
    assert early.status_code == 400
    states = [api.get(f"{V}/jobs/query/{job['id']}").json()["state"] for _ in range(2)]
    assert states == ["InProgress", "JobComplete"]
    rows, locator, sets = [], None, 0
    while True:
        params = {"maxRecords": 1000, **({"locator": locator} if locator else {})}
        answer = api.get(f"{V}/jobs/query/{job['id']}/results", params=params)
        assert answer.headers["content-type"] == "text/csv"
        chunk = list(csv.DictReader(io.StringIO(answer.text)))
        assert int(answer.headers["sforce-numberofrecords"]) == len(chunk) <= 1000
        assert answer.text.startswith('"Id","Name","Amount","IsWon","Account.Name"\n')
        rows += chunk
        sets += 1
        locator = answer.headers["sforce-locator"]
        if locator == "null":
            break
    live = sb.emulator.records("Opportunity")
    assert sets == -(-len(live) // 1000) and [r["Id"] for r in rows] == [r["Id"] for r in live]
    assert {r["IsWon"] for r in rows} <= {"true", "false"}
    refused = api.post(f"{V}/jobs/query", json={"operation": "query",
                                                "query": "SELECT COUNT() FROM Account"})
    assert refused.status_code == 400
    jsonschema.validate(refused.json(), ERRORS)
