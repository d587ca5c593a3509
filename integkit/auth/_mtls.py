"""Mutual TLS: a client certificate presented during the TLS handshake.

The certificate is not a header, so it cannot be applied by an ``httpx.Auth`` flow: it lives
in the ``ssl.SSLContext`` the connection's transport is built with. ``MutualTLS`` checks the
files up front (so a wrong path or a mismatched key is a clear ConfigError, not an opaque
handshake failure later), builds that context, and is also an ``httpx.Auth`` that leaves the
request alone (or applies an inner scheme, for APIs that want a token as well), so it can be
passed as ``auth=`` and the connection takes ``verify=auth.ssl_context()`` from it.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
import warnings
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .._errors import ConfigError
from .._events import register_secret
from ._identity import digest, stable_identity
from ._rotation import drive

__all__ = ["MutualTLS"]

PathOrPem = str | os.PathLike[str]


def _read(value: PathOrPem, what: str) -> tuple[bytes, Path | None]:
    """The PEM bytes of ``value`` (PEM text or a file path) and its path, if it is a file."""
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.strip().encode() + b"\n", None
    path = Path(value).expanduser()
    try:
        return path.read_bytes(), path
    except FileNotFoundError:
        raise ConfigError(f"MutualTLS: the {what} file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"MutualTLS: the {what} path {str(path)!r} is a directory") from None
    except OSError as exc:
        raise ConfigError(f"MutualTLS: cannot read the {what} file {str(path)!r} "
                          f"({exc.strerror}); check its permissions") from None


class MutualTLS(httpx.Auth):
    """Present a client certificate; optionally trust a private CA for the server's.

    Args:
        cert: the client certificate (PEM file path or PEM text); may also hold the key.
        key: the private key (PEM file path or text), unless it is in ``cert``.
        password: the key's passphrase, if it is encrypted.
        ca: a CA bundle file or directory to verify the server with (default: the usual
            public CAs).
        auth: another scheme to apply as well (``Bearer``, ``ApiKey``...).

    Connections take the context as their ``verify`` setting:

    >>> mtls = MutualTLS("client.pem", "client.key", ca="ca.pem")          # doctest: +SKIP
    >>> api = ik.rest("https://api.internal:8443", auth=mtls, verify=mtls.ssl_context())
    """

    def __init__(
        self,
        cert: PathOrPem,
        key: PathOrPem | None = None,
        *,
        password: str | bytes | None = None,
        ca: PathOrPem | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        if password:
            register_secret(password)
        self._password = password.encode() if isinstance(password, str) else password
        self._cert_pem, self._cert_path = _read(cert, "certificate")
        self._key_pem, self._key_path = _read(key, "key") if key is not None \
            else (self._cert_pem, self._cert_path)
        register_secret(self._key_pem.decode(errors="ignore"))
        self.ca = ca
        self.auth = auth
        self.certificate = self._check()
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    @property
    def requires_request_body(self) -> bool:  # type: ignore[override]
        return bool(self.auth is not None and self.auth.requires_request_body)

    @property
    def requires_response_body(self) -> bool:  # type: ignore[override]
        return bool(self.auth is not None and self.auth.requires_response_body)

    @property
    def identity(self) -> str | None:
        """The certificate (and the inner scheme's identity), as a one-way name; None when
        the inner scheme has none that holds across processes."""
        inner = stable_identity(self.auth) if self.auth is not None else ""
        if inner is None:
            return None
        return "mtls:" + digest(self._cert_pem.decode(errors="replace"), inner)

    @property
    def subject(self) -> str:
        """The certificate's subject, e.g. ``CN=reporting-client,O=Example``."""
        return self.certificate.subject.rfc4514_string()

    def _check(self) -> x509.Certificate:
        """Parse both halves and make sure the key belongs to the certificate."""
        try:
            certificate = x509.load_pem_x509_certificate(self._cert_pem)
        except ValueError:
            raise ConfigError("MutualTLS: the certificate is not a PEM certificate "
                              "(-----BEGIN CERTIFICATE-----)") from None
        if b"PRIVATE KEY-----" not in self._key_pem:
            where = "key" if self._key_path is not self._cert_path else "certificate file"
            raise ConfigError(f"MutualTLS: no private key in the {where}; pass key= (the PEM "
                              "private key that goes with the certificate)")
        try:
            key = serialization.load_pem_private_key(self._key_pem, password=self._password)
        except TypeError:
            message = ("the private key is encrypted: pass password=" if self._password is None
                       else "the private key is not encrypted: drop password=")
            raise ConfigError(f"MutualTLS: {message}") from None
        except ValueError:
            raise ConfigError("MutualTLS: the private key cannot be read (a wrong password, "
                              "or not a PEM private key)") from None
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
            raise ConfigError(f"MutualTLS: the private key does not match the certificate "
                              f"({certificate.subject.rfc4514_string()}); check that the two "
                              "files belong together")
        now = datetime.now(UTC)
        if certificate.not_valid_after_utc < now:
            warnings.warn(f"MutualTLS: the client certificate expired on "
                          f"{certificate.not_valid_after_utc:%Y-%m-%d}; servers will refuse it",
                          UserWarning, stacklevel=3)
        elif certificate.not_valid_before_utc > now:
            warnings.warn(f"MutualTLS: the client certificate is valid only from "
                          f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M}Z", UserWarning,
                          stacklevel=3)
        return certificate

    def ssl_context(self) -> ssl.SSLContext:
        """The context to give the transport (``verify=``): the client certificate and key,
        and ``ca`` (or the default trust store) for the server. Built once."""
        with self._lock:
            if self._context is None:
                self._context = self._build()
            return self._context

    def _build(self) -> ssl.SSLContext:
        context = self._trust()
        with tempfile.TemporaryDirectory(prefix="integkit-mtls-") as private:
            # load_cert_chain reads files: PEM text goes to a 0700 directory, removed at once.
            cert_file = self._cert_path or _spill(Path(private, "cert.pem"), self._cert_pem)
            key_file = self._key_path or _spill(Path(private, "key.pem"), self._key_pem)
            try:
                context.load_cert_chain(cert_file, key_file, password=self._password)
            except ssl.SSLError as exc:
                raise ConfigError(f"MutualTLS: OpenSSL refused the certificate or key "
                                  f"({exc.reason or exc})") from None
        return context

    def _trust(self) -> ssl.SSLContext:
        if self.ca is None:
            try:
                import certifi  # httpx's own default trust store
            except ImportError:  # pragma: no cover - certifi comes with httpx
                return ssl.create_default_context()
            return ssl.create_default_context(cafile=certifi.where())
        if isinstance(self.ca, str) and "-----BEGIN" in self.ca:
            try:
                return ssl.create_default_context(cadata=self.ca)
            except ssl.SSLError as exc:
                raise ConfigError(f"MutualTLS: ca is not a PEM CA bundle ({exc})") from None
        path = Path(self.ca).expanduser()
        if not path.exists():
            raise ConfigError(f"MutualTLS: the CA file {str(path)!r} does not exist")
        try:
            if path.is_dir():
                return ssl.create_default_context(capath=str(path))
            return ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"MutualTLS: cannot load the CA bundle {str(path)!r} "
                              f"({exc})") from None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.auth is None:
            yield request
        else:
            yield from drive(self.auth, request)

    def __repr__(self) -> str:
        inner = f", auth={self.auth!r}" if self.auth is not None else ""
        return f"MutualTLS({self.subject!r}{inner})"


def _spill(path: Path, data: bytes) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return str(path)
