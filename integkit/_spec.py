"""Config mappings, read one way everywhere: the keys a settings object takes, their aliases,
and what each value must be, declared once per object as a :class:`Spec`.

Every key has one canonical snake_case name; its camelCase and kebab-case spellings
(``maxAttempts``, ``max-attempts``) are the same key, and so are the aliases the spec
declares for the shapes users bring from API-gateway configs (``burstSize`` for ``burst``).
A key the spec does not know is a ConfigError naming it and the closest known key; a key
given twice under two spellings is one too. Values go through the spec's checks (mostly
those of :mod:`integkit._validate`), whose errors name the key as the user spelt it.

>>> from integkit._validate import whole
>>> breaker = Spec("breaker", [Key("failure_threshold", whole)])
>>> breaker.read({"failureThreshold": 3})
{'failure_threshold': 3}
>>> breaker.read({"failure_treshold": 3})
Traceback (most recent call last):
...
integkit._errors.ConfigError: breaker: unknown key 'failure_treshold'; did you mean \
'failure_threshold'? Known keys: failure_threshold
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import ConfigError
from ._suggest import closest

__all__ = ["Check", "Key", "Spec", "did_you_mean", "spellings", "suggest", "unknown_key"]

#: ``check(value, where) -> value to use``; raises ConfigError naming ``where``.
Check = Callable[[Any, str], Any]


def spellings(name: str) -> tuple[str, ...]:
    """The spellings of a snake_case key: itself, camelCase and kebab-case."""
    head, *rest = name.split("_")
    return tuple(dict.fromkeys((name, head + "".join(p[:1].upper() + p[1:] for p in rest),
                                name.replace("_", "-"))))


def suggest(spelling: str, known: Iterable[str]) -> str | None:
    """The known key closest to ``spelling`` (ignoring case, ``_`` and ``-``), if any is
    close enough to be what was meant (stricter than for keywords: keys are many)."""
    return closest(str(spelling), known, cutoff=0.75)


def did_you_mean(spelling: Any, known: Iterable[str], *,
                 aliases: Mapping[str, str] | None = None) -> str:
    """``"; did you mean 'x'? Known keys: a, b"``: what follows an unknown key's name.
    ``aliases`` (spelling -> canonical name) widen the search for the closest."""
    names = sorted(known)
    candidates = {**{n: n for n in names}, **(aliases or {})}
    guess = suggest(str(spelling), candidates)
    hint = f"; did you mean {candidates[guess]!r}?" if guess else ";"
    return f"{hint} Known keys: {', '.join(names)}"


def unknown_key(what: str, spelling: Any, known: Iterable[str], *,
                aliases: Mapping[str, str] | None = None) -> str:
    """The message for an unknown key: ``what`` (if any), the key, the closest known one
    and the known ones."""
    head = f"{what}: unknown key {spelling!r}" if what else f"unknown key {spelling!r}"
    return head + did_you_mean(spelling, known, aliases=aliases)


@dataclass(frozen=True)
class Key:
    """One key of a settings object.

    Args:
        name: the canonical snake_case name.
        check: turns a given value into the one to use, or raises ConfigError naming the
            ``where`` it is handed (None: any value).
        aliases: other snake_case names users bring for it (their camelCase and
            kebab-case spellings come with them).
        expand: for a shorthand: the canonical keys (and raw values) it stands for, e.g.
            ``requests_per_second: 5`` -> ``{"limit": 5, "per": 1}``. Those keys may not be
            given besides it.
        required: the object needs it (once every layer is merged).
        optional: None means "not set" and passes unchecked.
    """

    name: str
    check: Check | None = None
    aliases: tuple[str, ...] = ()
    expand: Callable[[Any, str], dict[str, Any]] | None = None
    required: bool = False
    optional: bool = False


class Spec:
    """The keys of one kind of settings mapping (see the module docstring)."""

    def __init__(self, what: str, keys: Iterable[Key]) -> None:
        self.what = what
        self.keys: dict[str, Key] = {}
        self._spelling: dict[str, str] = {}
        for key in keys:
            self.keys[key.name] = key
            for alias in (key.name, *key.aliases):
                for spelling in spellings(alias):
                    taken = self._spelling.setdefault(spelling, key.name)
                    if taken != key.name:
                        raise ValueError(f"{what}: {spelling!r} spells both {taken} and "
                                         f"{key.name}")

    @property
    def names(self) -> list[str]:
        """The canonical names, sorted."""
        return sorted(self.keys)

    @property
    def aliases(self) -> dict[str, str]:
        """Every accepted spelling that is not a canonical name -> its canonical name."""
        return {s: n for s, n in self._spelling.items() if s != n}

    def name_of(self, spelling: Any) -> str | None:
        """The canonical name ``spelling`` stands for, or None."""
        return self._spelling.get(spelling) if isinstance(spelling, str) else None

    def unknown(self, spelling: Any, what: str | None = None) -> ConfigError:
        """The ConfigError for a key this spec does not know."""
        return ConfigError(unknown_key(self.what if what is None else what, spelling,
                                       self.keys, aliases=self.aliases))

    def given(self, config: Any, what: str | None = None) -> dict[str, tuple[str, Any]]:
        """Canonical name -> (the spelling given, the raw value) of one mapping, shorthands
        expanded; unknown keys, a key given twice and a shorthand clashing with a key it sets
        are ConfigErrors."""
        what = what or self.what
        if config is None:
            return {}
        if not isinstance(config, Mapping):
            raise ConfigError(f"{what} must be a mapping of settings (keys: "
                              f"{', '.join(self.names)}), not {config!r}")
        direct: dict[str, tuple[str, Any]] = {}
        for spelling, value in config.items():
            name = self.name_of(spelling)
            if name is None:
                raise self.unknown(spelling, what)
            if name in direct:
                raise ConfigError(f"{what}: {direct[name][0]!r} and {spelling!r} are the same "
                                  f"key ({name}); give it once")
            direct[name] = (spelling, value)
        out = dict(direct)
        for name, (spelling, value) in direct.items():
            expand = self.keys[name].expand
            if expand is None:
                continue
            del out[name]
            for target, raw in expand(value, f"{what} {spelling}").items():
                if target != name and target in direct:
                    raise ConfigError(f"{what}: {spelling!r} and {direct[target][0]!r} both "
                                      f"set {target}; give one of them")
                out[target] = (spelling, raw)
        return out

    def _checked(self, name: str, spelling: str, value: Any, what: str) -> Any:
        key = self.keys[name]
        if key.check is None or (key.optional and value is None):
            return value
        return key.check(value, f"{what} {spelling}")

    def read(self, *layers: Any, what: str | None = None) -> dict[str, Any]:
        """Canonical name -> checked value, from ``layers`` of mappings (None skipped; a
        later layer's key wins, e.g. a definition's section, then the caller's override)."""
        what = what or self.what
        merged: dict[str, tuple[str, Any]] = {}
        for layer in layers:
            merged.update(self.given(layer, what))
        missing = [k.name for k in self.keys.values() if k.required and k.name not in merged]
        if missing:
            raise ConfigError(f"{what} needs {', '.join(repr(m) for m in missing)}")
        return {name: self._checked(name, spelling, value, what)
                for name, (spelling, value) in merged.items()}

    def canonical(self, config: Any, what: str | None = None) -> dict[str, Any]:
        """``config`` with canonical keys and its raw values, once every value is checked
        (how a definition keeps its sections: read again, merged with overrides, later)."""
        what = what or self.what
        given = self.given(config, what)
        self.read(config, what=what)
        return {name: value for name, (_, value) in given.items()}

    def check_fields(self, obj: Any, what: str | None = None) -> None:
        """Check (and convert in place) the fields of a dataclass built directly, e.g.
        ``RetryPolicy(initial_delay="1s")``: the values a mapping would have gone through."""
        what = what or self.what
        for field in dataclasses.fields(obj):
            if field.name in self.keys:
                value = getattr(obj, field.name)
                checked = self._checked(field.name, field.name, value, what)
                if checked is not value:
                    object.__setattr__(obj, field.name, checked)
