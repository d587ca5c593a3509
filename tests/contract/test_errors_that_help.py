"""Errors that help, with the shipped connectors against their emulators (issue 10, item 4):
a slip of a listing option is refused before any call, naming the option and how to send a
parameter of that name; Salesforce's ``list`` names a mistyped keyword; ``ik.quota`` reports
a connector's limits after its one-line connection is gone, with no credential at hand."""

from __future__ import annotations

import pytest

import integkit as ik

from .._live import gone


@pytest.fixture(scope="module")
def sb():
    with ik.sandbox("stripe", records=30) as sandbox:
        yield sandbox




def test_a_slip_of_a_listing_option_never_reaches_the_service(sb) -> None:
    stripe = sb.connect(rate_limit=False)
    calls: list[ik.CallEvent] = []
    ik.on("call", calls.append)
    try:
        with pytest.raises(ik.ConfigError) as info:
            stripe.list("charges", max_record=5)
        assert calls == []
    finally:
        ik.off("call", calls.append)
    message = str(info.value)
    assert message.startswith("stripe.list('charges'): max_record= looks like a slip of "
                              "integkit's max_records=")
    assert "list('/v1/charges?max_record=...')" in message
    result = stripe.list("charges", max_records=5, limit=3)
    assert len(result.to_frame()) == 5  # the option meant, and the service's own parameters
    assert result.stats.pages == 2


def test_quota_of_a_connector_whose_connection_is_gone(sb, monkeypatch) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    account = "quota-after"
    frame = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url, account=account,
                       quotas={"daily": 1000}).list("charges").to_frame()
    assert gone(lambda c: c.account == account)
    status = ik.quota("stripe")  # no STRIPE_SECRET_KEY: the default connection cannot be made
    assert status["budgets"]["daily"]["used"] >= 1 and len(frame) == 30


def test_a_mistyped_salesforce_list_keyword_is_named() -> None:
    with ik.sandbox("salesforce", records=5) as sf_sandbox:
        sf = sf_sandbox.connect()
        with pytest.raises(ik.ConfigError, match="salesforce.list\\('Account'\\) takes no "
                                                 "keyword 'feilds'; did you mean fields="):
            sf.list("Account", feilds=["Id"])
        assert len(sf.list("Account", fields=["Id"]).to_frame()) > 0
