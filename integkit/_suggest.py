"""Did you mean...: the option closest to a mistyped one, for errors that name both.

A keyword integkit does not take (``api_kye=`` given to ``ik.connect``) is a ConfigError
naming the call and the closest keyword it does take, instead of Python's TypeError from
whatever inner ``__init__`` the keyword reached. Where any other name is legitimate (the
keywords of ``conn.list`` are the service's query parameters), only a near miss of one of
integkit's own options is flagged (:func:`slip_of`), so a real parameter never is.

>>> closest("paginatr", ["paginator", "primary_key"])
'paginator'
>>> slip_of("max_record", ["max_records", "parallel"])
'max_records'
>>> slip_of("headline", ["deadline"]) is None
True
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from ._errors import ConfigError

__all__ = ["closest", "slip_of", "unknown_keyword"]


def _plain(name: str) -> str:
    return re.sub(r"[_\-\s]", "", name).lower()


def closest(name: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The choice closest to ``name`` (ignoring case, ``_`` and ``-``), if one is close
    enough (difflib's ratio at least ``cutoff``) to be what was meant."""
    by_plain: dict[str, str] = {}
    for choice in choices:
        by_plain.setdefault(_plain(choice), choice)
    found = difflib.get_close_matches(_plain(name), list(by_plain), n=1, cutoff=cutoff)
    return by_plain[found[0]] if found else None


def _edits(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap of two neighbours) that turn ``a`` into ``b``."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, rows[-2][j - 2] + 1)
            row.append(cost)
        rows.append(row)
    return rows[-1][-1]


def slip_of(name: str, options: Iterable[str]) -> str | None:
    """The option ``name`` is a slip of the keyboard for, or None: one edit away (two for
    names longer than 8 letters), same first letter, ignoring case, ``_`` and ``-``. Strict
    on purpose: it judges names that may just as well be a service's own parameters."""
    plain = _plain(name)
    for option in options:
        target = _plain(option)
        if plain == target:
            return option if name != option else None
        if plain[:1] != target[:1]:
            continue
        if _edits(plain, target) <= (2 if len(target) > 8 else 1):
            return option
    return None


def unknown_keyword(where: str, name: str, accepted: Iterable[str], *,
                    elsewhere: Mapping[str, Iterable[str]] | None = None) -> ConfigError:
    """The error for a keyword ``where`` (``"ik.connect('stripe')"``) does not take: the
    closest one it does take; else the call it belongs to, when it is (or nearly is) one of
    ``elsewhere``'s (call -> its keywords: ``parallel=`` goes to ``conn.list``); else the
    list of the keywords ``where`` takes."""
    names = sorted(set(accepted))
    others = dict(elsewhere or {})
    for call, keywords in others.items():
        if name in keywords:
            return ConfigError(f"{where} takes no keyword {name!r}: it is an option of {call}")
    guess = closest(name, names)
    if guess is not None:
        return ConfigError(f"{where} takes no keyword {name!r}; did you mean {guess}=?")
    for call, keywords in others.items():
        other = closest(name, keywords)
        if other is not None:
            return ConfigError(f"{where} takes no keyword {name!r}: {other}= is an option of "
                               f"{call}")
    return ConfigError(f"{where} takes no keyword {name!r}; it takes: {', '.join(names)}")
