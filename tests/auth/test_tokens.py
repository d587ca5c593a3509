"""The encrypted token store: round trips, nothing readable at rest, key sources, wrong keys,
and a lock that admits one holder at a time."""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
import types
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from integkit import ConfigError
from integkit.auth import _keys
from integkit.auth._keys import KEY_ENV, resolve_key
from integkit.auth._tokens import Token, TokenId, TokenKeyError, TokenStore

SECRET_ACCESS = "at_" + "A" * 40
SECRET_REFRESH = "rt_" + "B" * 40


def _token() -> dict[str, object]:
    return {"access_token": SECRET_ACCESS, "refresh_token": SECRET_REFRESH,
            "expires_at": time.time() + 3600, "scope": "a b", "token_type": "Bearer",
            "extra": {"instance_url": "https://acme.my.salesforce.com"}}


def _id(service: str = "") -> TokenId:
    return TokenId(service or f"t-{uuid.uuid4().hex[:8]}", "acme", "me@acme.test")


def test_round_trip_and_tenants_coexist(store: TokenStore) -> None:
    a, b = _id(), None
    b = TokenId(a.service, "globex", a.account)
    store.put(a, _token())
    store.put(b, {**_token(), "access_token": "at_other_tenant_token"})
    got = store.get(a)
    assert isinstance(got, Token) and got["access_token"] == SECRET_ACCESS
    assert got["extra"]["instance_url"] == "https://acme.my.salesforce.com"
    assert store.get(b)["access_token"] == "at_other_tenant_token"  # type: ignore[index]
    assert set(store.ids(a.service)) == {a, b}
    assert store.delete(a) and store.get(a) is None and not store.delete(a)
    assert store.get(b) is not None


def test_nothing_readable_at_rest(store: TokenStore) -> None:
    token_id = _id()
    store.put(token_id, _token())
    if store.state.kind == "sqlite":
        store.state.connection().execute("PRAGMA wal_checkpoint(FULL)")
        assert store.state.path is not None
        raw = b"".join(p.read_bytes() for p in store.state.path.parent.glob("state.db*"))
    else:
        raw = b"".join(store.state.redis().hgetall(store._redis_key(token_id)).values())
    assert raw
    for secret in (SECRET_ACCESS, SECRET_REFRESH, "acme.my.salesforce.com"):
        assert secret.encode() not in raw


def test_repr_masks_secrets(store: TokenStore) -> None:
    token_id = _id()
    store.put(token_id, _token())
    token = store.get(token_id)
    shown = repr(token) + str(token) + repr(store) + f"{token}"
    assert SECRET_ACCESS not in shown and SECRET_REFRESH not in shown
    assert "***" in shown and "Bearer" in shown


def test_wrong_key_says_which_key_and_what_to_do(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    token_id = _id()
    TokenStore(url).put(token_id, _token())
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(TokenKeyError) as info:
        TokenStore(url).get(token_id)
    message = str(info.value)
    assert "environment variable INTEGKIT_TOKEN_KEY" in message
    assert "stored under key id" in message and "log in again" in message
    assert isinstance(info.value, ConfigError)

    # The key file: the message names the file to restore.
    monkeypatch.delenv(KEY_ENV)
    data = tmp_path / "home"
    store = TokenStore(url, key=resolve_key(data))
    with pytest.raises(TokenKeyError, match=r"key file .*token\.key.*restore the original"):
        store.get(token_id)


def test_rotating_env_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_ENV, old)
    token_id = _id()
    TokenStore(url).put(token_id, _token())
    monkeypatch.setenv(KEY_ENV, f"{new},{old}")  # the new key encrypts, the old one still reads
    store = TokenStore(url)
    assert store.get(token_id)["access_token"] == SECRET_ACCESS  # type: ignore[index]
    store.put(token_id, _token())
    monkeypatch.setenv(KEY_ENV, new)
    assert TokenStore(url).get(token_id) is not None


def test_passphrase_key_and_short_one_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "correct horse battery staple")
    key = resolve_key()
    assert key.kind == "env" and key.decrypt(key.encrypt(b"x")) == b"x"
    assert resolve_key().key_id == key.key_id  # derived the same way every time
    assert "correct horse" not in repr(key)
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        resolve_key()


def test_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = resolve_key(data)
    path = data / "token.key"
    assert key.kind == "file" and str(path) in key.source
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_key(data).key_id == key.key_id
    assert not list(data.glob(".token-key-*"))  # no temp file left behind
    assert path.read_bytes().strip().decode() not in repr(key)


def test_key_file_created_once_by_racing_threads(tmp_path: Path) -> None:
    data = tmp_path / "race"
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(resolve_key(data).key_id))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 8


def test_group_readable_key_file_warns(tmp_path: Path) -> None:
    data = tmp_path / "loose"
    resolve_key(data)
    os.chmod(data / "token.key", 0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        resolve_key(data)


def test_os_keyring_is_used_when_usable(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    vault: dict[tuple[str, str], str] = {}
    fake = types.SimpleNamespace(
        get_password=lambda s, n: vault.get((s, n)),
        set_password=lambda s, n, v: vault.__setitem__((s, n), v),
    )
    monkeypatch.setattr(_keys, "_usable_keyring", lambda: fake)
    key = resolve_key(tmp_path)
    assert key.kind == "keyring" and "OS keyring" in key.source
    assert ("integkit", "token-key") in vault
    assert resolve_key(tmp_path).key_id == key.key_id
    assert not (tmp_path / "token.key").exists()


def test_keyring_module_without_backend_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real _usable_keyring, with a fake module
    fail_mod = types.ModuleType("keyring.backends.fail")

    class FailKeyring:
        priority = 0

    fail_mod.Keyring = FailKeyring  # type: ignore[attr-defined]
    backends = types.ModuleType("keyring.backends")
    backends.fail = fail_mod  # type: ignore[attr-defined]
    keyring = types.ModuleType("keyring")
    keyring.get_keyring = FailKeyring  # type: ignore[attr-defined]
    keyring.backends = backends  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    monkeypatch.setitem(sys.modules, "keyring.backends", backends)
    monkeypatch.setitem(sys.modules, "keyring.backends.fail", fail_mod)
    assert _keys._usable_keyring() is None


def test_swapped_rows_are_detected(tmp_path: Path) -> None:
    store = TokenStore(f"sqlite:///{tmp_path / 'state.db'}")
    a, b = _id("t-a"), _id("t-b")
    store.put(a, _token())
    store.put(b, {**_token(), "access_token": "at_bbbbbbbbbbbbbbbb"})
    conn = store.state.connection()
    blob_b = conn.execute("SELECT blob FROM ik_tokens WHERE service = 't-b'").fetchone()[0]
    conn.execute("UPDATE ik_tokens SET blob = ? WHERE service = 't-a'", (blob_b,))
    with pytest.raises(TokenKeyError, match="tampered"):
        store.get(a)


def test_lock_admits_one_holder_at_a_time(store: TokenStore) -> None:
    token_id = _id()
    inside = 0
    peak = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, peak
        other = TokenStore(store.state.url)  # separate stores: the cross-process path
        for _ in range(5):
            with other.lock(token_id):
                with guard:
                    inside += 1
                    peak = max(peak, inside)
                time.sleep(0.002)
                with other.lock(token_id):  # re-entrant in one thread
                    pass
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1


def test_lock_left_by_a_dead_holder_expires(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    token_id = _id()
    dead = TokenStore(url, lock_ttl=0.3)
    assert dead._try_lock(token_id, "dead-process")  # acquired, never released
    started = time.monotonic()
    with TokenStore(url, lock_ttl=0.3).lock(token_id, timeout=5):
        pass
    assert 0.2 < time.monotonic() - started < 3


def test_memory_store_keeps_nothing_on_disk(tmp_path: Path) -> None:
    store = TokenStore.memory()
    token_id = _id()
    store.put(token_id, _token())
    with store.lock(token_id):
        assert store.get(token_id)["access_token"] == SECRET_ACCESS  # type: ignore[index]
    assert store.ids() == [token_id] and "memory" in repr(store)
