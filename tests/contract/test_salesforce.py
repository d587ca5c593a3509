"""The Salesforce connector against its emulator over HTTP on 127.0.0.1: OAuth to the instance,
SOQL paging and Bulk API 2.0, typed frames, writes, limits and errors."""

from __future__ import annotations

import datetime as dt

import pytest

import integkit as ik
from integkit.sandbox import SandboxServer

RECORDS = 3_000


@pytest.fixture(scope="module")
def sb():
    with ik.sandbox("salesforce", records=RECORDS, seed=3) as sandbox:
        yield sandbox


@pytest.fixture
def sf(sb, sleeps):
    sb.faults.clear()
    conn = sb.connect(sleep=sleeps, retry={"initialDelay": 0.01, "maxDelay": 0.05})
    yield conn
    sb.faults.clear()
    conn.close()


def live_ids(sb, obj: str) -> set[str]:
    return {r["Id"] for r in sb.emulator.records(obj)}


def test_query_follows_next_records_url_to_the_last_record(sf, sb) -> None:
    result = sf.query("SELECT Id, Name FROM Opportunity", bulk=False)
    ids = [r["Id"] for r in result]
    assert len(ids) == len(set(ids)) and set(ids) == live_ids(sb, "Opportunity")
    assert result.stats.pages == -(-len(ids) // 2000) == 2
    smaller = sf.query("SELECT Id FROM Opportunity", bulk=False, batch_size=500)
    assert [r["Id"] for r in smaller] == ids and smaller.stats.pages == -(-len(ids) // 500)
    assert all("attributes" not in r for r in result)


def test_builder_filters_match_the_org(sf, sb) -> None:
    rows = sb.emulator.records("Opportunity")
    since = sb.today - dt.timedelta(days=400)
    stages = ["Closed Won", "Negotiation/Review"]
    df = sf.query(object="Opportunity", fields=["Id", "Amount", "StageName", "CloseDate"],
                  where={"Amount": {"gte": 5000, "lte": 90000}, "StageName": stages,
                         "CloseDate": {"gte": since}}, order_by="-Amount").to_frame()
    expected = [r for r in rows if r["Amount"] is not None and 5000 <= r["Amount"] <= 90000
                and r["StageName"] in stages and r["CloseDate"] >= since]
    assert sorted(df["Id"]) == sorted(r["Id"] for r in expected) and len(df) > 10
    assert df["Amount"].is_monotonic_decreasing
    no_amount = sf.query(object="Opportunity", fields=["Id"], where={"Amount": None})
    assert {r["Id"] for r in no_amount} == {r["Id"] for r in rows if r["Amount"] is None}
    priced = sf.query(object="Opportunity", fields=["Id"], where={"Amount": {"null": False}},
                      limit=7)
    assert len(list(priced)) == 7
    named = sf.query(object="Account", fields=["Id", "Name"], where={"Name": {"like": "Blue%"}})
    names = [r["Name"] for r in named]
    assert names and all(n.lower().startswith("blue") for n in names)


def test_values_are_quoted_so_they_cannot_change_the_query(sf, sb) -> None:
    tricky = "O'Brien & Sons \\ Ltd. ' OR Name != '"
    created = sf.create("Account", Name=tricky)
    found = list(sf.query(object="Account", fields=["Id", "Name"], where={"Name": tricky}))
    assert [r["Id"] for r in found] == [created["id"]] and found[0]["Name"] == tricky
    none = sf.query(object="Account", fields=["Id"], where={"Name": "x' OR Name != 'y"})
    assert list(none) == []
    with pytest.raises(ik.ConfigError):
        sf.query(object="Account", fields=["Id FROM Contact --"])


def test_query_all_sees_the_recycle_bin(sf, sb) -> None:
    deleted = {r["Id"] for r in sb.emulator.records("Opportunity", deleted=True)
               if r["IsDeleted"]}
    assert deleted
    every = {r["Id"] for r in sf.query_all("SELECT Id FROM Opportunity", bulk=False)}
    assert deleted <= every and every == live_ids(sb, "Opportunity") | deleted
    flagged = sf.query_all(object="Opportunity", fields=["Id"], where={"IsDeleted": True})
    assert {r["Id"] for r in flagged} == deleted


def test_frames_are_typed_by_describe_rest_and_bulk_alike(sf) -> None:
    soql = ("SELECT Id, Name, Amount, Probability, CloseDate, IsWon, CreatedDate, Account.Name, "
            "AccountId FROM Opportunity ORDER BY Id LIMIT 2500")
    rest = sf.query(soql, bulk=False).to_frame()
    bulk = sf.query(soql, bulk=True).to_frame()
    expected = {"Amount": "float64", "Probability": "float64", "IsWon": "bool",
                "CloseDate": "datetime64[ms]", "CreatedDate": "datetime64[ms, UTC]"}
    for frame in (rest, bulk):
        assert {c: str(frame[c].dtype) for c in expected} == expected
        assert frame["Account.Name"].notna().all() and "attributes.type" not in frame
    assert rest.equals(bulk)
    head = sf.query(soql, bulk=False).head(3)
    assert str(head["CloseDate"].dtype) == "datetime64[ms]" and len(head) == 3


def test_bulk_is_chosen_by_count_and_can_be_forced(sb, sleeps) -> None:
    sf = sb.connect(sleep=sleeps, bulk_threshold=2_000, bulk_page_size=1_000)
    jobs = len(sb.emulator.jobs)
    big = sf.query("SELECT Id, LastName, Birthdate FROM Contact")
    ids = [r["Id"] for r in big]
    assert len(sb.emulator.jobs) == jobs + 1 and sleeps  # polled until JobComplete
    assert len(ids) == len(set(ids)) and set(ids) == live_ids(sb, "Contact")
    assert big.stats.pages == -(-len(ids) // 1000)
    small = sf.query("SELECT Id FROM Contact LIMIT 1500")
    assert len(list(small)) == 1500 and len(sb.emulator.jobs) == jobs + 1
    forced = sf.query("SELECT Id FROM Contact LIMIT 10", bulk=True)
    assert len(list(forced)) == 10 and len(sb.emulator.jobs) == jobs + 2
    rest = sf.query("SELECT Id FROM Contact", bulk=False)
    assert len(list(rest)) == len(ids) and len(sb.emulator.jobs) == jobs + 2
    with pytest.raises(ik.ConfigError, match="Bulk API 2.0"):
        sf.query("SELECT Id FROM Contact LIMIT 5 OFFSET 5", bulk=True)


def test_count_drives_the_estimate(sf, sb) -> None:
    soql = "SELECT Id FROM Account WHERE Industry = 'Banking'"
    expected = sum(1 for r in sb.emulator.records("Account") if r["Industry"] == "Banking")
    assert sf.count(soql) == expected
    estimate = sf.query(soql, bulk=False).estimate()
    assert estimate.records == expected and estimate.calls == max(1, -(-expected // 2000))
    assert sf.count("SELECT Id FROM Account LIMIT 3") == 3


def test_api_calls_go_to_the_instance_url_of_the_token(sb) -> None:
    with SandboxServer(sb.emulator) as instance:
        sb.emulator.instance_url = instance.url
        try:
            sf = ik.connect("salesforce", base_url=sb.url, token_store=ik.auth.TokenStore(
                "memory"), rate_limit=False, **sb.credentials)
            hosts = sb.emulator.hosts.copy()
            assert len(list(sf.query("SELECT Id FROM Account LIMIT 5"))) == 5
            assert sf.instance_url == instance.url
            used = sb.emulator.hosts - hosts
            assert set(used) == {instance.url.removeprefix("http://")}
        finally:
            sb.emulator.instance_url = None


def test_an_expired_session_is_refreshed_once(sf, sb) -> None:
    list(sf.query("SELECT Id FROM Account LIMIT 1"))
    before = sb.emulator.oauth.token_calls["refresh_token"]
    assert sb.emulator.expire_sessions() >= 1
    assert len(list(sf.query("SELECT Id FROM Account LIMIT 2"))) == 2
    assert sb.emulator.oauth.token_calls["refresh_token"] == before + 1
    assert sf.auth.stats["retried_401"] == 1


def test_a_wrong_secret_is_an_authentication_error(sb) -> None:
    creds = {**sb.credentials, "client_secret": "not-the-secret"}
    sf = ik.connect("salesforce", base_url=sb.url, token_store=ik.auth.TokenStore("memory"),
                    **creds)
    with pytest.raises(ik.AuthenticationError) as info:
        sf.query("SELECT Id FROM Account").head(1)
    assert "invalid_client" in str(info.value) and "not-the-secret" not in str(info.value)


def test_an_existing_session_can_be_used_directly(sb) -> None:
    session = sb.emulator.oauth.issue(sb.emulator.client_id, ["api"], refresh=False)
    sf = ik.connect("salesforce", access_token=session["access_token"],
                    instance_url=sb.url, rate_limit=False)
    assert len(list(sf.query("SELECT Id FROM Contact LIMIT 3"))) == 3


def test_a_malformed_query_is_permanent_and_not_retried(sf, sb) -> None:
    calls = len(sb.emulator.request_log)
    with pytest.raises(ik.InvalidRequestError) as info:
        list(sf.query("SELECT Id FORM Account"))
    assert info.value.code == "MALFORMED_QUERY" and info.value.status == 400
    assert "unexpected token" in str(info.value)
    assert len(sb.emulator.request_log) - calls == 1
    with pytest.raises(ik.InvalidRequestError) as info:
        list(sf.query("SELECT Id FROM Account WHERE AnnualRevenue > '10'"))
    assert info.value.code == "INVALID_FIELD" and "AnnualRevenue" in str(info.value)
    with pytest.raises(ik.InvalidRequestError) as info:
        list(sf.query("SELECT Id FROM Invoice__c"))
    assert info.value.code == "INVALID_TYPE"


def test_transient_failures_are_retried(sf, sb, sleeps) -> None:
    sb.faults.fail(503, times=2, path="/services/data/*")
    result = sf.query("SELECT Id FROM Account", bulk=False)
    assert len(list(result)) == len(live_ids(sb, "Account"))
    assert result.stats.retries == 2 and len(sleeps) >= 2


def test_record_writes_and_not_found(sf, sb) -> None:
    made = sf.create("Contact", {"LastName": "Ng", "FirstName": "Ada",
                                 "Birthdate": dt.date(1990, 5, 17)})
    assert made["success"] and made["id"].startswith("003") and len(made["id"]) == 18
    got = sf.retrieve("Contact", made["id"], fields=["Name", "Birthdate"])
    assert got == {"Name": "Ada Ng", "Birthdate": "1990-05-17"}
    sf.update("Contact", made["id"], Title="Head of Data")
    assert sf.retrieve("Contact", made["id"])["Title"] == "Head of Data"
    sf.delete("Contact", made["id"])
    with pytest.raises(ik.NotFoundError) as info:
        sf.retrieve("Contact", made["id"])
    assert info.value.code == "ENTITY_IS_DELETED"
    with pytest.raises(ik.NotFoundError) as info:
        sf.retrieve("Contact", "003000000000000AAA")
    assert info.value.code == "NOT_FOUND" and info.value.status == 404
    with pytest.raises(ik.InvalidRequestError) as info:
        sf.create("Opportunity", Name="No stage")
    assert info.value.code == "REQUIRED_FIELD_MISSING"
    assert "StageName" in str(info.value) and "CloseDate" in str(info.value)


def test_upsert_creates_then_updates(sf, sb) -> None:
    first = sf.upsert("Account", external_id="External_Id__c", external_value="EXT-9 A",
                      data={"Name": "Upserted", "AnnualRevenue": 1250000})
    assert first["created"] is True and first["success"]
    second = sf.upsert("Account", external_id="External_Id__c", external_value="EXT-9 A",
                       data={"Name": "Upserted again"})
    assert second == {"id": first["id"], "success": True, "errors": [], "created": False}
    assert sf.retrieve("Account", first["id"])["Name"] == "Upserted again"
    with pytest.raises(ik.NotFoundError):
        sf.upsert("Account", external_id="Name", external_value="x", data={})


def test_collections_write_many_records_200_per_request(sf, sb) -> None:
    posts = sum(1 for m, p, *_ in sb.emulator.request_log if p.endswith("/composite/sobjects"))
    rows = [{"LastName": f"Bulk{i}", "Email": f"bulk{i}@example.com"} for i in range(450)]
    results = sf.create_many("Contact", rows)
    assert len(results) == 450 and all(r["success"] for r in results)
    after = sum(1 for m, p, *_ in sb.emulator.request_log if p.endswith("/composite/sobjects"))
    assert after - posts == 3
    ids = [r["id"] for r in results]
    updated = sf.update_many("Contact", [{"Id": i, "Title": "Buyer"} for i in ids[:5]])
    assert all(r["success"] for r in updated)
    assert sf.retrieve("Contact", ids[0])["Title"] == "Buyer"
    deleted = sf.delete_many(ids[:10])
    assert [r["id"] for r in deleted] == ids[:10] and all(r["success"] for r in deleted)
    partial = sf.create_many("Contact", [{"LastName": "Ok"}, {"FirstName": "NoLast"}])
    assert partial[0]["success"] and not partial[1]["success"]
    assert partial[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


def test_all_or_none_rolls_everything_back(sf, sb) -> None:
    before = len(sb.emulator.records("Contact", deleted=True))
    results = sf.create_many("Contact", [{"LastName": "A"}, {"FirstName": "B"}],
                             all_or_none=True)
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert len(sb.emulator.records("Contact", deleted=True)) == before
    with pytest.raises(ik.ConfigError, match="all_or_none"):
        sf.create_many("Contact", [{"LastName": "x"}] * 201, all_or_none=True)


def test_the_org_budget_is_never_blown(sleeps) -> None:
    with ik.sandbox("salesforce", records=300) as sb:
        sb.emulator.daily_limit, sb.emulator.api_usage = 40, 25
        sf = sb.connect(sleep=sleeps)
        calls = 0
        with pytest.raises(ik.QuotaExceededError) as info:
            for _ in range(30):
                list(sf.query("SELECT Id FROM Account LIMIT 1", bulk=False))
                calls += 1
        assert sb.emulator.limit_refusals == 0 and sb.emulator.api_usage == 40
        assert calls == 15 and info.value.status is None  # refused before sending
        assert ik.quota(sf)["budgets"]["daily"]["limit"] == 40


def test_a_spent_org_budget_is_a_quota_error(sleeps) -> None:
    with ik.sandbox("salesforce", records=50) as sb:
        sb.emulator.daily_limit = sb.emulator.api_usage = 100
        sf = sb.connect(sleep=sleeps)
        with pytest.raises(ik.QuotaExceededError) as info:
            sf.query("SELECT Id FROM Account").head(1)
        assert info.value.code == "REQUEST_LIMIT_EXCEEDED" and info.value.status == 403
        assert "TotalRequests Limit exceeded" in str(info.value) and not sleeps


def test_rate_limits_are_honoured_without_refusals(sleeps) -> None:
    with ik.sandbox("salesforce", records=2_000, rate_limit=(40, 5)) as sb:
        sf = sb.connect()
        ids = [r["Id"] for r in sf.query("SELECT Id FROM Account", bulk=False, batch_size=200)]
        ids += [r["id"] for r in sf.create_many("Contact", [{"LastName": "R"}] * 600)]
        assert len(ids) == len(set(ids)) == len(sb.emulator.records("Account")) + 600
        assert sb.emulator.rate_limited == 0 and sb.emulator.limit_refusals == 0


def test_limits_report_the_org_budget(sf, sb) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == sb.emulator.daily_limit
    budget = ik.quota(sf)["budgets"]["daily"]
    assert budget["limit"] == sb.emulator.daily_limit
    assert budget["used"] >= sb.emulator.daily_limit - limits["DailyApiRequests"]["Remaining"]
