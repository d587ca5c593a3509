"""Webhooks: verify a service's signature, and route verified events to handlers.

>>> import integkit.webhooks as w
>>> event = w.verify("stripe", body, request.headers, secret="whsec_...")    # doctest: +SKIP
>>> @w.on("shopify", "orders/create")                                        # doctest: +SKIP
... def new_order(order): ...
>>> w.dispatch("shopify", body, request.headers, secret=SHOPIFY_SECRET)     # doctest: +SKIP

``verify`` raises ``SignatureError`` saying what was wrong (a missing header, a signature that
does not match, a timestamp outside the replay window); ``sign`` makes the headers a service
would send, for emulators and tests. ``on``/``on_action``/``dispatch`` belong to a default
:class:`Router`; make your own ``Router()`` to keep handler sets apart.
"""

from __future__ import annotations

from ._router import ActionHandler, Handler, Router
from ._verify import known_services, sign, verify

__all__ = [
    "ActionHandler",
    "Handler",
    "Router",
    "clear",
    "dispatch",
    "known_services",
    "on",
    "on_action",
    "router",
    "sign",
    "verify",
]

router = Router()
"""The default router behind ``on``, ``on_action``, ``dispatch`` and ``clear``."""

on = router.on
on_action = router.on_action
dispatch = router.dispatch
clear = router.clear
