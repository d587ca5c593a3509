"""The error hierarchy: what each error carries and says."""

from __future__ import annotations

import pickle

import pytest

import integkit as ik


def test_hierarchy_and_builtin_mixins() -> None:
    for cls in (ik.AuthenticationError, ik.PermissionDeniedError, ik.NotFoundError,
                ik.InvalidRequestError, ik.RateLimitError, ik.QuotaExceededError,
                ik.ServerError, ik.NetworkError, ik.CircuitOpenError):
        assert issubclass(cls, ik.ApiError) and issubclass(cls, ik.IntegkitError)
    assert issubclass(ik.ConfigError, ValueError) and issubclass(ik.SignatureError, ValueError)
    assert ik.ServerError.transient and ik.NetworkError.transient and ik.RateLimitError.transient
    assert not ik.InvalidRequestError.transient and not ik.AuthenticationError.transient


def test_message_leads_with_request_id_and_says_what_to_do() -> None:
    err = ik.RateLimitError("rate limit hit", retry_after=12, service="stripe",
                            endpoint="charges.list", status=429, request_id="req_1")
    assert str(err) == "[req_1] 429 stripe charges.list: rate limit hit A retry can succeed in 12s."
    assert err.retry_after == 12
    auth = ik.AuthenticationError("Invalid API Key", service="stripe", status=401)
    assert "Check the API key" in str(auth)


def test_errors_survive_pickling() -> None:
    err = ik.NotFoundError("No such charge", service="stripe", status=404, request_id="req_9",
                           body="x" * 2000)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ik.NotFoundError and copy.request_id == "req_9"
    assert str(copy) == str(err) and len(copy.body) == 500


def test_error_mapping_uses_the_services_message() -> None:
    import httpx

    from integkit.engine._responses import error_for_response

    response = httpx.Response(
        400, json={"error": {"message": "Invalid integer: abc", "param": "amount",
                             "code": "parameter_invalid_integer", "type": "invalid_request_error"}},
        headers={"Request-Id": "req_x"},
    )
    err = error_for_response(response, service="stripe", endpoint="create_payment_intent",
                             paths={"message": "error.message", "code": "error.code",
                                    "param": "error.param"}, request_id_header="Request-Id")
    assert isinstance(err, ik.InvalidRequestError)
    assert err.code == "parameter_invalid_integer" and err.request_id == "req_x"
    assert "Invalid integer: abc (parameter: amount)" in str(err)
    coded = error_for_response(
        httpx.Response(400, json={"error": {"code": "rate_limit", "message": "slow down"}}),
        service="s", endpoint="e", paths={"code": "error.code",
                                          "codes": {"rate_limit": "RateLimitError"}},
    )
    assert isinstance(coded, ik.RateLimitError)


@pytest.mark.parametrize(("status", "cls"), [(401, ik.AuthenticationError),
                                             (403, ik.PermissionDeniedError),
                                             (404, ik.NotFoundError), (422, ik.InvalidRequestError),
                                             (429, ik.RateLimitError), (502, ik.ServerError)])
def test_status_classes(status, cls) -> None:
    import httpx

    from integkit.engine._responses import error_for_response

    assert type(error_for_response(httpx.Response(status, text="nope"), service="s",
                                   endpoint="e")) is cls
