#!/usr/bin/env python3
"""Signed tasks, checked by implementations independent of Outpost's: RFC 8785 from
PyPI's `rfc8785` (Trail of Bits) and signatures from `cryptography`.

    signed_task_proof.py verify ENVELOPE_JSON JWKS_JSON
        Verifies an envelope Outpost signed: the payload is exactly rfc8785's
        canonical form of itself, and the signature over DSSE's PAE verifies with the
        key set's key named by keyid. Prints the payload's task_id.

    signed_task_proof.py sign CONTENT_JSON ALGORITHM
        Signs a task as a client written in Python would (ALGORITHM ed25519 or es256):
        prints {"envelope": ..., "jwks": ...} for Outpost's agent to verify.
"""
import base64
import hashlib
import json
import os
import sys
import time

import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

PAYLOAD_TYPE = "application/vnd.outpost.task.v1+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(envelope_text: str, jwks_text: str) -> None:
    envelope = json.loads(envelope_text)
    keys = {k["kid"]: k for k in json.loads(jwks_text)["keys"]}
    assert envelope["payloadType"] == PAYLOAD_TYPE, envelope["payloadType"]
    payload = base64.b64decode(envelope["payload"])
    assert rfc8785.dumps(json.loads(payload)) == payload, "the payload is not RFC 8785 canonical"
    signature = envelope["signatures"][0]
    key = keys[signature["keyid"]]
    sig = base64.b64decode(signature["sig"])
    message = pae(envelope["payloadType"], payload)
    if key["kty"] == "OKP":
        ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(key["x"])).verify(sig, message)
    else:
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64url_decode(key["x"]), "big"), int.from_bytes(b64url_decode(key["y"]), "big"), ec.SECP256R1())
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        numbers.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))
    print(json.loads(payload)["task_id"])


def sign(content_text: str, algorithm: str) -> None:
    content = json.loads(content_text)
    now = int(time.time())
    payload = dict(content)
    payload.update({"not_before": now - 60, "expires": now + 600, "nonce": b64url(os.urandom(16))})
    payload_bytes = rfc8785.dumps(payload)
    message = pae(PAYLOAD_TYPE, payload_bytes)
    if algorithm == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        sig = private.sign(message)
        raw = private.public_key().public_bytes_raw()
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": "python-ed25519", "alg": "EdDSA"}
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        numbers = private.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
               "y": b64url(numbers.y.to_bytes(32, "big")), "kid": "python-es256", "alg": "ES256"}
    envelope = {"payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload_bytes).decode(),
                "signatures": [{"keyid": jwk["kid"], "sig": base64.b64encode(sig).decode()}]}
    print(json.dumps({"envelope": envelope, "jwks": {"keys": [jwk]}}))


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: signed_task_proof.py verify ENVELOPE JWKS | sign CONTENT ALGORITHM")
