"""OAuth sign-ins a panel can drive without blocking the notebook: the authorization code +
PKCE flow with a one-shot loopback listener (and paste-back of the redirected URL when the
browser is not on the kernel's machine), and the device-code flow for remote kernels.

Each runs in a daemon thread and reports once through ``on_done(token, error)``; ``cancel()``
stops it (the loopback port is closed, device polling ends at its next pause).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from .._errors import AuthenticationError, ConfigError
from ..auth import DeviceLogin, Loopback, OAuth2, Token

__all__ = ["BrowserLogin", "DeviceFlow", "Done"]

Done = Callable[[Token | None, Exception | None], None]


class _Cancelled(Exception):
    """The person started another login or closed the panel."""


class _Flow:
    """A login in a background thread that reports exactly once."""

    def __init__(self, auth: OAuth2, on_done: Done, timeout: float) -> None:
        self.auth = auth
        self.on_done = on_done
        self.timeout = timeout
        self._cancel = threading.Event()
        self._reported = False
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def _report(self, token: Token | None, error: Exception | None) -> bool:
        with self._lock:
            if self._reported:
                return False
            self._reported = True
        self.on_done(token, error)
        return True

    @property
    def finished(self) -> bool:
        return self._reported

    def cancel(self) -> None:
        """Stop waiting; nothing is reported after this."""
        self._cancel.set()
        with self._lock:
            self._reported = True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the login thread ends (tests, scripts); whether it did."""
        if self.thread is not None:
            self.thread.join(timeout)
            return not self.thread.is_alive()
        return True


class BrowserLogin(_Flow):
    """Authorization code + PKCE: :meth:`start` returns the URL to open; the loopback
    listener catches the redirect, or :meth:`paste` completes it with the redirected URL."""

    def __init__(self, auth: OAuth2, on_done: Done, timeout: float = 300.0) -> None:
        super().__init__(auth, on_done, timeout)
        self._listener: Loopback | None = None
        self._claimed = False
        self.url: str | None = None

    def start(self) -> str:
        """Open the listener, make the authorization URL and wait for the redirect."""
        host, port, path = "127.0.0.1", 0, "/callback"
        if self.auth.redirect_uri:
            parts = urlsplit(self.auth.redirect_uri)
            if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                raise ConfigError(f"the panel's browser login needs a loopback redirect_uri "
                                  f"(http://127.0.0.1:PORT/...), not {self.auth.redirect_uri!r}")
            host, port, path = parts.hostname or host, parts.port or 0, parts.path or "/"
        listener = Loopback(host, port, path)
        listener.thread.start()
        self._listener = listener
        self.url, _ = self.auth.authorization_url(redirect_uri=listener.redirect_uri)
        self.thread = threading.Thread(target=self._run, name="integkit-login", daemon=True)
        self.thread.start()
        return self.url

    def _run(self) -> None:
        listener = self._listener
        assert listener is not None
        deadline = time.monotonic() + self.timeout
        try:
            while not self._cancel.is_set():
                redirected = listener.wait(0.2)
                if redirected is not None:
                    self._close()
                    if self._claim():
                        self._complete(redirected)
                    return
                if time.monotonic() > deadline:
                    self._report(None, AuthenticationError(
                        f"no login redirect arrived within {self.timeout:.0f}s",
                        service=self.auth.token_id.service,
                        hint="Sign in again; if the browser ends on a page that cannot be "
                             "reached, paste its address into the panel."))
                    return
        finally:
            self._close()

    def _claim(self) -> bool:
        """Only one completion (the listener's or a pasted URL) exchanges the code."""
        with self._lock:
            if self._claimed or self._reported:
                return False
            self._claimed = True
            return True

    def _complete(self, redirected: str) -> Token | None:
        try:
            token = self.auth.finish(redirected)
        except Exception as exc:  # noqa: BLE001 - reported to the panel, not lost in a thread
            self._report(None, exc)
            return None
        self._report(token, None)
        return token

    def paste(self, redirected: str) -> Token | None:
        """Complete the login with the URL the browser ended on (its address bar); the
        outcome goes to ``on_done`` like the listener's."""
        if not redirected.strip():
            raise ConfigError("paste the full address the browser ended on after approving")
        if not self._claim():
            raise ConfigError("this sign-in has already finished; start a new one")
        self._cancel.set()
        self._close()
        return self._complete(redirected.strip())

    def _close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.server.shutdown()
            listener.server.server_close()

    def cancel(self) -> None:
        super().cancel()
        self._close()


class DeviceFlow(_Flow):
    """Device code (RFC 8628): :meth:`start` returns what to show; a thread polls."""

    def start(self) -> DeviceLogin:
        device = self.auth.start_device()
        self.thread = threading.Thread(target=self._run, name="integkit-device-login",
                                       daemon=True)
        self.thread.start()
        return device

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(seconds):
            raise _Cancelled()

    def _run(self) -> None:
        try:
            token = self.auth.poll_device(timeout=self.timeout, sleep=self._sleep)
        except _Cancelled:
            return
        except Exception as exc:  # noqa: BLE001 - reported to the panel, not lost in a thread
            self._report(None, exc)
            return
        self._report(token, None)
