"""Where the token store's encryption key comes from, first found wins:

1. ``INTEGKIT_TOKEN_KEY`` (CI, containers): a Fernet key, or any passphrase of 16+ characters;
   several comma-separated keys rotate (the first encrypts, every one decrypts);
2. the OS keyring, when the ``keyring`` package is installed and has a usable backend
   (service ``integkit``, entry ``token-key``; created on first use);
3. a key file ``<data_dir>/token.key`` readable only by its owner (created with mode 0600).

The key itself never leaves this module's objects: ``repr`` shows its source and a short id.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .._config import get_settings
from .._errors import ConfigError
from .._events import logger, register_secret

__all__ = ["KEY_ENV", "KEYRING_ENTRY", "KEYRING_SERVICE", "TokenKey", "resolve_key"]

KEY_ENV = "INTEGKIT_TOKEN_KEY"
KEYRING_SERVICE = "integkit"
KEYRING_ENTRY = "token-key"
KEY_FILE = "token.key"
_MIN_PASSPHRASE = 16
_HKDF_INFO = b"integkit token store v1"


@dataclass(frozen=True)
class TokenKey:
    """The token store's key(s) and where they came from (``kind``: env, keyring or file)."""

    keys: tuple[bytes, ...] = field(repr=False)
    kind: str
    where: str

    @property
    def source(self) -> str:
        """Human words for the source, e.g. ``key file /home/me/.../token.key``."""
        return self.where

    @property
    def key_id(self) -> str:
        """A short public fingerprint of the encrypting key (safe to show)."""
        return hashlib.sha256(b"integkit-key-id:" + self.keys[0]).hexdigest()[:8]

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet().encrypt(data)

    def decrypt(self, data: bytes) -> bytes:
        """Plain bytes; raises ``cryptography.fernet.InvalidToken`` under a wrong key."""
        return self._fernet().decrypt(data)

    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k) for k in self.keys])

    def fix_hint(self) -> str:
        """What to do when this key cannot decrypt the stored tokens."""
        if self.kind == "env":
            return (f"Set {KEY_ENV} to the key that was in use when the tokens were stored "
                    "(several keys may be listed, comma-separated, while rotating), or log in "
                    "again to store new tokens under this key.")
        if self.kind == "keyring":
            return (f"The OS keyring entry {KEYRING_SERVICE}/{KEYRING_ENTRY} changed; restore "
                    f"it, set {KEY_ENV} to the old key, or log in again.")
        return (f"The key file changed or the tokens come from another machine: restore the "
                f"original {self.where.removeprefix('key file ')}, set {KEY_ENV} to the key "
                "that stored them, or log in again.")

    def __repr__(self) -> str:
        return f"TokenKey({self.where}, id={self.key_id})"


def _as_fernet_key(raw: str) -> bytes:
    """A Fernet key as given, or one derived (HKDF-SHA256) from a long enough passphrase."""
    raw = raw.strip()
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32 and len(raw) == 44:
            return raw.encode()
    except ValueError:
        pass
    if len(raw) < _MIN_PASSPHRASE:
        raise ConfigError(
            f"{KEY_ENV} must be a Fernet key (python -c \"from cryptography.fernet import "
            f"Fernet; print(Fernet.generate_key().decode())\") or a passphrase of at least "
            f"{_MIN_PASSPHRASE} characters"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(derived.derive(raw.encode()))


def _from_env() -> TokenKey | None:
    value = os.environ.get(KEY_ENV, "")
    if not value.strip():
        return None
    register_secret(value)
    keys = tuple(_as_fernet_key(part) for part in value.split(",") if part.strip())
    for key in keys:
        register_secret(key)
    return TokenKey(keys, "env", f"environment variable {KEY_ENV}")


def _usable_keyring() -> Any:
    """The keyring module when it is installed and has a real backend, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring config means "no keyring"
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    # A chainer with no real backends behind it stores nothing.
    if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", None):
        return None
    return keyring


def _from_keyring() -> TokenKey | None:
    keyring = _usable_keyring()
    if keyring is None:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
        if not value:
            value = Fernet.generate_key().decode()
            keyring.set_password(KEYRING_SERVICE, KEYRING_ENTRY, value)
            # Another process may have written first; read back what the keyring holds.
            value = keyring.get_password(KEYRING_SERVICE, KEYRING_ENTRY) or value
    except Exception as exc:  # noqa: BLE001 - locked or headless keyrings fail in many ways
        logger.debug("integkit: OS keyring unusable (%s); using the key file", type(exc).__name__)
        return None
    register_secret(value)
    where = f"OS keyring ({KEYRING_SERVICE}/{KEYRING_ENTRY})"
    return TokenKey((_as_fernet_key(value),), "keyring", where)


def _read_key_file(path: Path) -> bytes | None:
    try:
        data = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the token key file {path}: {exc}") from None
    return data or None


def _from_file(data_dir: Path) -> TokenKey:
    path = data_dir / KEY_FILE
    key = _read_key_file(path)
    if key is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".token-key-", dir=data_dir)  # mode 0600
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, Fernet.generate_key() + b"\n")
            os.fsync(fd)
            os.close(fd)
            try:
                os.link(tmp, path)  # atomic, and fails if another process got there first
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
        for _ in range(50):  # the winner's file is complete when linked
            key = _read_key_file(path)
            if key:
                break
            time.sleep(0.01)
        if key is None:
            raise ConfigError(f"the token key file {path} is empty; delete it and log in again")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warnings.warn(f"integkit: the token key file {path} is readable by others "
                      f"(mode {mode:o}); run: chmod 600 {path}", stacklevel=3)
    register_secret(key)
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(f"the token key file {path} does not hold a valid key; restore it, "
                          f"or delete it and log in again") from None
    return TokenKey((key,), "file", f"key file {path}")


def resolve_key(data_dir: Path | None = None, *, use_keyring: bool = True) -> TokenKey:
    """The token store's key: ``INTEGKIT_TOKEN_KEY``, else the OS keyring, else the key file.

    ``data_dir`` defaults to the configured one (``ik.configure(data_dir=...)``).
    """
    found = _from_env() or (_from_keyring() if use_keyring else None)
    if found is not None:
        return found
    if data_dir is None:
        data_dir = get_settings().data_dir
    return _from_file(Path(data_dir))
