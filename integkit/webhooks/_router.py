"""A small webhook router: verify a delivery, drop replays, call the handlers of its event type.

An event-type pattern matches the delivery's type exactly, as a prefix ending at a "." or "/"
(``"pull_request"`` matches ``"pull_request.opened"``, ``"orders"`` matches ``"orders/create"``),
as a glob (``"invoice.*"``), or always (``"*"``). Each matching handler runs once per delivery,
in the order registered, and gets the event dict; ``dispatch`` returns what they returned.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any, TypeVar, overload

from .._events import logger
from .._validate import duration
from ._claims import claimed_route
from ._dedupe import SeenIds, SharedSeenIds
from ._headers import HeadersLike
from ._schemes import Secret
from ._topics import Unit, units
from ._verify import DEFAULT_TOLERANCE, scheme_for, verified

__all__ = ["ActionHandler", "Handler", "Router"]

Handler = Callable[[Any], Any]
"""``handler(event)``: the event dict (for a GitHub delivery whose signed body is no JSON
object, the raw body bytes)."""
ActionHandler = Callable[[dict[str, Any], dict[str, Any]], Any]
"""``handler(action, payload)``: a Slack block action and the interactive payload it came in."""

H = TypeVar("H", bound=Callable[..., Any])


def _matches(pattern: str, keys: Sequence[str]) -> bool:
    if pattern == "*":
        return True
    for key in keys:
        if key == pattern or ("*" in pattern and fnmatchcase(key, pattern)):
            return True
        if key.startswith(pattern) and key[len(pattern)] in "./":
            return True
    return False


def _same_definition(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """``b`` re-defines ``a`` (a notebook cell run again), so it replaces rather than adds."""
    if a is b:
        return True
    name = getattr(a, "__qualname__", None)
    return (name is not None and "<lambda>" not in name and name == getattr(b, "__qualname__", None)
            and getattr(a, "__module__", None) == getattr(b, "__module__", None))


class Router:
    """Handlers by service and event type, with verification and replay protection.

    >>> from integkit.webhooks import sign
    >>> router = Router()
    >>> @router.on("github", "pull_request")        # also gets "pull_request.opened"
    ... def opened(event):
    ...     return event["number"]
    >>> body = b'{"action": "opened", "number": 7}'
    >>> headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1",
    ...            **sign("github", body, secret="whk-secret")}
    >>> router.dispatch("github", body, headers, secret="whk-secret")
    [7]
    >>> router.dispatch("github", body, headers, secret="whk-secret")  # the same delivery
    []

    Deliveries already handled in this process (same Stripe event id, GitHub delivery id, ...)
    are dropped: ``dispatch`` returns ``[]``. So is the same signed body again under fresh
    delivery ids (ids that GitHub, Shopify or Twilio send outside the signature, so whoever
    replays a body can change them): a delivery is also remembered by a digest of its body
    and of the event or topic it claims. ``remember`` bounds how many are kept.
    With ``state=`` (a state URL or backend; ``True`` for the configured one) the ids are
    shared by every process on it for ``remember_for`` (any duration: ``"3d"``), so several
    workers behind one webhook URL handle each delivery once.
    Registering a function with the same name for the same route again replaces it, so a
    notebook cell can be re-run.
    """

    def __init__(self, *, remember: int = 10_000, state: Any = None,
                 remember_for: float | str = 3 * 86400.0) -> None:
        self._routes: list[tuple[str, str, Handler]] = []
        self._actions: list[tuple[str, ActionHandler]] = []
        self._seen: SeenIds | SharedSeenIds = (
            SeenIds(remember) if state is None or state is False
            else SharedSeenIds(None if state is True else state,
                               ttl=duration(remember_for, "remember_for", positive=True)))
        self._lock = threading.Lock()

    @overload
    def on(self, service: str, event_type: str) -> Callable[[H], H]: ...

    @overload
    def on(self, service: str, event_type: str, handler: H) -> H: ...

    def on(self, service: str, event_type: str, handler: H | None = None) -> Any:
        """Call ``handler(event)`` for ``service`` deliveries of ``event_type`` ("*": all).

        Returns ``handler``; without it, a decorator: ``@router.on("shopify", "orders/create")``.
        """
        name = scheme_for(service).service
        if not event_type:
            raise ValueError('event_type is empty: pass an event type, or "*" for every event')

        def register(fn: H) -> H:
            with self._lock:
                self._routes = [r for r in self._routes
                                if not (r[:2] == (name, event_type) and _same_definition(r[2], fn))]
                self._routes.append((name, event_type, fn))
            return fn

        return register if handler is None else register(handler)

    @overload
    def on_action(self, action_id: str) -> Callable[[H], H]: ...

    @overload
    def on_action(self, action_id: str, handler: H) -> H: ...

    def on_action(self, action_id: str, handler: H | None = None) -> Any:
        """Call ``handler(action, payload)`` for each Slack block action with ``action_id``.

        ``action_id`` may be a glob (``"approve_*"``) or ``"*"``; usable as a decorator.
        """
        if not action_id:
            raise ValueError('action_id is empty: pass a block action_id, or "*" for every one')

        def register(fn: H) -> H:
            with self._lock:
                self._actions = [a for a in self._actions
                                 if not (a[0] == action_id and _same_definition(a[1], fn))]
                self._actions.append((action_id, fn))
            return fn

        return register if handler is None else register(handler)

    def clear(self) -> None:
        """Forget every handler and every delivery id seen."""
        with self._lock:
            self._routes, self._actions = [], []
        self._seen.clear()

    def dispatch(
        self,
        service: str,
        body: bytes | bytearray | memoryview | str,
        headers: HeadersLike | None,
        *,
        secret: Secret | Sequence[Secret],
        url: str | None = None,
        tolerance: float | str | None = DEFAULT_TOLERANCE,
        now: float | None = None,
    ) -> list[Any]:
        """Verify a delivery (as :func:`verify`), then call the handlers of its event type.

        Returns the handlers' results in order; ``[]`` for a delivery already handled (logged
        at INFO). A SendGrid batch is routed event by event. If a handler raises, the error
        propagates and the delivery is not remembered, so the service's retry runs it again.
        """
        scheme, delivery, event = verified(service, body, headers, secret=secret, url=url,
                                           tolerance=tolerance, now=now)
        name = scheme.service
        found = units(name, event, delivery.headers)
        content = self._content_key(name, delivery.body, claimed_route(name, delivery.headers))
        if not self._seen.add(content):
            ids = ", ".join(u.id for u in found if u.id) or "(no delivery id)"
            logger.info("integkit: %s webhook %s repeats a signed body already handled; "
                        "dropping the replay", name, ids)
            return []
        results: list[Any] = []
        try:
            for unit in found:
                key = f"{name}:{unit.id}" if unit.id is not None else None
                if key is not None and not self._seen.add(key):
                    logger.info("integkit: %s webhook %s was already handled; dropping the "
                                "replay", name, unit.id)
                    continue
                try:
                    results.extend(self._run(name, unit))
                except BaseException:
                    if key is not None:
                        self._seen.discard(key)
                    raise
        except BaseException:
            self._seen.discard(content)  # the service's retry must run it again
            raise
        return results

    @staticmethod
    def _content_key(service: str, body: bytes, claimed: str) -> str:
        """What a delivery is, whatever ids came with it: the signed body, and the event or
        topic it claims outside it (Shopify may send one body under two topics)."""
        digest = hashlib.blake2b(body, digest_size=16, person=b"integkit-hook")
        digest.update(b"\0" + claimed.encode())
        return f"{service}:body:{digest.hexdigest()}"

    def _run(self, service: str, unit: Unit) -> list[Any]:
        with self._lock:
            routes, actions = list(self._routes), list(self._actions)
        handlers = [fn for name, pattern, fn in routes
                    if name == service and _matches(pattern, unit.keys)]
        if not handlers and not (unit.actions and actions):
            logger.debug("integkit: no handler for %s webhook %s", service,
                         unit.keys[0] if unit.keys else "(no event type)")
        results = [fn(unit.event) for fn in handlers]
        payload = unit.event
        if not isinstance(payload, dict):  # a raw body carries no Slack actions
            return results
        for action in unit.actions:
            action_id = action.get("action_id")
            if not isinstance(action_id, str):
                continue
            for pattern, action_fn in actions:
                if pattern in ("*", action_id) or ("*" in pattern
                                                   and fnmatchcase(action_id, pattern)):
                    results.append(action_fn(action, payload))
        return results

    def __repr__(self) -> str:
        return f"<Router: {len(self._routes)} handlers, {len(self._actions)} action handlers>"
