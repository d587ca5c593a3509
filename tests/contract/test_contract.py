"""The contract every shipped connector keeps, run against each one's emulator over HTTP on
127.0.0.1; what each service plugs in is in ``_adapters.py``.

- A listing reaches its last record, each once, in the pages its page size makes.
- A wrong credential is an AuthenticationError, sent once, whose message says what to do.
- A burst of server errors mid-listing is retried and loses nothing; a permanent error
  (nothing found, a request the service refuses) is its typed error after one attempt.
- A 429's Retry-After is waited out and the listing completes; one beyond what the
  connection waits for is a RateLimitError carrying it.
- A write is applied once however its answer is lost: integkit sends it again only when that
  cannot apply it twice (an idempotency key, a write that sets a value), and otherwise never.
- Every request these tests send satisfies the service's published API description, where
  one exists (../shared/specs; checked with openapi-core when each test ends).

Retry waits go to a recorded ``sleep`` (nothing is slept), so the suite takes seconds.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import integkit as ik
from integkit.sandbox import Sandbox, SandboxServer

from ..conftest import Sleeps
from ..wire._recorder import Recorder
from ._adapters import ADAPTERS, Adapter, Call, Write

RETRY = {"initialDelay": 0.01, "maxDelay": 0.05}
WRONG = "integkit-wrong-credential-0123456789"


@dataclass
class Contract:
    """One test's view of a connector: its adapter, its running emulator (every request
    recorded), and a fresh connection whose retry waits are recorded in ``sleeps``."""

    adapter: Adapter
    sb: Sandbox
    recorder: Recorder
    sleeps: Sleeps
    conn: Any

    def options(self, **extra: Any) -> dict[str, Any]:
        """ik.connect options for this emulator: no client-side limits or cache (the server's
        answers are the subject), recorded retry waits."""
        return {"base_url": self.sb.url, "rate_limit": False, "cache": False,
                "sleep": self.sleeps, "retry": RETRY, **self.sb.credentials, **extra}

    def attempts(self, path: str, method: str | None = None) -> int:
        """Requests the emulator received on ``path`` (a glob), by ``method`` if given."""
        with self.recorder.lock:
            return sum(1 for r in self.recorder.received if fnmatch.fnmatchcase(r.path, path)
                       and (method is None or r.method == method))

    def sent(self, call: Call | Write) -> int:
        return self.attempts(call.path, call.method)


@pytest.fixture(scope="module")
def running() -> Iterator[dict[str, tuple[Sandbox, Recorder]]]:
    """Each service's emulator, started on first use and kept for the module."""
    started: dict[str, tuple[Sandbox, Recorder]] = {}
    yield started
    for sb, _ in started.values():
        sb.stop()


@pytest.fixture
def contract(request: pytest.FixtureRequest, running: dict[str, tuple[Sandbox, Recorder]],
             sleeps: Sleeps) -> Iterator[Contract]:
    adapter = ADAPTERS[request.param]
    if adapter.service not in running:
        emulator = adapter.start()
        recorder = Recorder(emulator)
        running[adapter.service] = (Sandbox(adapter.service, emulator,
                                            SandboxServer(recorder).start()), recorder)
    sb, recorder = running[adapter.service]
    sb.faults.clear()
    with recorder.lock:
        recorder.received.clear()
    contract = Contract(adapter, sb, recorder, sleeps, None)
    contract.conn = ik.connect(adapter.service, **contract.options())
    yield contract
    # A Retry-After pauses every client of the key (shared state): none outlives its test.
    ik.quota(contract.conn, clear_pause=True)
    contract.conn.close()
    sb.faults.clear()
    spec = adapter.spec()
    if spec is not None:
        with recorder.lock:
            sent = list(recorder.received)
        problems = [p for r in sent for p in spec.problems(r.as_wire())]
        if problems:
            pytest.fail(f"{len(problems)} of the {len(sent)} requests sent do not satisfy "
                        f"{adapter.service}'s published API description:\n" +
                        "\n".join(problems[:10]))


def read(value: Any) -> Any:
    """What a call gave, read to its end (a Result is lazy until iterated)."""
    return list(value) if isinstance(value, ik.Result) else value


SERVICES = list(ADAPTERS)
each = pytest.mark.parametrize("contract", SERVICES, indirect=True)
WRITES = [pytest.param(a.service, w, id=f"{a.service}-{w.name}")
          for a in ADAPTERS.values() for w in a.writes]
each_write = pytest.mark.parametrize(("contract", "write"), WRITES, indirect=["contract"])


# -- reading ----------------------------------------------------------------------------------


@each
def test_a_listing_reaches_its_last_record_once(contract: Contract) -> None:
    a = contract.adapter
    result = a.listing.run(contract.conn, contract.sb)
    keys = [a.key(record) for record in result]
    expected = a.count(contract.sb)
    assert expected > 2 * a.page_size  # three pages at least
    assert len(keys) == len(set(keys)) == expected
    assert result.complete and result.stats.pages == -(-expected // a.page_size)
    assert contract.sent(a.listing) == result.stats.pages and contract.sleeps == []


@each
def test_a_wrong_credential_is_an_authentication_error_that_says_what_to_do(
        contract: Contract) -> None:
    a = contract.adapter
    conn = ik.connect(a.service, **contract.options(**{a.credential: WRONG}, **a.isolate()))
    with pytest.raises(ik.AuthenticationError, match=a.auth_hint) as info:
        read(a.listing.run(conn, contract.sb))
    conn.close()
    assert WRONG not in str(info.value) and WRONG not in repr(info.value)
    assert not info.value.transient
    assert contract.attempts(a.auth_path) == 1 and contract.sleeps == []


# -- failing ----------------------------------------------------------------------------------


@each
def test_a_burst_of_server_errors_mid_listing_is_retried_and_loses_nothing(
        contract: Contract) -> None:
    a, faults = contract.adapter, contract.sb.faults
    faults.fail(503, times=2, after=1, path=a.listing.path)  # the second page, twice
    faults.fail(500, times=1, after=2, path=a.listing.path)  # then the third, once
    result = a.listing.run(contract.conn, contract.sb)
    keys = [a.key(record) for record in result]
    assert len(keys) == len(set(keys)) == a.count(contract.sb) and result.complete
    assert result.stats.retries == 3 and len(contract.sleeps) == 3
    assert contract.sent(a.listing) == result.stats.pages + 3


@each
def test_permanent_errors_are_their_typed_error_after_one_attempt(contract: Contract) -> None:
    a = contract.adapter
    for call, error in ((a.missing, ik.NotFoundError), (a.refused, ik.InvalidRequestError)):
        before = contract.sent(call)
        with pytest.raises(error) as info:
            read(call.run(contract.conn, contract.sb))
        assert not info.value.transient and info.value.hint
        assert contract.sent(call) - before == 1, call.path
    assert contract.sleeps == []


@each
def test_a_429_is_waited_out_for_as_long_as_its_retry_after_says(contract: Contract) -> None:
    a, faults = contract.adapter, contract.sb.faults
    # One 429 on the second page: where the connection also pauses every client of the key
    # (GitHub, Shopify), that pause is waited for in real time, after the recorded sleep.
    faults.headers({"Retry-After": "3"}, after=1, times=1, path=a.listing.path)
    faults.fail(429, after=1, times=1, path=a.listing.path)
    result = a.listing.run(contract.conn, contract.sb)
    assert len({a.key(record) for record in result}) == a.count(contract.sb)
    assert result.complete and result.stats.retries == 1
    assert contract.sleeps == [3.0]
    assert contract.sent(a.listing) == result.stats.pages + 1


@each
def test_a_retry_after_beyond_the_connections_patience_is_a_rate_limit_error(
        contract: Contract) -> None:
    a, faults = contract.adapter, contract.sb.faults
    faults.headers({"Retry-After": "3600"}, times=1, path=a.listing.path)
    faults.fail(429, times=1, path=a.listing.path)
    with pytest.raises(ik.RateLimitError) as info:
        read(a.listing.run(contract.conn, contract.sb))
    assert info.value.transient and info.value.hint
    assert info.value.retry_after == 3600
    assert contract.sent(a.listing) == 1 and contract.sleeps == []


# -- writing ----------------------------------------------------------------------------------


def tag() -> str:
    return f"ct{uuid.uuid4().hex[:12]}"


@each_write
def test_a_write_whose_answer_is_lost_is_applied_once(contract: Contract, write: Write) -> None:
    """The service applies the write, then the connection drops before its answer leaves."""
    mine = tag()
    contract.sb.faults.reset_after_processing(times=1, path=write.path, method=write.method)
    if write.replayable:  # sent again: the second one must not add a second object
        write.send(contract.conn, contract.sb, mine)
        assert contract.sent(write) == 2, write.why
    else:  # never resent blindly: the caller hears it may have happened
        with pytest.raises(ik.NetworkError, match="may have been applied before the failure"):
            write.send(contract.conn, contract.sb, mine)
        assert contract.sent(write) == 1 and contract.sleeps == [], write.why
    assert write.applied(contract.sb, mine) == 1


@each_write
def test_a_write_refused_before_it_applies_is_neither_lost_nor_doubled(
        contract: Contract, write: Write) -> None:
    """A 503 answered before the write reached the service."""
    mine = tag()
    contract.sb.faults.fail(503, times=1, path=write.path, method=write.method)
    if write.replayable:
        write.send(contract.conn, contract.sb, mine)
        assert contract.sent(write) == 2 and write.applied(contract.sb, mine) == 1, write.why
    else:
        with pytest.raises(ik.ServerError, match="may have been applied before the failure"):
            write.send(contract.conn, contract.sb, mine)
        assert contract.sent(write) == 1 and contract.sleeps == [], write.why
        assert write.applied(contract.sb, mine) == 0


# -- the wire ---------------------------------------------------------------------------------


@pytest.mark.parametrize("contract", ["stripe", "github", "slack"], indirect=True)
def test_the_description_check_catches_a_request_it_does_not_allow(contract: Contract) -> None:
    """The check run when each test ends can fail: a page request made wrong is caught."""
    a = contract.adapter
    spec = a.spec()
    if spec is None:
        pytest.skip(f"{a.service}'s published description is not beside the repo")
    read(a.listing.run(contract.conn, contract.sb))
    first = contract.recorder.received[0].as_wire()
    assert spec.problems(first) == []
    mistyped = dataclasses.replace(first, query=re.sub(
        rf"(^|&){a.page_param}=\d+", rf"\1{a.page_param}=ten", first.query))
    assert mistyped.query != first.query and spec.problems(mistyped)
    unknown = dataclasses.replace(first, query=first.query + "&integkit_unknown=1")
    assert [p for p in spec.problems(unknown) if "'integkit_unknown' is not declared" in p]
