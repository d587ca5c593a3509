"""A local Stripe API (version 2023-08-16) that answers like the real one.

Emulated, with Stripe's wire format (checked against the official OpenAPI description in
``tests/sandbox/test_stripe_spec.py``):

- ``GET /v1/{charges,customers,invoices,payment_intents,subscriptions,refunds,
  balance_transactions,events}``: cursor pages (``limit``, ``starting_after``,
  ``ending_before``), ``created`` (exact or ``created[gt|gte|lt|lte]``), every filter the spec
  declares for the list, ``expand[]=data.<field>``; newest first.
- ``GET /v1/<resource>/<id>`` with ``expand[]``.
- ``POST /v1/customers``, ``/v1/payment_intents`` (with ``confirm`` and Stripe's test payment
  methods, e.g. ``pm_card_visa``, ``pm_card_chargeDeclined``) and ``/v1/refunds``; bracket
  form bodies, validation, idempotency keys (replay, conflicts), side effects (charges,
  balance transactions, events, refunded amounts).
- Every request judged by Stripe's published description (the request side shipped in
  ``integkit/sandbox/specs/stripe.json``) before it is answered: a body that is not a form,
  an unknown parameter, a missing required one, one of the wrong type or outside its
  ``enum`` is a ``400 invalid_request_error`` naming the ``param`` as Stripe does.
- Bearer or Basic auth, per-key rate limits (429 like Stripe's), ``Request-Id`` and
  ``Stripe-Version`` on every answer, gzip.

Seeded records are built on demand from ``(seed, index)``; their relations hold: a charge, its
payment intent and balance transaction share an index (and an id body, as at Stripe), and
referenced customers exist and predate their payments. Parameters the spec declares but the
emulator does not model (say ``tax_id_data`` on customers) are accepted and ignored.
Expanding an id the sandbox does not hold (a payout, a refund's balance transaction) leaves
the id in place.
"""

from __future__ import annotations

import bisect
import functools
import re
from base64 import b64decode
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from ..._errors import ConfigError
from .._app import Emulator, ParamError, Reply, Request, as_list, new_request_id, parse_params
from .._clock import Moment, SandboxClock
from .._faults import Headers
from .._fixtures import (
    Dice,
    Table,
    Weights,
    created_series,
    glob_match,
    mix64,
    salt,
    tokens,
)
from .._openapi import Problem, SpecValidator

__all__ = ["API_VERSION", "SPEC_OPERATIONS", "StripeEmulator", "StripeError"]

API_VERSION = "2023-08-16"
_DOCS = "https://stripe.com/docs/error-codes/"
_YEAR = 365 * 86400
_DAY = 86400
_MAX_EXPAND_DEPTH = 4


class StripeError(Exception):
    """An error answer in Stripe's shape: ``{"error": {"type", "message", "code", ...}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 extra: dict[str, Any] | None = None, store: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}
        self.store = store  # an idempotent retry replays it (the request began executing)

    def payload(self) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = _DOCS + self.code.replace("_", "-")
        err.update(self.extra)
        err["message"] = self.message
        if self.param:
            err["param"] = self.param
        err["type"] = self.type
        return {"error": dict(sorted(err.items()))}


def _refusal(problem: Problem) -> StripeError:
    """What Stripe answers to a request its description refuses (``param`` in bracket form)."""
    head, *rest = problem.name.split(".") if problem.name else ("",)
    param = head + "".join(f"[{part}]" for part in rest)
    if problem.kind == "missing":
        return _missing(param)
    if problem.wanted.startswith("one of "):
        choices = problem.wanted.removeprefix("one of ").split(", ")
        listed = ", ".join(choices[:-1]) + f", or {choices[-1]}" if len(choices) > 1 \
            else choices[0]
        return StripeError(400, f"Invalid {param}: must be one of {listed}", param=param)
    kind = {"integer": "integer", "boolean": "boolean", "string": "string", "array": "array",
            "object": "hash", "number": "decimal"}.get(problem.wanted)
    if kind is None:
        return StripeError(400, f"Invalid {param}", param=param)
    return StripeError(400, f"Invalid {kind}: {_describe(problem.value)}", param=param,
                       code="parameter_invalid_integer" if kind == "integer" else None)


def _unknown(param: str) -> StripeError:
    return StripeError(400, f"Received unknown parameter: {param}", code="parameter_unknown",
                       param=param)


def _missing(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.", code="parameter_missing",
                       param=param)


def _no_such(obj: str, obj_id: str, param: str, status: int = 400) -> StripeError:
    return StripeError(status, f"No such {obj}: '{obj_id}'", code="resource_missing",
                       param=param)


RATE_LIMIT_MESSAGE = ("Request rate limit exceeded. You can learn more about rate limits here "
                      "https://stripe.com/docs/rate-limits.")
_NO_KEY = ("You did not provide an API key. You need to provide your API key in the "
           "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
           "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or "
           "we can help at https://support.stripe.com/.")


# -- seeded data ------------------------------------------------------------------------------

_CURRENCIES = Weights([("usd", 62), ("eur", 14), ("gbp", 9), ("cad", 5), ("aud", 5), ("jpy", 5)])
_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof", "bif", "djf", "gnf",
                 "kmf", "mga", "pyg", "rwf", "vuv", "xpf"}
SUPPORTED_CURRENCIES = frozenset(
    "usd aed aud brl cad chf cny czk dkk eur gbp hkd huf idr ils inr jpy krw mxn myr nok nzd "
    "php pln ron sek sgd thb try twd zar".split() + list(_ZERO_DECIMAL)
)
_BRANDS = Weights([
    (("visa", ["4242", "1881", "0077", "5556", "9424"], "credit"), 55),
    (("mastercard", ["4444", "5100", "8210", "0005"], "credit"), 25),
    (("amex", ["8431", "0005", "0017"], "credit"), 8),
    (("visa", ["5556", "4675", "9995"], "debit"), 8),
    (("discover", ["1117", "9424"], "credit"), 4),
])
_COUNTRIES = Weights([("US", 60), ("GB", 10), ("DE", 8), ("FR", 7), ("CA", 6), ("AU", 5),
                      ("JP", 4)])
_DECLINES = [
    ("card_declined", "generic_decline", "Your card was declined."),
    ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ("card_declined", "lost_card", "Your card was declined."),
    ("expired_card", "expired_card", "Your card has expired."),
    ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
]
# Stripe's test payment methods: https://stripe.com/docs/testing
_TEST_DECLINES = {
    "pm_card_chargeDeclined": _DECLINES[0],
    "pm_card_chargeDeclinedInsufficientFunds": _DECLINES[1],
    "pm_card_chargeDeclinedLostCard": _DECLINES[2],
    "pm_card_chargeDeclinedStolenCard": ("card_declined", "stolen_card", "Your card was declined."),
    "pm_card_chargeDeclinedExpiredCard": _DECLINES[3],
    "pm_card_chargeDeclinedIncorrectCvc": _DECLINES[4],
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
    "pm_card_chargeDeclinedProcessingError": (
        "processing_error", "processing_error",
        "An error occurred while processing your card. Try again in a little bit."),
}
_TEST_CARDS = {
    "pm_card_visa": ("visa", "4242", "credit"),
    "pm_card_visa_debit": ("visa", "5556", "debit"),
    "pm_card_mastercard": ("mastercard", "4444", "credit"),
    "pm_card_mastercard_debit": ("mastercard", "8210", "debit"),
    "pm_card_amex": ("amex", "8431", "credit"),
    "pm_card_discover": ("discover", "1117", "credit"),
    "pm_card_us": ("visa", "4242", "credit"),
}
_FIRST = ["Jenny", "Ana", "Liam", "Noah", "Olivia", "Emma", "Mateo", "Sofia", "Hiro", "Yuki",
          "Lukas", "Marie", "Arjun", "Priya", "Chen", "Mei", "Omar", "Layla", "Lucas", "Chloe",
          "Ivan", "Elena", "Kwame", "Amara", "Tom", "Grace", "Finn", "Nora", "Raj", "Zoe"]
_LAST = ["Rosen", "Silva", "Smith", "Johnson", "Garcia", "Müller", "Martin", "Tanaka", "Sato",
         "Schmidt", "Dubois", "Patel", "Sharma", "Wang", "Li", "Haddad", "Nguyen", "Brown",
         "Kowalski", "Ivanova", "Mensah", "O'Brien", "Rossi", "Jensen", "Andersen", "Kim",
         "Lopez", "Costa", "Novak", "Fischer"]
_SLUG = {n: n.lower().replace("'", "").replace("ü", "u").replace("ß", "ss")
         for n in _FIRST + _LAST}
_CITIES: dict[str, list[tuple[str, str | None, str]]] = {
    "US": [("San Francisco", "CA", "94103"), ("New York", "NY", "10001"),
           ("Austin", "TX", "73301"), ("Seattle", "WA", "98101")],
    "GB": [("London", None, "EC1A 1BB"), ("Manchester", None, "M1 1AE")],
    "DE": [("Berlin", None, "10115"), ("München", None, "80331")],
    "FR": [("Paris", None, "75001"), ("Lyon", None, "69001")],
    "CA": [("Toronto", "ON", "M5H 2N2"), ("Vancouver", "BC", "V5K 0A1")],
    "AU": [("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000")],
    "JP": [("Tokyo", None, "100-0001"), ("Osaka", None, "530-0001")],
}
_STREETS = ["Market St", "Main St", "High Street", "Oak Avenue", "Rue de Rivoli",
            "Hauptstraße", "King St W", "George St", "Chuo-dori"]
_DESCRIPTIONS = ["Order #{n}", "Subscription renewal", "Invoice payment", "Pro plan upgrade",
                 "Marketplace order {n}", "Gift card purchase", "Event ticket #{n}"]
_SEGMENTS = ["smb", "mid_market", "enterprise", "self_serve"]
_CHANNELS = ["web", "ios", "android", "pos", "phone"]
_PLANS = [  # product name, unit amount (usd cents), interval (None: one-time)
    ("Starter plan", 900, "month"), ("Growth plan", 4900, "month"),
    ("Scale plan", 19900, "month"), ("Growth plan (annual)", 49000, "year"),
    ("Extra seats", 1500, "month"), ("Onboarding package", 25000, None),
    ("Consulting hour", 15000, None), ("Hardware kit", 8900, None),
]
_SUB_STATUSES = Weights([("active", 60), ("trialing", 6), ("past_due", 6), ("canceled", 16),
                         ("unpaid", 2), ("incomplete", 4), ("paused", 3),
                         ("incomplete_expired", 3)])
_PAY_STATUSES = Weights([("succeeded", 90), ("failed", 7), ("pending", 3)])
_INVOICE_STATUSES = Weights([("open", 40), ("draft", 15), ("void", 15), ("uncollectible", 10),
                             ("paid", 20)])
_REFUND_STATUSES = Weights([("succeeded", 95), ("pending", 4), ("failed", 1)])
_EVENT_KINDS = Weights([("charges", 35), ("payment_intents", 25), ("customers", 15),
                        ("invoices", 15), ("subscriptions", 10)])


def _amount_for(d: Dice, currency: str) -> int:
    cents = 300 + int(d.unit() ** 3 * 250_000)  # many small payments, a few large ones
    cents = cents // 100 * 100 + d.pick([0, 0, 99, 50, 0, 95])
    if currency in _ZERO_DECIMAL:
        return max(50, int(cents))  # yen: ¥50 .. ¥250k
    return int(cents)


def _money(amount: int, currency: str) -> str:
    if currency in _ZERO_DECIMAL:
        text = f"{amount}"
    else:
        text = f"{amount / 100:.2f}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}
    return symbol[currency] + text if currency in symbol else f"{text} {currency.upper()}"


@dataclass(slots=True)
class _Payment:
    """What a charge, its payment intent, balance transaction and invoice have in common."""

    amount: int
    currency: str
    status: str
    customer: int | None
    invoiced: bool
    refunded: int
    card: tuple[str, str, str]
    country: str
    exp: tuple[int, int]
    fingerprint: str
    decline: tuple[str, str, str] | None
    metadata: dict[str, str]
    description: str | None
    risk: int
    token: str


class StripeWorld:
    """Deterministic seeded Stripe objects: ``build(kind, index)`` for each list resource."""

    def __init__(self, records: int, seed: int, now: int | None = None) -> None:
        self.n = max(0, int(records))
        self.seed = seed
        self.now = now if now is not None else SandboxClock().midnight()
        self.acct = Dice(salt(seed, "account")).token(8)
        self._salts = {k: salt(seed, k) for k in (
            "pay", "cus", "sub", "ref", "evt", "inv", "txn", "catalog")}
        self._series: dict[str, list[int]] = {}
        self._neg: dict[str, list[int]] = {}
        self._ids: dict[str, list[str]] = {}
        self.catalog = self._catalog()

    # -- ids and times -------------------------------------------------------------------------
    def series(self, name: str) -> list[int]:
        """Creation times, newest first: payments (charges, intents, balance transactions,
        invoices share it), customers, subscriptions, refunds, events."""
        got = self._series.get(name)
        if got is None:
            span = {"cus": 2 * _YEAR + 60 * _DAY, "sub": 2 * _YEAR}.get(name, 2 * _YEAR - _DAY)
            got = created_series(self.n, salt(self.seed, "created", name),
                                 newest=self.now - 97, span=span)
            self._series[name] = got
            self._neg[name] = [-t for t in got]
        return got

    def older_index(self, name: str, t: int) -> int:
        """The index of the newest record of a series created at or before ``t``."""
        self.series(name)
        return bisect.bisect_left(self._neg[name], -t)

    def bodies(self, name: str) -> list[str]:
        """Id bodies like Stripe's: a version digit, 7 chars, the account's 8, 8 more."""
        got = self._ids.get(name)
        if got is None:
            raw = tokens(self.n, 15, salt(self.seed, "ids", name))
            if name == "cus":
                got = [t[:14] for t in raw]
            else:
                got = [t[:7] + self.acct + t[7:] for t in raw]
            self._ids[name] = got
        return got

    def ids(self, kind: str) -> list[str]:
        prefix, series = _ID_SHAPES[kind]
        if kind == "customers":
            return ["cus_" + b for b in self.bodies("cus")]
        return [prefix + b for b in self.bodies(series)]

    def cid(self, kind: str, i: int) -> str:
        prefix, series = _ID_SHAPES[kind]
        return prefix + self.bodies(series)[i]

    def created(self, kind: str) -> list[int]:
        return self.series(_ID_SHAPES[kind][1])

    # -- shared facts --------------------------------------------------------------------------
    def payment(self, i: int) -> _Payment:
        d = Dice(self._salts["pay"] + i)
        currency = d.weighted(_CURRENCIES)
        amount = _amount_for(d, currency)
        status = d.weighted(_PAY_STATUSES)
        created = self.series("pay")[i]
        customer = self._customer_before(created, d) if d.chance(0.88) else None
        invoiced = customer is not None and d.chance(0.3)
        refunded = 0
        if status == "succeeded" and d.chance(0.08):
            refunded = amount if d.chance(0.55) else d.between(1, max(1, amount - 1))
        card = d.weighted(_BRANDS)
        metadata: dict[str, str] = {}
        if d.chance(0.45):
            metadata = {"order_id": f"ord_{d.token(10)}", "channel": d.pick(_CHANNELS)}
            if d.chance(0.3):
                metadata["campaign"] = d.pick(["spring_sale", "black_friday", "referral"])
        description = None
        if d.chance(0.6):
            description = d.pick(_DESCRIPTIONS).format(n=10000 + d.below(90000))
        secret = d.token(56)
        return _Payment(
            amount=amount, currency=currency, status=status, customer=customer,
            invoiced=invoiced, refunded=refunded,
            card=(card[0], d.pick(card[1]), card[2]), country=d.weighted(_COUNTRIES),
            exp=(d.between(1, 12), d.between(2024, 2030)), fingerprint=secret[:16],
            decline=d.pick(_DECLINES), metadata=metadata, description=description,
            risk=d.between(0, 70), token=secret[16:],
        )

    def _customer_before(self, t: int, d: Dice) -> int:
        j0 = min(self.older_index("cus", t), self.n - 1)
        return j0 + d.below(min(self.n - j0, 500))

    def profile(self, j: int) -> dict[str, Any]:
        """A customer's person: name, email, phone, address (shared with their payments)."""
        d = Dice(self._salts["cus"] + j)
        first, last = d.pick(_FIRST), d.pick(_LAST)
        country = d.weighted(_COUNTRIES)
        city, state, postal = d.pick(_CITIES[country])
        address = {"city": city, "country": country,
                   "line1": f"{d.between(1, 999)} {d.pick(_STREETS)}",
                   "line2": d.pick([None, None, None, f"Apt {d.between(1, 40)}"]),
                   "postal_code": postal, "state": state}
        return {
            "name": f"{first} {last}" if d.chance(0.93) else None,
            "email": f"{_SLUG[first]}.{_SLUG[last]}{j}@example.com" if d.chance(0.9) else None,
            "phone": f"+1555{d.between(1000000, 9999999)}" if d.chance(0.4) else None,
            "address": address if d.chance(0.55) else None,
            "prefix": format(d.getrandbits(28), "07X"),
            "dice": d,
        }

    # -- builders ------------------------------------------------------------------------------
    def build(self, kind: str, i: int) -> dict[str, Any]:
        obj: dict[str, Any] = getattr(self, "_" + kind)(i)
        return obj

    def _charges(self, i: int) -> dict[str, Any]:
        p = self.payment(i)
        return self.charge_object(
            obj_id=self.cid("charges", i), p=p, created=self.series("pay")[i],
            customer=None if p.customer is None else self.cid("customers", p.customer),
            profile=None if p.customer is None else self.profile(p.customer),
            payment_intent=self.cid("payment_intents", i),
            invoice=self.cid("invoices", i) if p.invoiced else None,
            balance_transaction=None if p.status == "failed" else self.cid("txn", i),
            payment_method="pm_1" + self.bodies("pay")[i],
        )

    def charge_object(self, *, obj_id: str, p: _Payment, created: int, customer: str | None,
                      profile: dict[str, Any] | None, payment_intent: str | None,
                      invoice: str | None, balance_transaction: str | None,
                      payment_method: str) -> dict[str, Any]:
        ok = p.status != "failed"
        brand, last4, funding = p.card
        decline_code, decline_reason, decline_message = p.decline or _DECLINES[0]
        email = profile["email"] if profile else None
        return {
            "id": obj_id,
            "object": "charge",
            "amount": p.amount,
            "amount_captured": p.amount if ok else 0,
            "amount_refunded": p.refunded,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": balance_transaction,
            "billing_details": {
                "address": _billing_address(profile),
                "email": email,
                "name": profile["name"] if profile else None,
                "phone": None,
            },
            "calculated_statement_descriptor": "INTEGKIT SANDBOX" if ok else None,
            "captured": ok,
            "created": created,
            "currency": p.currency,
            "customer": customer,
            "description": p.description,
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": None if ok else decline_code,
            "failure_message": None if ok else decline_message,
            "fraud_details": {},
            "invoice": invoice,
            "livemode": False,
            "metadata": dict(p.metadata),
            "on_behalf_of": None,
            "outcome": {
                "network_status": "approved_by_network" if ok else "declined_by_network",
                "reason": None if ok else decline_reason,
                "risk_level": "normal",
                "risk_score": p.risk,
                "seller_message": "Payment complete." if ok else
                "The bank did not return any further details with this decline.",
                "type": "authorized" if ok else "issuer_declined",
            },
            "paid": p.status == "succeeded",
            "payment_intent": payment_intent,
            "payment_method": payment_method,
            "payment_method_details": {
                "card": {
                    "brand": brand,
                    "checks": {"address_line1_check": None,
                               "address_postal_code_check": None,
                               "cvc_check": "pass" if ok else "unavailable"},
                    "country": p.country,
                    "exp_month": p.exp[0],
                    "exp_year": p.exp[1],
                    "fingerprint": p.fingerprint,
                    "funding": funding,
                    "installments": None,
                    "last4": last4,
                    "mandate": None,
                    "network": brand,
                    "network_token": {"used": False},
                    "three_d_secure": None,
                    "wallet": None,
                },
                "type": "card",
            },
            "receipt_email": email if ok and email and p.risk % 2 == 0 else None,
            "receipt_number": None,
            "receipt_url": f"https://pay.stripe.com/receipts/payment/{p.token}" if ok else None,
            "refunded": p.refunded > 0 and p.refunded == p.amount,
            "review": None,
            "shipping": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": p.status,
            "transfer_data": None,
            "transfer_group": None,
        }

    def payment_method_object(self, pm_id: str, p: _Payment, created: int,
                              customer: str | None, profile: dict[str, Any] | None
                              ) -> dict[str, Any]:
        brand, last4, funding = p.card
        return {
            "id": pm_id,
            "object": "payment_method",
            "billing_details": {
                "address": _billing_address(profile),
                "email": profile["email"] if profile else None,
                "name": profile["name"] if profile else None,
                "phone": None,
            },
            "card": {
                "brand": brand,
                "checks": {"address_line1_check": None, "address_postal_code_check": None,
                           "cvc_check": "pass"},
                "country": p.country,
                "exp_month": p.exp[0],
                "exp_year": p.exp[1],
                "fingerprint": p.fingerprint,
                "funding": funding,
                "generated_from": None,
                "last4": last4,
                "networks": {"available": [brand], "preferred": None},
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": created,
            "customer": customer,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }

    def _payment_intents(self, i: int) -> dict[str, Any]:
        p = self.payment(i)
        customer = None if p.customer is None else self.cid("customers", p.customer)
        profile = None if p.customer is None else self.profile(p.customer)
        created = self.series("pay")[i]
        pm_id = "pm_1" + self.bodies("pay")[i]
        error = None
        if p.status == "failed":
            pm = self.payment_method_object(pm_id, p, created, customer, profile)
            error = _card_error_payload(p.decline or _DECLINES[0], self.cid("charges", i), pm)
        return self.payment_intent_object(
            obj_id=self.cid("payment_intents", i), p=p, created=created, customer=customer,
            profile=profile, latest_charge=self.cid("charges", i),
            invoice=self.cid("invoices", i) if p.invoiced else None,
            payment_method=None if error else pm_id, error=error,
            status={"succeeded": "succeeded", "pending": "processing"}.get(
                p.status, "requires_payment_method"),
            automatic=p.risk % 3 != 0,
        )

    def payment_intent_object(self, *, obj_id: str, p: _Payment, created: int,
                              customer: str | None, profile: dict[str, Any] | None,
                              latest_charge: str | None, invoice: str | None,
                              payment_method: str | None, error: dict[str, Any] | None,
                              status: str, automatic: bool, capture_method: str = "automatic",
                              payment_method_types: list[str] | None = None,
                              receipt_email: str | None = None,
                              setup_future_usage: str | None = None,
                              statement_descriptor: str | None = None) -> dict[str, Any]:
        return {
            "id": obj_id,
            "object": "payment_intent",
            "amount": p.amount,
            "amount_capturable": p.amount if status == "requires_capture" else 0,
            "amount_details": {"tip": {}},
            "amount_received": p.amount if status == "succeeded" else 0,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": {"allow_redirects": "always", "enabled": True}
            if automatic else None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": capture_method,
            "client_secret": f"{obj_id}_secret_{p.token[:25]}",
            "confirmation_method": "automatic",
            "created": created,
            "currency": p.currency,
            "customer": customer,
            "description": p.description,
            "invoice": invoice,
            "last_payment_error": error,
            "latest_charge": latest_charge,
            "livemode": False,
            "metadata": dict(p.metadata),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": payment_method,
            "payment_method_options": {},
            "payment_method_types": payment_method_types or ["card"],
            "processing": None,
            "receipt_email": receipt_email,
            "review": None,
            "setup_future_usage": setup_future_usage,
            "shipping": None,
            "statement_descriptor": statement_descriptor,
            "statement_descriptor_suffix": None,
            "status": status,
            "transfer_data": None,
            "transfer_group": None,
        }

    def _balance_transactions(self, i: int) -> dict[str, Any]:
        p = self.payment(i)
        created = self.series("pay")[i]
        if p.status == "failed":  # no money moved for that payment: a payout instead
            d = Dice(self._salts["txn"] + i)
            amount = -d.between(5_000, 2_000_000)
            return self.balance_transaction_object(
                obj_id=self.cid("txn", i), amount=amount, fee=0, currency="usd",
                created=created, source="po_1" + self.bodies("pay")[i][::-1],
                kind="payout", category="payout", description="STRIPE PAYOUT")
        fee = 0 if p.currency in _ZERO_DECIMAL else round(p.amount * 0.029) + 30
        return self.balance_transaction_object(
            obj_id=self.cid("txn", i), amount=p.amount, fee=fee, currency=p.currency,
            created=created, source=self.cid("charges", i), kind="charge",
            category="charge", description=p.description,
            pending=p.status == "pending")

    def balance_transaction_object(self, *, obj_id: str, amount: int, fee: int, currency: str,
                                   created: int, source: str | None, kind: str, category: str,
                                   description: str | None, pending: bool = False
                                   ) -> dict[str, Any]:
        available_on = (created + 2 * _DAY) // _DAY * _DAY
        return {
            "id": obj_id,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": available_on,
            "created": created,
            "currency": currency,
            "description": description,
            "exchange_rate": None,
            "fee": fee,
            "fee_details": [{"amount": fee, "application": None, "currency": currency,
                             "description": "Stripe processing fees", "type": "stripe_fee"}]
            if fee else [],
            "net": amount - fee,
            "reporting_category": category,
            "source": source,
            "status": "pending" if pending or available_on > self.now else "available",
            "type": kind,
        }

    def _customers(self, j: int) -> dict[str, Any]:
        prof = self.profile(j)
        return self.customer_object(obj_id=self.cid("customers", j),
                                    created=self.series("cus")[j], prof=prof,
                                    d=prof["dice"])

    def customer_object(self, *, obj_id: str, created: int, prof: dict[str, Any],
                        d: Dice | None = None, **given: Any) -> dict[str, Any]:
        d = d or Dice(created)
        metadata: dict[str, str] = {}
        if d.chance(0.35):
            metadata = {"segment": d.pick(_SEGMENTS), "crm_id": f"crm-{d.between(1000, 99999)}"}
        obj = {
            "id": obj_id,
            "object": "customer",
            "address": prof["address"],
            "balance": -d.between(1, 50) * 100 if d.chance(0.05) else 0,
            "created": created,
            "currency": d.pick(["usd", "usd", "eur", None]),
            "default_source": None,
            "delinquent": d.chance(0.04),
            "description": d.pick([None, None, None, "Key account", "Trial signup"]),
            "discount": None,
            "email": prof["email"],
            "invoice_prefix": prof["prefix"],
            "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                 "footer": None, "rendering_options": None},
            "livemode": False,
            "metadata": metadata,
            "name": prof["name"],
            "next_invoice_sequence": d.between(1, 30),
            "phone": prof["phone"],
            "preferred_locales": d.pick([[], [], ["en"], ["fr"], ["de", "en"]]),
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
        obj.update(given)
        return obj

    def _invoices(self, i: int) -> dict[str, Any]:
        p = self.payment(i)
        created = self.series("pay")[i]
        d = Dice(self._salts["inv"] + i)
        charge: str | None
        intent: str | None
        if p.invoiced and p.customer is not None:
            customer = p.customer
            amount, currency = p.amount, p.currency
            status = "paid" if p.status == "succeeded" else "open"
            oob = False
            charge, intent = self.cid("charges", i), self.cid("payment_intents", i)
            collection = "charge_automatically"
        else:
            customer = self._customer_before(created, d)
            currency = d.pick(["usd", "usd", "usd", "eur", "gbp"])
            amount = _amount_for(d, currency)
            status = d.weighted(_INVOICE_STATUSES)
            oob = status == "paid"
            charge = intent = None
            collection = d.pick(["charge_automatically", "send_invoice"])
        prof = self.profile(customer)
        obj_id = self.cid("invoices", i)
        finalized = status != "draft"
        paid = status == "paid"
        plan = d.pick([pl for pl in self.catalog if pl["recurring"] is None])
        price = dict(plan, id="price_1" + d.token(23), currency=currency, unit_amount=amount,
                     unit_amount_decimal=str(amount), created=created)
        due = created + 30 * _DAY if collection == "send_invoice" else None
        line: dict[str, Any] = {
            "id": "il_1" + d.token(23),
            "object": "line_item",
            "amount": amount,
            "amount_excluding_tax": amount,
            "currency": currency,
            "description": plan["nickname"] or _product_name(plan),
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice_item": "ii_1" + d.token(23),
            "livemode": False,
            "metadata": {},
            "period": {"end": created, "start": created},
            "price": price,
            "proration": False,
            "proration_details": {"credited_items": None},
            "quantity": 1,
            "subscription": None,
            "tax_amounts": [],
            "tax_rates": [],
            "type": "invoiceitem",
            "unit_amount_excluding_tax": str(amount),
        }
        number = f"{prof['prefix']}-{d.between(1, 40):04d}" if finalized else None
        metadata = {"po_number": f"PO-{d.between(10000, 99999)}"} if d.chance(0.25) else {}
        return {
            "id": obj_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Integkit Sandbox",
            "account_tax_ids": None,
            "amount_due": amount,
            "amount_paid": amount if paid else 0,
            "amount_remaining": 0 if paid or status == "void" else amount,
            "amount_shipping": 0,
            "application": None,
            "application_fee_amount": None,
            "attempt_count": 1 if charge else 0,
            "attempted": charge is not None,
            "auto_advance": status in ("draft", "open"),
            "automatic_tax": {"enabled": False, "status": None},
            "billing_reason": "manual",
            "charge": charge,
            "collection_method": collection,
            "created": created,
            "currency": currency,
            "custom_fields": None,
            "customer": self.cid("customers", customer),
            "customer_address": prof["address"],
            "customer_email": prof["email"],
            "customer_name": prof["name"],
            "customer_phone": prof["phone"],
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": d.pick([None, None, "Thanks for your business!"]),
            "discount": None,
            "discounts": [],
            "due_date": due,
            "effective_at": created if finalized else None,
            "ending_balance": 0 if finalized else None,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_{self.acct}/test_{obj_id[3:]}"
            if finalized else None,
            "invoice_pdf": f"https://pay.stripe.com/invoice/acct_{self.acct}/test_{obj_id[3:]}/pdf"
            if finalized else None,
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {"object": "list", "data": [line], "has_more": False,
                      "url": f"/v1/invoices/{obj_id}/lines"},
            "livemode": False,
            "metadata": metadata,
            "next_payment_attempt": None,
            "number": number,
            "on_behalf_of": None,
            "paid": paid,
            "paid_out_of_band": oob,
            "payment_intent": intent,
            "payment_settings": {"default_mandate": None, "payment_method_options": None,
                                 "payment_method_types": None},
            "period_end": created,
            "period_start": created,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "quote": None,
            "receipt_number": None,
            "rendering_options": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": status,
            "status_transitions": {
                "finalized_at": created if finalized else None,
                "marked_uncollectible_at": created + _DAY if status == "uncollectible" else None,
                "paid_at": created if paid else None,
                "voided_at": created + _DAY if status == "void" else None,
            },
            "subscription": None,
            "subscription_details": {"metadata": None},
            "subtotal": amount,
            "subtotal_excluding_tax": amount,
            "tax": None,
            "test_clock": None,
            "total": amount,
            "total_discount_amounts": [],
            "total_excluding_tax": amount,
            "total_tax_amounts": [],
            "transfer_data": None,
            "webhooks_delivered_at": created if finalized else None,
        }

    def _catalog(self) -> list[dict[str, Any]]:
        d = Dice(self._salts["catalog"])
        created = self.now - 3 * _YEAR
        out = []
        for name, amount, interval in _PLANS:
            out.append({
                "id": "price_1" + d.token(23),
                "object": "price",
                "active": True,
                "billing_scheme": "per_unit",
                "created": created,
                "currency": "usd",
                "custom_unit_amount": None,
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": name,
                "product": "prod_" + d.token(14),
                "recurring": None if interval is None else {
                    "aggregate_usage": None, "interval": interval, "interval_count": 1,
                    "usage_type": "licensed"},
                "tax_behavior": "unspecified",
                "tiers_mode": None,
                "transform_quantity": None,
                "type": "one_time" if interval is None else "recurring",
                "unit_amount": amount,
                "unit_amount_decimal": str(amount),
            })
        return out

    def _subscriptions(self, k: int) -> dict[str, Any]:
        d = Dice(self._salts["sub"] + k)
        created = self.series("sub")[k]
        customer = self._customer_before(created, d)
        obj_id = self.cid("subscriptions", k)
        price = d.pick([pl for pl in self.catalog if pl["recurring"] is not None])
        interval = (30 if price["recurring"]["interval"] == "month" else 365) * _DAY
        status = d.weighted(_SUB_STATUSES)
        now = self.now
        trial_start = trial_end = None
        if status == "trialing":
            if created < now - 14 * _DAY:
                status = "active"
            else:
                trial_start, trial_end = created, created + 14 * _DAY
        if status == "incomplete" and created < now - _DAY:
            status = "incomplete_expired"
        anchor = trial_end or created
        ended_at = None
        if status in ("canceled", "incomplete_expired"):
            ended_at = min(now - 60, created + d.between(1, 24) * interval
                           if status == "canceled" else created + _DAY)
            ended_at = max(ended_at, created + 60)
        until = ended_at or now
        periods = max(0, (until - anchor) // interval)
        period_start = anchor + periods * interval if until >= anchor else created
        cancel_at_period_end = status == "active" and d.chance(0.06)
        return {
            "id": obj_id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False},
            "billing_cycle_anchor": anchor,
            "billing_thresholds": None,
            "cancel_at": period_start + interval if cancel_at_period_end else None,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": ended_at if status == "canceled" else None,
            "cancellation_details": {
                "comment": None,
                "feedback": d.pick([None, "too_expensive", "switched_service", "unused"])
                if status == "canceled" else None,
                "reason": "cancellation_requested" if status == "canceled" else None,
            },
            "collection_method": "charge_automatically",
            "created": created,
            "currency": price["currency"],
            "current_period_end": period_start + interval,
            "current_period_start": period_start,
            "customer": self.cid("customers", customer),
            "days_until_due": None,
            "default_payment_method": "pm_1" + d.token(23) if d.chance(0.7) else None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discount": None,
            "ended_at": ended_at,
            "items": {
                "object": "list",
                "data": [{
                    "id": "si_" + d.token(14),
                    "object": "subscription_item",
                    "billing_thresholds": None,
                    "created": created,
                    "metadata": {},
                    "price": price,
                    "quantity": d.between(1, 5) if price["nickname"] == "Extra seats" else 1,
                    "subscription": obj_id,
                    "tax_rates": [],
                }],
                "has_more": False,
                "url": f"/v1/subscription_items?subscription={obj_id}",
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": {"plan_tier": price["nickname"].split()[0].lower()}
            if d.chance(0.4) else {},
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": {"behavior": "void", "resumes_at": None}
            if status == "paused" else None,
            "payment_settings": {"payment_method_options": None, "payment_method_types": None,
                                 "save_default_payment_method": "off"},
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": created,
            "status": status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": trial_start,
        }

    def _refunds(self, r: int) -> dict[str, Any]:
        d = Dice(self._salts["ref"] + r)
        created = self.series("ref")[r]
        j = min(self.older_index("pay", created), self.n - 1)
        p = self.payment(j)
        for _ in range(12):  # refund a charge that succeeded
            if p.status == "succeeded" or j >= self.n - 1:
                break
            j += 1
            p = self.payment(j)
        amount = p.amount if d.chance(0.6) else d.between(1, max(1, p.amount - 1))
        status = d.weighted(_REFUND_STATUSES)
        return self.refund_object(
            obj_id=self.cid("refunds", r), amount=amount, currency=p.currency, created=created,
            charge=self.cid("charges", j), payment_intent=self.cid("payment_intents", j),
            balance_transaction=None if status == "pending" else "txn_3" + d.token(23),
            reason=d.pick([None, None, "requested_by_customer", "duplicate", "fraudulent"]),
            metadata={"ticket": f"SUP-{d.between(1000, 9999)}"} if d.chance(0.3) else {},
            status=status,
        )

    def refund_object(self, *, obj_id: str, amount: int, currency: str, created: int,
                      charge: str | None, payment_intent: str | None,
                      balance_transaction: str | None, reason: str | None,
                      metadata: dict[str, str], status: str = "succeeded") -> dict[str, Any]:
        obj = {
            "id": obj_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": balance_transaction,
            "charge": charge,
            "created": created,
            "currency": currency,
            "metadata": metadata,
            "payment_intent": payment_intent,
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": status,
            "transfer_reversal": None,
        }
        if status == "failed":
            obj["failure_balance_transaction"] = "txn_3" + obj_id[4:]
            obj["failure_reason"] = "expired_or_canceled_card"
        return obj

    def _events(self, e: int) -> dict[str, Any]:
        d = Dice(self._salts["evt"] + e)
        created = self.series("evt")[e]
        kind = d.weighted(_EVENT_KINDS)
        series = _ID_SHAPES[kind][1]
        j = min(self.older_index(series, created) + d.below(3), self.n - 1)
        obj = self.build(kind, j)
        with_request = kind in ("customers", "payment_intents") or d.chance(0.3)
        request = {"id": new_request_id_for(d) if with_request else None,
                   "idempotency_key": _uuid(d) if with_request and d.chance(0.7) else None}
        return event_object(obj_id=self.cid("events", e), created=created,
                            event_type=event_type(obj), data_object=obj, request=request,
                            pending_webhooks=1 if d.chance(0.08) else 0)


_ID_SHAPES = {  # kind -> (id prefix, series the index lives in)
    "charges": ("ch_3", "pay"),
    "payment_intents": ("pi_3", "pay"),
    "balance_transactions": ("txn_3", "pay"),
    "txn": ("txn_3", "pay"),
    "invoices": ("in_1", "pay"),
    "customers": ("cus_", "cus"),
    "subscriptions": ("sub_1", "sub"),
    "refunds": ("re_3", "ref"),
    "events": ("evt_3", "evt"),
}


def _billing_address(profile: dict[str, Any] | None) -> dict[str, Any]:
    addr = profile["address"] if profile else None
    if addr is None:
        return {"city": None, "country": None, "line1": None, "line2": None,
                "postal_code": None, "state": None}
    return {"city": None, "country": addr["country"], "line1": None, "line2": None,
            "postal_code": addr["postal_code"], "state": None}


def _product_name(price: dict[str, Any]) -> str:
    return str(price.get("nickname") or "Item")


def _uuid(d: Dice) -> str:
    h = f"{d.next():016x}{d.next():016x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def new_request_id_for(d: Dice) -> str:
    return "req_" + d.token(14)


def event_type(obj: dict[str, Any]) -> str:
    kind = obj["object"]
    status = obj.get("status")
    if kind == "charge":
        return f"charge.{status}"
    if kind == "payment_intent":
        return {"succeeded": "payment_intent.succeeded", "processing": "payment_intent.processing",
                "requires_payment_method": "payment_intent.payment_failed"
                if obj.get("last_payment_error") else "payment_intent.created",
                }.get(str(status), "payment_intent.created")
    if kind == "invoice":
        return {"paid": "invoice.paid", "open": "invoice.finalized", "draft": "invoice.created",
                "void": "invoice.voided", "uncollectible": "invoice.marked_uncollectible"
                }[str(status)]
    if kind == "subscription":
        if status in ("canceled", "incomplete_expired"):
            return "customer.subscription.deleted"
        return "customer.subscription.created"
    return f"{kind}.created"


def event_object(*, obj_id: str, created: int, event_type: str, data_object: dict[str, Any],
                 request: dict[str, Any], pending_webhooks: int = 0) -> dict[str, Any]:
    return {
        "id": obj_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": request,
        "type": event_type,
    }


def _card_error_payload(decline: tuple[str, str, str], charge: str | None,
                        payment_method: dict[str, Any]) -> dict[str, Any]:
    code, decline_code, message = decline
    out: dict[str, Any] = {"charge": charge, "code": code}
    if code == "card_declined":
        out["decline_code"] = decline_code
    out["doc_url"] = _DOCS + code.replace("_", "-")
    out["message"] = message
    out["payment_method"] = payment_method
    out["type"] = "card_error"
    if charge is None:
        del out["charge"]
    return out


# -- resources: what each list accepts ----------------------------------------------------------


def _id_of(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


class Resource:
    """One list resource: its object name, the query parameters the spec declares, filters."""

    def __init__(self, name: str, obj: str, *, filters: tuple[str, ...] = (),
                 ranges: tuple[str, ...] = (), retrieve_params: tuple[str, ...] = ("expand",),
                 create: tuple[str, ...] = ()) -> None:
        self.name = name
        self.object = obj
        self.label = obj.replace("_", " ") if obj == "balance_transaction" else obj
        self.filters = filters  # equality filters on facts of the same name
        self.ranges = ranges  # created-like range filters besides created
        self.list_params = frozenset(
            {"created", "ending_before", "expand", "limit", "starting_after", *filters, *ranges})
        self.retrieve_params = frozenset(retrieve_params)
        self.create_params = frozenset(create)
        self.facts_keys = tuple(f for f in (*filters, *ranges) if "[" not in f)

    def facts(self, obj: dict[str, Any]) -> dict[str, Any]:
        out = {k: _id_of(obj.get(k)) for k in self.facts_keys}
        if self.name == "subscriptions":
            out["price"] = [it["price"]["id"] for it in obj["items"]["data"]]
            out["automatic_tax"] = obj["automatic_tax"]["enabled"]
        elif self.name == "events":
            out["delivery_success"] = obj["pending_webhooks"] == 0
            out["types"] = obj["type"]
        elif self.name == "balance_transactions":
            out["payout"] = None  # payouts are not emulated: nothing was paid out by one
        return out


RESOURCES: dict[str, Resource] = {r.name: r for r in [
    Resource("charges", "charge", filters=("customer", "payment_intent", "transfer_group")),
    Resource("customers", "customer", filters=("email", "test_clock"), create=(
        "address", "balance", "cash_balance", "coupon", "description", "email", "expand",
        "invoice_prefix", "invoice_settings", "metadata", "name", "next_invoice_sequence",
        "payment_method", "phone", "preferred_locales", "promotion_code", "shipping", "source",
        "tax", "tax_exempt", "tax_id_data", "test_clock")),
    Resource("invoices", "invoice",
             filters=("collection_method", "customer", "status", "subscription"),
             ranges=("due_date",)),
    Resource("payment_intents", "payment_intent", filters=("customer",),
             retrieve_params=("client_secret", "expand"), create=(
                 "amount", "application_fee_amount", "automatic_payment_methods",
                 "capture_method", "confirm", "confirmation_method", "currency", "customer",
                 "description", "error_on_requires_action", "expand", "mandate", "mandate_data",
                 "metadata", "off_session", "on_behalf_of", "payment_method",
                 "payment_method_data", "payment_method_options", "payment_method_types",
                 "radar_options", "receipt_email", "return_url", "setup_future_usage",
                 "shipping", "statement_descriptor", "statement_descriptor_suffix",
                 "transfer_data", "transfer_group", "use_stripe_sdk")),
    Resource("subscriptions", "subscription",
             filters=("automatic_tax", "collection_method", "customer", "price", "status",
                      "test_clock"),
             ranges=("current_period_end", "current_period_start")),
    Resource("refunds", "refund", filters=("charge", "payment_intent"), create=(
        "amount", "charge", "currency", "customer", "expand", "instructions_email", "metadata",
        "origin", "payment_intent", "reason", "refund_application_fee", "reverse_transfer")),
    Resource("balance_transactions", "balance_transaction",
             filters=("currency", "payout", "source", "type")),
    Resource("events", "event", filters=("delivery_success", "type", "types")),
]}

# The path parameter of each resource's retrieve operation, as Stripe's description names it.
_RETRIEVE_PARAM = {"payment_intents": "intent", "subscriptions": "subscription_exposed_id",
                   "balance_transactions": "id", "events": "id"}
#: The operations of Stripe's description the emulator serves: integkit/sandbox/specs/stripe.json
#: is their request side (tools/trim_spec.py).
SPEC_OPERATIONS: tuple[tuple[str, str], ...] = tuple(
    op for name, res in RESOURCES.items() for op in (
        ("get", f"/v1/{name}"),
        ("get", f"/v1/{name}/{{{_RETRIEVE_PARAM.get(name, res.object)}}}"),
        *((("post", f"/v1/{name}"),) if res.create_params else ())))

_SPEC = SpecValidator("stripe")

# Fields holding another object's id that ?expand= may replace by the object (from the spec).
EXPANDABLE: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "charge": ["application", "application_fee", "balance_transaction", "customer",
               "failure_balance_transaction", "invoice", "on_behalf_of", "payment_intent",
               "review", "source_transfer", "transfer"],
    "customer": ["default_source", "test_clock"],
    "invoice": ["application", "charge", "customer", "default_payment_method",
                "default_source", "latest_revision", "on_behalf_of", "payment_intent", "quote",
                "subscription", "test_clock"],
    "payment_intent": ["application", "customer", "invoice", "latest_charge", "on_behalf_of",
                       "payment_method", "review"],
    "subscription": ["application", "customer", "default_payment_method", "default_source",
                     "latest_invoice", "on_behalf_of", "pending_setup_intent", "schedule",
                     "test_clock"],
    "refund": ["balance_transaction", "charge", "failure_balance_transaction",
               "payment_intent", "source_transfer_reversal", "transfer_reversal"],
    "balance_transaction": ["source"],
    "payment_method": ["customer"],
    "event": [],
}.items()}

_PREFIX_TABLE = [("ch_", "charges"), ("cus_", "customers"), ("in_", "invoices"),
                 ("pi_", "payment_intents"), ("sub_", "subscriptions"), ("re_", "refunds"),
                 ("txn_", "balance_transactions"), ("evt_", "events")]

_ROUTE = re.compile(r"^/v1/([a-z_]+)(?:/([^/]+))?/?$")


# -- the emulator -------------------------------------------------------------------------------


class StripeEmulator(Emulator):
    """The Stripe emulator: an ASGI app plus in-memory state.

    >>> emu = StripeEmulator(records=100, seed=1)      # doctest: +SKIP
    >>> emu.table("charges").ids[0]                     # doctest: +SKIP
    'ch_3...'
    """

    service = "stripe"
    key_prefix = "sk_test_sandbox_"

    def __init__(self, *, records: int = 1000, seed: int = 0,
                 rate_limit: tuple[float, int] | None = None, latency: float = 0.0,
                 api_key: str | None = None, now: Moment = None) -> None:
        super().__init__(api_key=api_key, rate_limit=rate_limit, latency=latency, now=now)
        self.records = records
        self.seed = seed
        self.world = StripeWorld(records, seed, self.world_clock.midnight())
        self._tables: dict[str, Table] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str], _Saved] = {}

    # -- data ------------------------------------------------------------------------------
    def table(self, name: str) -> Table:
        """One resource's records (built on first use; ``warm()`` builds them all)."""
        table = self._tables.get(name)
        if table is None:
            world = self.world
            table = Table(name, world.ids(name), world.created(name),
                          functools.partial(world.build, name), RESOURCES[name].facts)
            self._tables[name] = table
        return table

    def warm(self, prebuild: Iterable[str] = ("charges",)) -> StripeEmulator:
        """Build every resource's ids, times and id index now rather than on first request,
        and the JSON of every object of the ``prebuild`` resources (charges by default, what
        benchmarks page through: their first pass is then as fast as the next ones).
        """
        for name in RESOURCES:
            self.table(name)
        for name in prebuild:
            if name not in RESOURCES:
                raise ConfigError(f"cannot prebuild {name!r}; resources: {', '.join(RESOURCES)}")
            self.table(name).prebuild()
        return self

    def lookup(self, obj_id: str) -> dict[str, Any] | None:
        """Any object the emulator holds, by id (for expansion)."""
        if obj_id.startswith("pm_"):
            return self._payment_method(obj_id)
        for prefix, name in _PREFIX_TABLE:
            if obj_id.startswith(prefix):
                return self.table(name).get(obj_id)
        return None

    def _payment_method(self, pm_id: str) -> dict[str, Any] | None:
        if pm_id in self.payment_methods:
            return self.payment_methods[pm_id]
        i = self.table("charges").index.get("ch_3" + pm_id[4:])
        if i is None or not pm_id.startswith("pm_1"):
            return None
        w = self.world
        p = w.payment(i)
        prof = None if p.customer is None else w.profile(p.customer)
        customer = None if p.customer is None else w.cid("customers", p.customer)
        return w.payment_method_object(pm_id, p, w.series("pay")[i], customer, prof)

    def now(self) -> int:
        return int(self.world_clock())

    # -- HTTP ------------------------------------------------------------------------------
    def fault_reply(self, status: int) -> tuple[bytes, Headers]:
        if status == 429:
            err = StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
        else:
            err = StripeError(status, "An unknown error occurred", type="api_error")
        headers = [(b"content-type", b"application/json"),
                   (b"request-id", new_request_id().encode()),
                   (b"stripe-version", API_VERSION.encode())]
        return orjson.dumps(err.payload()), headers

    def handle(self, request: Request) -> Reply:
        request_id = new_request_id()
        version = request.headers.get("stripe-version") or API_VERSION
        idem_key = request.headers.get("idempotency-key") if request.method == "POST" else None
        try:
            api_key = self._authenticate(request)
            if not self.allow(api_key):
                raise StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
            if idem_key is not None:
                reply = self._idempotent(request, api_key, idem_key, request_id)
            else:
                reply = self._route(request)
        except StripeError as err:
            reply = Reply(err.status, orjson.dumps(err.payload()))
        reply.headers = [
            (b"request-id", request_id.encode()),
            (b"stripe-version", version.encode("latin-1")),
            (b"cache-control", b"no-cache, no-store"),
            (b"access-control-allow-origin", b"*"),
            *reply.headers,
        ]
        if idem_key is not None:
            reply.headers.append((b"idempotency-key", idem_key.encode("latin-1")))
            reply.log_key = idem_key
        return reply

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("authorization", "").strip()
        scheme, _, value = header.partition(" ")
        value = value.strip()
        key = ""
        if scheme.lower() == "bearer":
            key = value
        elif scheme.lower() == "basic":
            try:
                key = b64decode(value, validate=True).decode("latin-1").partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise StripeError(401, _NO_KEY)
        if key not in self.api_keys:
            masked = key[:8] + "*" * 4 + key[-4:] if len(key) > 12 else key[:3] + "*" * 4
            if key.startswith("sk_test_"):
                masked = "sk_test_" + "*" * 4 + key[-4:]
            raise StripeError(401, f"Invalid API Key provided: {masked}")
        request.api_key = key
        return key

    def _idempotent(self, request: Request, api_key: str, key: str, request_id: str) -> Reply:
        if len(key) > 255:
            raise StripeError(400, "Idempotency-Key must be at most 255 characters long.",
                              type="idempotency_error")
        endpoint = f"{request.method} {request.path}"
        try:
            fingerprint = orjson.dumps(self._params(request), option=orjson.OPT_SORT_KEYS)
        except ParamError:
            fingerprint = request.body
        saved = self.idempotency.get((api_key, key))
        if saved is not None:
            if saved.endpoint != endpoint:
                raise StripeError(400, (
                    "Keys for idempotent requests can only be used for the same endpoint they "
                    f"were first used for ('{saved.endpoint}' vs '{endpoint}'). Try using a "
                    f"key other than '{key}' if you meant to execute a different request."),
                    type="idempotency_error")
            if saved.fingerprint != fingerprint:
                raise StripeError(400, (
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you "
                    "meant to execute a different request."), type="idempotency_error")
            return Reply(saved.status, saved.body, [
                *saved.headers, (b"idempotent-replayed", b"true"),
                (b"original-request", saved.request_id.encode())])
        try:
            reply = self._route(request)
        except StripeError as err:
            reply = Reply(err.status, orjson.dumps(err.payload()))
            if not err.store:  # validation failed before anything ran: nothing to replay
                return reply
        self.idempotency[(api_key, key)] = _Saved(
            endpoint, fingerprint, reply.status, reply.body, list(reply.headers), request_id)
        return reply

    def _params(self, request: Request) -> dict[str, Any]:
        params = parse_params(request.query)
        if request.method == "POST" and request.body:
            params.update(parse_params(request.body.decode("utf-8", "replace")))
        return params

    def _route(self, request: Request) -> Reply:
        match = _ROUTE.match(request.path)
        method = request.method
        name = match.group(1) if match else ""
        resource = RESOURCES.get(name)
        obj_id = match.group(2) if match else None
        if resource is None or method not in ("GET", "POST") or (
                method == "POST" and (obj_id is not None or not resource.create_params)):
            raise StripeError(404, (
                f"Unrecognized request URL ({method}: {request.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/."))
        problems = _SPEC.problems(method, request.path, request.query, request.headers,
                                  request.body if method == "POST" else b"")
        for problem in problems:
            if problem.kind == "unsupported":
                raise StripeError(400, (
                    f"Invalid request: unsupported Content-Type {problem.value}. If error "
                    "persists and you need assistance, please contact support@stripe.com."))
        try:
            params = self._params(request)
        except ParamError as exc:
            raise StripeError(400, str(exc), param=exc.param) from None
        accepted = resource.create_params if method == "POST" else \
            resource.list_params if obj_id is None else resource.retrieve_params
        for name in params:  # Stripe names an unknown parameter before a wrong one
            if name not in accepted:
                raise _unknown(name)
        if problems:
            raise _refusal(problems[0])
        if method == "GET" and obj_id is None:
            return Reply(200, self._list(resource, params))
        if method == "GET":
            assert obj_id is not None
            return Reply(200, self._retrieve(resource, obj_id, params))
        return Reply(200, self._create(resource, params))

    # -- GET ---------------------------------------------------------------------------------
    def _list(self, res: Resource, params: dict[str, Any]) -> bytes:
        limit = _int_param(params, "limit", 10, lo=1, hi=100)
        expand = _expand_param(params)
        for path in expand:
            head = path.split(".", 1)
            if head[0] != "data" or len(head) == 1:
                raise StripeError(400, f"This property cannot be expanded ({path}).")
        after_id = params.get("starting_after")
        before_id = params.get("ending_before")
        table = self.table(res.name)
        if after_id is not None and before_id is not None:
            raise StripeError(400, "You may only specify one of these parameters: "
                                   "ending_before, starting_after.")
        after = self._cursor(table, res, after_id, "starting_after")
        before = self._cursor(table, res, before_id, "ending_before")
        created = _range_param(params, "created")
        where, where_key = self._filters(res, params)
        positions, has_more = table.select(limit=limit, where=where, where_key=where_key,
                                           created=created, after=after, before=before)
        if expand:
            sub = [p.split(".", 1)[1] for p in expand]
            items = [orjson.dumps(self._expand(table.object_at(p), sub)) for p in positions]
        else:
            items = [table.json_at(p) for p in positions]
        return b"".join((b'{"object":"list","data":[', b",".join(items), b'],"has_more":',
                         b"true" if has_more else b"false", b',"url":"/v1/',
                         res.name.encode(), b'"}'))

    def _cursor(self, table: Table, res: Resource, value: Any, param: str) -> int | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise StripeError(400, f"Invalid string: {value!r}", param=param)
        pos = table.position(value)
        if pos is None:
            raise _no_such(res.label, value, param)
        return pos

    def _filters(self, res: Resource, params: dict[str, Any]
                 ) -> tuple[Check | None, Any]:
        checks: list[Check] = []
        key: list[Any] = []
        for name in res.filters:
            if name not in params:
                continue
            value = params[name]
            if name == "automatic_tax":
                if not isinstance(value, dict) or set(value) - {"enabled"}:
                    raise _unknown(f"automatic_tax[{next(iter(value), '')}]"
                                   if isinstance(value, dict) else "automatic_tax")
                checks.append(_fact_is(name, _bool(value.get("enabled", "true"),
                                                   "automatic_tax[enabled]")))
            elif name == "types":
                values = as_list(value)
                if values is None or not all(isinstance(v, str) for v in values):
                    raise StripeError(400, "Invalid array", param="types")
                checks.append(_fact_in(name, frozenset(values)))
                value = tuple(values)
            elif name == "delivery_success":
                checks.append(_fact_is(name, _bool(value, name)))
            elif not isinstance(value, str):
                raise StripeError(400, f"Invalid string: {_describe(value)}", param=name)
            elif name == "type" and res.name == "events" and "*" in value:
                checks.append(_fact_glob(name, value))
            elif name == "price":
                checks.append(_fact_contains(name, value))
            elif name == "status" and res.name == "subscriptions" and value in ("all", "ended"):
                if value == "all":
                    continue
                checks.append(_fact_in(name, frozenset({"canceled", "incomplete_expired"})))
            else:
                checks.append(_fact_is(name, value))
            key.append((name, value if isinstance(value, str | tuple) else repr(value)))
        if res.name == "subscriptions" and "status" not in params:
            # Stripe's default: every subscription that is not canceled
            checks.append(_fact_in("status", frozenset(_SUB_STATUSES.values) - {"canceled"}))
            key.append(("status", "!canceled"))
        for name in res.ranges:
            bounds = _range_param(params, name)
            if bounds:
                checks.append(_fact_range(name, bounds))
                key.append((name, tuple(sorted(bounds.items()))))
        if not checks:
            return None, None

        def where(facts: dict[str, Any]) -> bool:
            return all(check(facts) for check in checks)

        return where, tuple(key)

    def _retrieve(self, res: Resource, obj_id: str, params: dict[str, Any]) -> bytes:
        expand = _expand_param(params)
        table = self.table(res.name)
        pos = table.position(obj_id)
        if pos is None:
            raise _no_such(res.label, obj_id, "id", status=404)
        if not expand:
            return table.json_at(pos)
        return orjson.dumps(self._expand(table.object_at(pos), expand))

    def _expand(self, obj: dict[str, Any], paths: list[str], depth: int = 0) -> dict[str, Any]:
        """A copy of ``obj`` with the fields named by dotted ``paths`` replaced by objects."""
        by_field: dict[str, list[str]] = {}
        for path in paths:
            head, _, rest = path.partition(".")
            by_field.setdefault(head, [])
            if rest:
                by_field[head].append(rest)
        out = dict(obj)
        allowed = EXPANDABLE.get(str(obj.get("object")), frozenset())
        for field, deeper in by_field.items():
            if field not in allowed or depth >= _MAX_EXPAND_DEPTH:
                raise StripeError(400, f"This property cannot be expanded ({field}).")
            value = out.get(field)
            if isinstance(value, str):
                found = self.lookup(value)
                if found is not None:
                    value = found
            if isinstance(value, dict) and deeper:
                value = self._expand(value, deeper, depth + 1)
            out[field] = value
        return out

    # -- POST --------------------------------------------------------------------------------
    def _create(self, res: Resource, params: dict[str, Any]) -> bytes:
        expand = _expand_param(params)
        metadata = _metadata_param(params)
        maker = {"customers": self._create_customer,
                 "payment_intents": self._create_payment_intent,
                 "refunds": self._create_refund}[res.name]
        obj = maker(params, metadata)
        return orjson.dumps(self._expand(obj, expand) if expand else obj)

    def _create_customer(self, params: dict[str, Any], metadata: dict[str, str]
                         ) -> dict[str, Any]:
        email = _str_param(params, "email")
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise StripeError(400, f"Invalid email address: {email}", code="email_invalid",
                              param="email")
        address = params.get("address")
        if address is not None:
            address = _address_param(address, "address")
        shipping = params.get("shipping")
        if shipping is not None:
            if not isinstance(shipping, dict):
                raise StripeError(400, "Invalid object", param="shipping")
            if not shipping.get("name"):
                raise _missing("shipping[name]")
            shipping = {"address": _address_param(shipping.get("address", {}),
                                                   "shipping[address]"),
                        "name": shipping["name"], "phone": shipping.get("phone")}
        tax_exempt = _str_param(params, "tax_exempt") or "none"
        if tax_exempt not in ("none", "exempt", "reverse"):
            raise StripeError(400, "Invalid tax_exempt: must be one of exempt, none, or reverse",
                              param="tax_exempt")
        locales = params.get("preferred_locales", [])
        locales = as_list(locales) if locales != "" else []
        if locales is None:
            raise StripeError(400, "Invalid array", param="preferred_locales")
        created = self.now()
        d = Dice(mix64(created ^ len(self.table("customers").added)))
        obj_id = "cus_" + d.token(14)
        prof = {"name": _str_param(params, "name"), "email": email,
                "phone": _str_param(params, "phone"), "address": address,
                "prefix": _str_param(params, "invoice_prefix") or d.token(8).upper()}
        obj = self.world.customer_object(
            obj_id=obj_id, created=created, prof=prof, d=d,
            balance=_int_param(params, "balance", 0), currency=None, delinquent=False,
            description=_str_param(params, "description"), metadata=metadata,
            next_invoice_sequence=_int_param(params, "next_invoice_sequence", 1, lo=1),
            preferred_locales=locales, shipping=shipping, tax_exempt=tax_exempt)
        self.table("customers").add(obj)
        self.objects["customer"] += 1
        self._event(obj, "customer.created")
        return obj

    def _create_payment_intent(self, params: dict[str, Any], metadata: dict[str, str]
                               ) -> dict[str, Any]:
        if "amount" not in params:
            raise _missing("amount")
        amount = _int_param(params, "amount", 0, lo=1)
        currency = _str_param(params, "currency")
        if currency is None:
            raise _missing("currency")
        currency = currency.lower()
        if currency not in SUPPORTED_CURRENCIES:
            raise StripeError(400, (
                f"Invalid currency: {currency}. Stripe currently supports these currencies: "
                + ", ".join(sorted(SUPPORTED_CURRENCIES))), param="currency")
        if currency == "usd" and amount < 50:
            raise StripeError(400, "Amount must be at least $0.50 usd", code="amount_too_small",
                              param="amount")
        customer_id = _str_param(params, "customer")
        customer = None
        if customer_id is not None:
            customer = self.table("customers").get(customer_id)
            if customer is None:
                raise _no_such("customer", customer_id, "customer")
        capture = _str_param(params, "capture_method") or "automatic"
        if capture not in ("automatic", "automatic_async", "manual"):
            raise StripeError(400, "Invalid capture_method: must be one of automatic, "
                                   "automatic_async, or manual", param="capture_method")
        confirm = _bool(params.get("confirm", "false"), "confirm")
        types = params.get("payment_method_types")
        pm_types = as_list(types) if types is not None else None
        if types is not None and (not pm_types or not all(isinstance(t, str) for t in pm_types)):
            raise StripeError(400, "Invalid array", param="payment_method_types")
        auto = params.get("automatic_payment_methods")
        automatic = pm_types is None
        if isinstance(auto, dict):
            automatic = _bool(auto.get("enabled", "false"), "automatic_payment_methods[enabled]")
        sfu = _str_param(params, "setup_future_usage")
        if sfu is not None and sfu not in ("on_session", "off_session"):
            raise StripeError(400, "Invalid setup_future_usage: must be one of on_session or "
                                   "off_session", param="setup_future_usage")
        descriptor = _str_param(params, "statement_descriptor")
        if descriptor is not None and len(descriptor) > 22:
            raise StripeError(400, "Statement descriptors must be at most 22 characters long.",
                              param="statement_descriptor")
        pm_param = _str_param(params, "payment_method")
        card, decline = self._test_card(pm_param)
        if confirm and pm_param is None:
            raise StripeError(400, (
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "You can either update the PaymentIntent with a payment method and then "
                "confirm it again, or confirm it again directly with a payment method."),
                code="payment_intent_unexpected_state")

        created = self.now()
        d = Dice(mix64(created * 7919 + len(self.table("payment_intents").added)))
        body = d.token(7) + self.world.acct + d.token(8)
        prof = self._profile_of(customer)
        p = _Payment(amount=amount, currency=currency, status="succeeded", customer=None,
                     invoiced=False, refunded=0, card=card, country="US", exp=(12, 2034),
                     fingerprint=d.token(16), decline=decline, metadata=metadata,
                     description=_str_param(params, "description"), risk=d.between(0, 60),
                     token=d.token(40))
        pm_id = None
        pm_obj = None
        if pm_param is not None:
            pm_id = pm_param if pm_param in self.payment_methods else "pm_1" + body
            pm_obj = self.payment_methods.get(pm_id) or self.world.payment_method_object(
                pm_id, p, created, customer_id, prof)
            self.payment_methods[pm_id] = pm_obj
        status = "requires_payment_method" if pm_id is None else "requires_confirmation"
        error = None
        latest_charge = None
        pi_id = "pi_3" + body
        if confirm:
            p.status = "failed" if decline else "succeeded"
            if decline:
                status = "requires_payment_method"
            else:
                status = "requires_capture" if capture == "manual" else "succeeded"
            latest_charge = self._charge_for(pi_id, body, p, created, customer_id, prof,
                                             pm_id or "", capture == "manual")
            if decline:
                assert pm_obj is not None
                error = _card_error_payload(decline, latest_charge, pm_obj)
        receipt_email = _str_param(params, "receipt_email")
        obj = self.world.payment_intent_object(
            obj_id=pi_id, p=p, created=created, customer=customer_id, profile=prof,
            latest_charge=latest_charge, invoice=None,
            payment_method=None if error else pm_id, error=error, status=status,
            automatic=automatic, capture_method=capture, payment_method_types=pm_types,
            receipt_email=receipt_email, setup_future_usage=sfu,
            statement_descriptor=descriptor)
        self.table("payment_intents").add(obj)
        self.objects["payment_intent"] += 1
        self._event(obj, "payment_intent.created")
        if confirm:
            self._event(obj, event_type(obj))
        if error is not None:
            payload = dict(error, payment_intent=obj)
            raise StripeError(402, payload.pop("message"), type="card_error",
                              code=payload.pop("code"),
                              extra={k: v for k, v in payload.items()
                                     if k not in ("doc_url", "type")},
                              store=True)
        return obj

    def _test_card(self, pm: str | None
                   ) -> tuple[tuple[str, str, str], tuple[str, str, str] | None]:
        if pm is None:
            return ("visa", "4242", "credit"), None
        if pm in _TEST_DECLINES:
            return ("visa", "0002", "credit"), _TEST_DECLINES[pm]
        if pm in _TEST_CARDS:
            return _TEST_CARDS[pm], None
        known = self.payment_methods.get(pm) or self._payment_method(pm)
        if known is None:
            raise StripeError(400, f"No such PaymentMethod: '{pm}'", code="resource_missing",
                              param="payment_method")
        card = known["card"]
        return (card["brand"], card["last4"], card["funding"]), None

    def _profile_of(self, customer: dict[str, Any] | None) -> dict[str, Any] | None:
        if customer is None:
            return None
        return {"name": customer.get("name"), "email": customer.get("email"),
                "address": customer.get("address")}

    def _charge_for(self, pi_id: str, body: str, p: _Payment, created: int,
                    customer: str | None, prof: dict[str, Any] | None, pm_id: str,
                    manual: bool) -> str:
        ok = p.status == "succeeded"
        txn_id = "txn_3" + body
        charge = self.world.charge_object(
            obj_id="ch_3" + body, p=p, created=created, customer=customer, profile=prof,
            payment_intent=pi_id, invoice=None,
            balance_transaction=txn_id if ok and not manual else None, payment_method=pm_id)
        if manual and ok:
            charge.update(captured=False, amount_captured=0)
        self.table("charges").add(charge)
        self.objects["charge"] += 1
        if ok and not manual:
            fee = 0 if p.currency in _ZERO_DECIMAL else round(p.amount * 0.029) + 30
            self.table("balance_transactions").add(self.world.balance_transaction_object(
                obj_id=txn_id, amount=p.amount, fee=fee, currency=p.currency, created=created,
                source=charge["id"], kind="charge", category="charge",
                description=p.description, pending=True))
            self.objects["balance_transaction"] += 1
        self._event(charge, event_type(charge))
        return str(charge["id"])

    def _create_refund(self, params: dict[str, Any], metadata: dict[str, str]
                       ) -> dict[str, Any]:
        charge_id = _str_param(params, "charge")
        pi_id = _str_param(params, "payment_intent")
        if charge_id is None and pi_id is None:
            raise StripeError(400, "One of the following params should be provided for this "
                                   "request: payment_intent or charge.", code="parameter_missing")
        charges = self.table("charges")
        if charge_id is None:
            intent = self.table("payment_intents").get(str(pi_id))
            if intent is None:
                raise _no_such("payment_intent", str(pi_id), "payment_intent")
            latest = _id_of(intent.get("latest_charge"))
            if intent["status"] != "succeeded" or latest is None:
                raise StripeError(400, (
                    f"This PaymentIntent ({pi_id}) does not have a successful charge to refund."),
                    code="charge_not_refundable", param="payment_intent")
            charge_id = str(latest)
        charge = charges.get(charge_id)
        if charge is None:
            raise _no_such("charge", charge_id, "charge")
        if pi_id is not None and _id_of(charge.get("payment_intent")) != pi_id:
            raise StripeError(400, f"Charge {charge_id} does not belong to PaymentIntent "
                                   f"{pi_id}.", param="payment_intent")
        if charge["status"] != "succeeded" or not charge["captured"]:
            raise StripeError(400, f"Charge {charge_id} has not been captured and cannot be "
                                   "refunded.", code="charge_not_refundable")
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise StripeError(400, f"Charge {charge_id} has already been refunded.",
                              code="charge_already_refunded")
        amount = _int_param(params, "amount", remaining, lo=1)
        if amount > remaining:
            cur = charge["currency"]
            raise StripeError(400, (
                f"Refund amount ({_money(amount, cur)}) is greater than unrefunded amount on "
                f"charge ({_money(remaining, cur)})"), param="amount")
        reason = _str_param(params, "reason")
        if reason is not None and reason not in ("duplicate", "fraudulent",
                                                 "requested_by_customer"):
            raise StripeError(400, "Invalid reason: must be one of duplicate, fraudulent, or "
                                   "requested_by_customer", param="reason")
        created = self.now()
        d = Dice(mix64(created * 104729 + len(self.table("refunds").added)))
        body = d.token(7) + self.world.acct + d.token(8)
        txn_id = "txn_3" + body
        refund = self.world.refund_object(
            obj_id="re_3" + body, amount=amount, currency=charge["currency"], created=created,
            charge=charge_id, payment_intent=_id_of(charge.get("payment_intent")),
            balance_transaction=txn_id, reason=reason, metadata=metadata)
        self.table("refunds").add(refund)
        self.objects["refund"] += 1
        self.table("balance_transactions").add(self.world.balance_transaction_object(
            obj_id=txn_id, amount=-amount, fee=0, currency=charge["currency"], created=created,
            source=refund["id"], kind="refund", category="refund", description=None))
        self.objects["balance_transaction"] += 1
        charge = dict(charge)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charges.update(charge)
        self._event(charge, "charge.refunded")
        return refund

    def _event(self, obj: dict[str, Any], kind: str) -> None:
        table = self.table("events")
        created = int(obj["created"])
        if table.added:
            created = max(created, int(table.added[-1]["created"]))
        d = Dice(mix64(created * 31 + len(table.added)))
        evt = event_object(obj_id="evt_3" + d.token(7) + self.world.acct + d.token(8),
                           created=created, event_type=kind, data_object=dict(obj),
                           request={"id": new_request_id(), "idempotency_key": None})
        table.add(evt)
        self.objects["event"] += 1
        self.webhooks.deliver(kind, orjson.dumps(evt))


class _Saved:
    """A response kept for an idempotency key."""

    __slots__ = ("endpoint", "fingerprint", "status", "body", "headers", "request_id")

    def __init__(self, endpoint: str, fingerprint: bytes, status: int, body: bytes,
                 headers: Headers, request_id: str) -> None:
        self.endpoint = endpoint
        self.fingerprint = fingerprint
        self.status = status
        self.body = body
        self.headers = headers
        self.request_id = request_id


# -- list filters on facts ------------------------------------------------------------------

Check = Callable[[dict[str, Any]], bool]


def _fact_is(name: str, want: Any) -> Check:
    return lambda facts: bool(facts[name] == want)


def _fact_in(name: str, allowed: frozenset[Any]) -> Check:
    return lambda facts: facts[name] in allowed


def _fact_contains(name: str, value: str) -> Check:
    return lambda facts: value in facts[name]


def _fact_glob(name: str, pattern: str) -> Check:
    return lambda facts: glob_match(facts[name], [pattern])


def _fact_range(name: str, bounds: dict[str, int]) -> Check:
    return lambda facts: _in_range(facts[name], bounds)


# -- parameter parsing --------------------------------------------------------------------------


def _int_param(params: dict[str, Any], name: str, default: int, *, lo: int | None = None,
               hi: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str) or not re.fullmatch(r"-?\d+", raw.strip()):
        raise StripeError(400, f"Invalid integer: {raw}", code="parameter_invalid_integer",
                          param=name)
    value = int(raw)
    if lo is not None and value < lo:
        raise StripeError(400, f"This value must be greater than or equal to {lo}.",
                          code="parameter_invalid_integer", param=name)
    if hi is not None and value > hi:
        raise StripeError(400, f"This value must be less than or equal to {hi}.",
                          code="parameter_invalid_integer", param=name)
    return value


def _str_param(params: dict[str, Any], name: str) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise StripeError(400, f"Invalid string: {_describe(raw)}", param=name)
    return raw


def _bool(raw: Any, name: str) -> bool:
    if raw in ("true", True):
        return True
    if raw in ("false", False):
        return False
    raise StripeError(400, f"Invalid boolean: {raw}", param=name)


def _describe(raw: Any) -> str:
    return "{...}" if isinstance(raw, dict) else "[...]" if isinstance(raw, list) else str(raw)


def _expand_param(params: dict[str, Any]) -> list[str]:
    raw = params.get("expand")
    if raw is None:
        return []
    values = as_list(raw) if not isinstance(raw, str) else None
    if values is None or not all(isinstance(v, str) for v in values):
        raise StripeError(400, "Invalid array", param="expand")
    return values


_RANGE_OPS = ("gt", "gte", "lt", "lte")


def _range_param(params: dict[str, Any], name: str) -> dict[str, int] | None:
    raw = params.get(name)
    if raw is None:
        return None
    if isinstance(raw, str):
        return {"eq": _int_param(params, name, 0)}
    if not isinstance(raw, dict):
        raise StripeError(400, "Invalid object", param=name)
    out = {}
    for op, value in raw.items():
        if op not in _RANGE_OPS:
            raise _unknown(f"{name}[{op}]")
        out[op] = _int_param({op: value}, op, 0) if isinstance(value, str) else None
        if out[op] is None:
            raise StripeError(400, f"Invalid integer: {_describe(value)}",
                              code="parameter_invalid_integer", param=f"{name}[{op}]")
    return out  # type: ignore[return-value]


def _in_range(value: Any, bounds: dict[str, int]) -> bool:
    if not isinstance(value, int):
        return False
    for op, b in bounds.items():
        if (op == "eq" and value != b or op == "gt" and value <= b or op == "gte" and value < b
                or op == "lt" and value >= b or op == "lte" and value > b):
            return False
    return True


def _metadata_param(params: dict[str, Any]) -> dict[str, str]:
    raw = params.get("metadata")
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise StripeError(400, "Invalid object", param="metadata")
    out = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise StripeError(400, "Invalid string: {...}", param=f"metadata[{key}]")
        if len(key) > 40:
            raise StripeError(400, "Metadata keys can have up to 40 characters.",
                              param=f"metadata[{key}]")
        if len(value) > 500:
            raise StripeError(400, "Metadata values can have up to 500 characters.",
                              param=f"metadata[{key}]")
        if value != "":  # an empty value unsets the key
            out[key] = value
    if len(out) > 50:
        raise StripeError(400, "You can only specify up to 50 keys in metadata.",
                          param="metadata")
    return out


_ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


def _address_param(raw: Any, param: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise StripeError(400, "Invalid object", param=param)
    for key in raw:
        if key not in _ADDRESS_KEYS:
            raise _unknown(f"{param}[{key}]")
    return {k: raw.get(k) or None for k in _ADDRESS_KEYS}
