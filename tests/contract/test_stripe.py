"""The Stripe connector against its emulator over HTTP, with faults injected on the wire."""

from __future__ import annotations

import pytest

import integkit as ik

RECORDS = 1_000


@pytest.fixture(scope="module")
def sb():
    with ik.sandbox("stripe", records=RECORDS) as sandbox:
        yield sandbox


@pytest.fixture
def stripe(sb, sleeps):
    sb.faults.clear()
    conn = sb.connect(sleep=sleeps, retry={"initialDelay": 0.01, "maxDelay": 0.05})
    yield conn
    sb.faults.clear()
    conn.close()


def all_ids(sb, resource: str = "charges") -> list[str]:
    conn = sb.connect()
    return [r["id"] for r in conn.list(resource, prefetch=False)]


def test_lists_every_resource_to_the_last_record(stripe) -> None:
    for resource in ("charges", "customers", "invoices", "payment_intents", "subscriptions",
                     "refunds", "balance_transactions", "events"):
        result = stripe.list(resource)
        ids = [r["id"] for r in result]
        assert len(ids) == len(set(ids)) >= 1, resource
        assert result.complete and result.stats.pages == -(-len(ids) // 100)


def test_charges_frame_is_flat_and_typed(stripe) -> None:
    df = stripe.list("charges").to_frame()
    assert len(df) == RECORDS and df["id"].is_unique
    assert str(df["created"].dtype) == "datetime64[ms, UTC]"
    assert "payment_method_details.card.brand" in df.columns
    assert "billing_details.address.city" in df.columns
    assert df["created"].is_monotonic_decreasing  # Stripe lists newest first


def test_created_range_expand_and_page_size(stripe) -> None:
    every = stripe.list("charges").to_frame()
    lo, hi = every["created"].quantile(0.25), every["created"].quantile(0.75)
    result = stripe.list("charges", created={"gte": lo.isoformat(), "lt": hi.to_pydatetime()},
                         expand=["data.customer"], limit=50)
    df = result.to_frame()
    expected = every[(every["created"] >= lo) & (every["created"] < hi)]
    assert sorted(df["id"]) == sorted(expected["id"])
    assert result.stats.pages == -(-len(expected) // 50)
    with_customer = df[df["customer.id"].notna()]
    assert len(with_customer) and with_customer["customer.object"].eq("customer").all()


def test_retrieve_and_not_found(stripe) -> None:
    first = next(iter(stripe.list("charges")))
    assert stripe.retrieve("charges", first["id"])["id"] == first["id"]
    with pytest.raises(ik.NotFoundError) as info:
        stripe.retrieve("charges", "ch_doesnotexist")
    err = info.value
    assert err.status == 404 and err.request_id and err.request_id.startswith("req_")
    assert "No such charge" in str(err) and err.code == "resource_missing"


def test_bad_key_is_an_authentication_error(sb) -> None:
    conn = ik.connect("stripe", api_key="sk_test_wrongwrongwrong", base_url=sb.url)
    with pytest.raises(ik.AuthenticationError, match="Invalid API Key provided") as info:
        conn.list("charges").head(1)
    assert "sk_test_wrongwrongwrong" not in str(info.value)


def test_invalid_parameter_is_permanent_and_not_retried(stripe, sleeps, sb) -> None:
    before = sb.faults.hits
    with pytest.raises(ik.InvalidRequestError, match="unknown parameter") as info:
        stripe.list("charges", colour="blue").head(1)
    assert sb.faults.hits - before == 1 and sleeps == []
    assert not info.value.transient and info.value.status == 400


def test_5xx_bursts_and_resets_mid_pagination_keep_every_record_once(stripe, sb) -> None:
    expected = all_ids(sb)
    sb.faults.fail(503, times=3, after=2, path="/v1/charges*")
    sb.faults.fail(500, times=2, after=6, path="/v1/charges*")
    sb.faults.reset(times=2, after=4, path="/v1/charges*")
    sb.faults.truncate(times=2, after=8, path="/v1/charges*")
    result = stripe.list("charges")
    assert [r["id"] for r in result] == expected
    assert result.stats.retries == 9 and result.stats.pages == RECORDS // 100


def test_retries_exhausted_then_resume_loses_nothing(stripe, sb) -> None:
    expected = all_ids(sb)
    sb.faults.reset(times=6, after=3, path="/v1/charges*")  # more than maxAttempts=5
    result = stripe.list("charges")
    with pytest.raises(ik.NetworkError):
        result.to_frame()
    assert len(result) == 300
    assert list(result.to_frame()["id"]) == expected


def test_429_is_retried(stripe, sb, sleeps) -> None:
    sb.faults.fail(429, times=2, path="/v1/customers*")
    assert len(stripe.list("customers").head(3)) == 3
    assert len(sleeps) == 2


def test_breaker_opens_and_recovers(sb, sleeps) -> None:
    now = [0.0]
    breaker = ik._http.CircuitBreaker(failure_threshold=4, reset_timeout=5, clock=lambda: now[0])
    conn = sb.connect(sleep=sleeps, breaker=breaker, retry={"maxAttempts": 2,
                                                            "initialDelay": 0.001})
    sb.faults.fail(503, times=4, path="/v1/invoices*")
    for _ in range(2):
        with pytest.raises(ik.ServerError):
            conn.list("invoices").head(1)
    hits = sb.faults.hits
    with pytest.raises(ik.CircuitOpenError):
        conn.list("invoices").head(1)
    assert sb.faults.hits == hits
    now[0] = 6
    assert len(conn.list("invoices").head(2)) == 2


def test_retried_create_payment_intent_creates_one(stripe, sb) -> None:
    before = len(all_ids(sb, "payment_intents"))
    # The server applies the request, then the answer is lost; integkit retries with the same
    # Idempotency-Key and Stripe replays the first answer instead of creating a second one.
    sb.faults.reset_after_processing(times=1, path="/v1/payment_intents", method="POST")
    sb.faults.fail(503, times=1, after=1, path="/v1/payment_intents", method="POST")
    intent = stripe.create_payment_intent(amount=2000, currency="usd", metadata={"order": "42"})
    assert intent["object"] == "payment_intent" and intent["amount"] == 2000
    assert intent["metadata"] == {"order": "42"}
    after = all_ids(sb, "payment_intents")
    assert len(after) == before + 1 and after[0] == intent["id"]
    assert stripe.retrieve("payment_intents", intent["id"])["amount"] == 2000


def test_create_customer_and_refund(stripe) -> None:
    customer = stripe.create_customer(email="ada@example.com", name="Ada")
    assert customer["id"].startswith("cus_") and customer["email"] == "ada@example.com"
    charge = next(c for c in stripe.list("charges") if c["paid"] and not c["refunded"]
                  and c["amount_refunded"] == 0)
    refund = stripe.create_refund(charge["id"], amount=1)
    assert refund["charge"] == charge["id"] and refund["amount"] == 1
    with pytest.raises(ik.InvalidRequestError):
        stripe.create_refund(charge["id"], amount=charge["amount"] * 10)
    with pytest.raises(ik.ConfigError, match="needs a charge or a payment_intent"):
        stripe.create_refund()


def test_same_idempotency_key_different_params_is_refused(stripe) -> None:
    stripe.create_customer(email="a@example.com", idempotency_key="fixed-key-1")
    with pytest.raises(ik.InvalidRequestError, match="(?i)idempotent"):
        stripe.create_customer(email="b@example.com", idempotency_key="fixed-key-1")


def test_declined_card_is_a_clear_error(stripe) -> None:
    with pytest.raises(ik.InvalidRequestError) as info:
        stripe.create_payment_intent(amount=500, currency="usd",
                                     payment_method="pm_card_chargeDeclined", confirm=True)
    assert info.value.status == 402


def test_call_events_for_each_attempt(stripe, sb) -> None:
    events: list[ik.CallEvent] = []
    ik.on("call", events.append)
    try:
        sb.faults.fail(502, times=1, path="/v1/refunds*")
        stripe.list("refunds").head(1)
    finally:
        ik.off("call", events.append)
    assert [(e.service, e.endpoint, e.method, e.status, e.attempt) for e in events] == [
        ("stripe", "refunds.list", "GET", 502, 1), ("stripe", "refunds.list", "GET", 200, 2)]
    assert all(e.duration > 0 and e.request_id for e in events)


def test_sunset_header_warns(stripe, sb) -> None:
    sb.faults.headers({"Sunset": "Sat, 01 May 2027 00:00:00 GMT"}, path="/v1/events*")
    with pytest.warns(ik.ApiDeprecationWarning, match="events.list.*01 May 2027"):
        stripe.list("events").head(1)
