"""What a server says about its limits, read by named parsers that connectors register.

A parser is a plain function from a response (its headers and body) to a :class:`Feedback`:
a wait every client of the key should keep, the service's own count of its budget, or its
verdict on trying again. The rate-limit, quota and retry layers run the parsers a
connection's definition names (``feedback: [retry_after, x_ratelimit]``), in the order they
were registered, each layer only those that give what it needs. The parsers for headers any
service may send are registered here; those for one service's own headers are registered by
that service's connector code, so the pipeline never needs to know a service by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from .._errors import ConfigError
from ._hints import reset_after, retry_after, should_retry_hint

__all__ = ["KINDS", "Feedback", "FeedbackParser", "check_feedback", "feedback_names",
           "read_feedback", "register_feedback"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """One observation from a response; a parser fills what its header or body says."""

    pause: float | None = None  # seconds every client of the key should stay away
    used: int | None = None  # the service's own count of the day's calls ...
    limit: int | None = None  # ... out of this many
    retry: bool | None = None  # the service's verdict on sending the call again


FeedbackParser = Callable[[httpx.Response], Feedback | None]
#: What a parser may tell: a pause, a count of the budget (``used`` and ``limit``), a verdict.
KINDS = ("pause", "used", "retry")

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_parsers: dict[str, tuple[FeedbackParser, frozenset[str]]] = {}


def register_feedback(name: str, parser: FeedbackParser, *,
                      gives: str | Iterable[str] = "pause") -> FeedbackParser:
    """Make ``parser`` available to definitions as ``name`` (snake_case); ``gives`` says which
    of :data:`KINDS` it reads, so each layer runs only the parsers that tell it something.
    Returns the parser; registering a name again replaces it (a module reloaded)."""
    if not (isinstance(name, str) and _NAME.fullmatch(name)):
        raise ConfigError(f"a feedback parser's name is snake_case like 'x_ratelimit', "
                          f"not {name!r}")
    if not callable(parser):
        raise ConfigError(f"feedback parser {name!r} must be a function of a response, "
                          f"not {parser!r}")
    kinds = frozenset([gives] if isinstance(gives, str) else gives)
    if not kinds or not kinds <= set(KINDS):
        raise ConfigError(f"feedback parser {name!r} gives some of {KINDS}, not {gives!r}")
    _parsers[name] = (parser, kinds)
    return parser


def feedback_names() -> tuple[str, ...]:
    """The names registered so far, in the order they were registered."""
    return tuple(_parsers)


def check_feedback(names: Iterable[str] | None) -> tuple[str, ...] | None:
    """``names`` as a tuple (None stays None: every parser); an unknown name is a ConfigError
    naming the known ones."""
    if names is None:
        return None
    names = tuple(names)
    unknown = [name for name in names if name not in _parsers]
    if unknown:
        raise ConfigError(f"unknown feedback parser {unknown[0]!r}; known: "
                          f"{', '.join(sorted(_parsers))}")
    return names


def read_feedback(response: httpx.Response, names: Iterable[str] | None,
                  kind: str) -> Feedback | None:
    """The first observation of ``kind`` (one of :data:`KINDS`) that the parsers ``names``
    (None: every one) make of ``response``, trying them in registration order."""
    wanted = None if names is None else set(check_feedback(names) or ())
    for name, (parse, kinds) in list(_parsers.items()):
        if kind not in kinds or (wanted is not None and name not in wanted):
            continue
        found = parse(response)
        if found is not None and getattr(found, kind) is not None:
            return found
    return None


def _retry_after(response: httpx.Response) -> Feedback | None:
    """A 429 (or a 403 with Retry-After): stay away as long as Retry-After says, else 1s."""
    headers = response.headers
    if response.status_code == 429 or (response.status_code == 403 and "retry-after" in headers):
        wait = retry_after(headers)
        return Feedback(pause=1.0 if wait is None else wait)
    return None


def _x_ratelimit(response: httpx.Response) -> Feedback | None:
    """``X-RateLimit-Remaining: 0``: stay away until ``X-RateLimit-Reset`` (seconds from now,
    epoch seconds or epoch milliseconds, by size)."""
    remaining = response.headers.get("x-ratelimit-remaining")
    reset = response.headers.get("x-ratelimit-reset")
    if remaining is None or reset is None or remaining.strip() != "0":
        return None
    wait = reset_after(reset)
    return None if wait is None else Feedback(pause=wait)


def _retry_hints(response: httpx.Response) -> Feedback | None:
    """The service's own word on whether the call may go again, whatever its status."""
    verdict = should_retry_hint(response.headers)
    return None if verdict is None else Feedback(retry=verdict)


register_feedback("retry_after", _retry_after)
register_feedback("x_ratelimit", _x_ratelimit)
register_feedback("retry_hints", _retry_hints, gives="retry")
