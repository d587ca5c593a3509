"""Local emulators of the services integkit connects to, over real HTTP on 127.0.0.1.

>>> import integkit as ik                                    # doctest: +SKIP
>>> with ik.sandbox("stripe", records=500) as sb:           # doctest: +SKIP
...     conn = sb.connect()
...     sb.faults.fail(503, times=2)                        # the next two calls fail
...     df = conn.list("charges").to_frame()

``sb.emulator`` holds the in-memory state tests read (``objects``, ``request_log``,
``rate_limited``); ``python -m integkit.sandbox stripe --json`` serves one in its own process.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .. import _display
from .._errors import ConfigError
from .._validate import duration
from ._app import Emulator
from ._clock import SANDBOX_NOW, Moment, SandboxClock
from ._faults import FaultRule, Faults
from ._limits import parse_rate_limit
from ._server import SandboxProcess, SandboxServer
from ._state import own_state
from .services import emulator_class, known_services

__all__ = [
    "Emulator",
    "FaultRule",
    "Faults",
    "SANDBOX_NOW",
    "Sandbox",
    "SandboxClock",
    "SandboxProcess",
    "SandboxServer",
    "create_emulator",
    "known_services",
    "sandbox",
]


def create_emulator(service: str | None = None, *, records: int = 1000, seed: int = 0,
                    rate_limit: tuple[float, int] | str | None = None, latency: float = 0.0,
                    api_key: str | None = None, prebuild: Iterable[str] | None = None,
                    now: Moment = None, spec: str | Path | Mapping[str, Any] | None = None,
                    paging: str | None = None) -> Emulator:
    """The ASGI emulator of ``service`` with its seeded data, not yet served.

    ``prebuild`` names resources whose objects are all serialised up front (None: the
    emulator's default, e.g. Stripe's charges; ``()``: none). ``now`` is where the emulated
    world's clock starts (see :func:`sandbox`). ``spec``: an OpenAPI 3 description (a path or
    a dict) to emulate instead of a registered service; ``paging`` overrides the paging style
    read from it (``"offset"``, ``"page"``, ``"cursor"`` or ``"starting_after"``).
    """
    if spec is not None:
        from ._spec_emulator import SpecEmulator  # needs the sandbox extra (openapi-core)

        return SpecEmulator(spec, records=records, seed=seed,
                            rate_limit=parse_rate_limit(rate_limit), latency=latency,
                            api_key=api_key, now=now, paging=paging)
    if service is None:
        raise ConfigError("sandbox: name a service or give spec= (an OpenAPI 3 description)")
    cls = emulator_class(service)
    emulator: Emulator = cls(records=records, seed=seed, rate_limit=parse_rate_limit(rate_limit),
                             latency=latency, api_key=api_key, now=now)
    warm = getattr(emulator, "warm", None)
    if warm is not None:
        warm() if prebuild is None else warm(tuple(prebuild))
    return emulator


class Sandbox:
    """A running emulator and the credentials that open it; a context manager.

    Attributes: ``service``, ``url``, ``api_key``, ``credentials`` (keyword arguments for
    ``ik.connect``), ``faults``, ``emulator`` (also ``app``: the ASGI app with its state),
    ``state`` (the state backend of its connections: their limits, budgets, caches, tokens
    and ledger rows, kept out of the user's own).
    """

    def __init__(self, service: str, emulator: Emulator, server: SandboxServer,
                 state: str | None = None) -> None:
        self.service = service
        self.emulator = emulator
        self.server = server
        self.state = state or own_state()

    @property
    def app(self) -> Emulator:
        return self.emulator

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def running(self) -> bool:
        """Whether the emulator still answers (False after :meth:`stop`)."""
        return self.server.running

    @property
    def api_key(self) -> str:
        return self.emulator.api_key

    @property
    def clock(self) -> SandboxClock:
        """The emulated world's clock: its data was seeded up to :attr:`today`."""
        return self.emulator.world_clock

    @property
    def now(self) -> dt.datetime:
        """The emulated world's current time (aware, UTC): ask for "the last 90 days" from
        here, not from the wall clock, and the answer is the same any day."""
        return self.emulator.world_clock.datetime()

    @property
    def today(self) -> dt.date:
        """The emulated world's UTC day."""
        return self.emulator.world_clock.today()

    @property
    def credentials(self) -> dict[str, Any]:
        return self.emulator.credentials()

    @property
    def faults(self) -> Faults:
        return self.emulator.faults

    @property
    def client_rate_limit(self) -> dict[str, Any] | bool:
        """The client-side limit matching the emulator's own (False when it has none)."""
        limiter = self.emulator.limiter
        if limiter is None:
            return False
        return {"name": "requests", "limit": int(limiter.rate), "per": 1,
                "burst": int(limiter.burst)}

    def connect(self, **kwargs: Any) -> Any:
        """``ik.connect(service)`` aimed at this emulator, with limits matching the emulator's
        and the sandbox's own :attr:`state` (extra kwargs pass through and win): its calls
        never reach the user's ledger, budgets or ``ik.costs()``; read them with
        ``ik.usage(state=sb.state)``."""
        from .. import connect

        options = {"base_url": self.url, "rate_limit": self.client_rate_limit,
                   "state": self.state, **self.credentials, **kwargs}
        return connect(self.service, **options)

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.service} at {self.url}>"

    def _repr_html_(self) -> str:
        return _display.html("sandbox", self)


def sandbox(service: str | None = None, *, records: int = 1000, seed: int = 0,
            rate_limit: tuple[float, int] | str | None = None, latency: float | str = 0.0,
            api_key: str | None = None, now: Moment = None,
            state: str | None = None, spec: str | Path | Mapping[str, Any] | None = None,
            paging: str | None = None) -> Sandbox:
    """Start ``service``'s emulator on a free 127.0.0.1 port and return it, running.

    Args:
        service: a registered emulator, e.g. ``"stripe"`` (None with ``spec``).
        spec: any API's OpenAPI 3 description (a ``.yaml``/``.json`` path or a dict) made an
            emulator: every operation routed, requests validated (400/422 naming the
            problem), answers generated from its schemas for ``seed``, a store per
            collection (POST creates, GET/PATCH/PUT/DELETE on ``/collection/{id}``) and
            paging in the style its parameters show.
        paging: with ``spec``, the paging style to serve instead of the one read from it
            (``"offset"``, ``"page"``, ``"cursor"``, ``"starting_after"``).
        records: seeded objects per list resource (deterministic for ``seed``).
        rate_limit: ``(requests per second, burst)`` per API key (or ``"25/50"``); None for
            no limit.
        latency: time added to every request, in seconds or a duration (``"50ms"``),
            without blocking the others.
        api_key: the key the emulator accepts; a fresh test key when None.
        now: where the emulated world's clock starts: a datetime, a date or ISO 8601 text;
            ``"wall"`` for the real clock. Default: 2025-07-01 12:00 UTC
            (``integkit.sandbox.SANDBOX_NOW``), so the seeded data (the two years before it)
            and every answer are the same on any day. Rate-limit windows, token expiry and
            webhook timestamps always follow the real clock.
        state: the state backend of ``sb.connect()``'s connections (a URL). Default: the
            sandbox's own temporary SQLite file, so emulated calls stay out of the user's
            ledger, budgets, caches and token store; ``ik.get_settings().state_url`` shares
            the configured one.
    """
    emulator = create_emulator(service, records=records, seed=seed, rate_limit=rate_limit,
                               latency=duration(latency, "sandbox: latency"), api_key=api_key,
                               now=now, spec=spec, paging=paging)
    server = SandboxServer(emulator).start()
    return Sandbox(service or emulator.service, emulator, server, state)


class _CallableModule(types.ModuleType):
    """Importing ``integkit.sandbox`` makes the package attribute ``integkit.sandbox`` this
    module, shadowing the ``ik.sandbox(...)`` function; so the module is callable too."""

    def __call__(self, service: str | None = None, **options: Any) -> Sandbox:
        return sandbox(service, **options)


sys.modules[__name__].__class__ = _CallableModule
