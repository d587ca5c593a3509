"""Webhook tests: signatures per service (published vectors where the service or its official
library publishes one, else computed here with hmac directly), the router, and real HTTP."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def p256_keys() -> tuple[str, str]:
    """A fresh (private PEM, public base64 DER as SendGrid shows it) pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()
