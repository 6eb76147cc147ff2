#!/usr/bin/env python3
"""Keys, key sets and signed user tokens for the agent's JWT verifier tests.

An implementation independent of the Swift code under test: only the Python
`cryptography` package signs here, so a bug shared by signer and verifier
cannot hide. Prints one JSON object:

    {"now": N, "jwks": {...}, "rotated_jwks": {...}, "rsa_public_pem": "...",
     "tokens": {"case name": "header.payload.signature", ...}}

Every token is signed at run time with fresh keys; claims are relative to
--now (seconds since the epoch), so the tests verify against that same instant.

    scripts/testing/jwt-fixtures.py --now 1795000000
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://idp.example.com"
AUDIENCE = "outpost-agents"
SUBJECT = "alice@example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint(number: int) -> str:
    return b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


def segment(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def rsa_jwk(key, kid, **extra):
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": uint(numbers.n), "e": uint(numbers.e), **extra}


def ec_jwk(key, kid, **extra):
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC", "crv": "P-256", "kid": kid,
        "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")), **extra,
    }


def sign_rs256(key, signing_input: bytes) -> bytes:
    return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def sign_es256(key, signing_input: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def token(header, claims, signer) -> str:
    signing_input = (segment(header) + "." + segment(claims)).encode()
    return signing_input.decode() + "." + b64url(signer(signing_input))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--now", type=int, required=True)
    now = parser.parse_args().now

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_enc = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_public = ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    rs = lambda data: sign_rs256(rsa_key, data)
    es = lambda data: sign_es256(ec_key, data)

    jwks = {"keys": [
        rsa_jwk(rsa_key, "rsa-1", alg="RS256", use="sig"),
        ec_jwk(ec_key, "ec-1", use="sig"),
        # The same RSA key announced for another algorithm only.
        rsa_jwk(rsa_key, "rsa-ps", alg="PS256"),
        # Encryption keys are never used to verify.
        rsa_jwk(rsa_enc, "rsa-enc", use="enc"),
        # Types the verifier does not handle are skipped, not fatal.
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": b64url(ed_public)},
        {"kty": "oct", "kid": "hmac-1", "k": b64url(b"a shared secret")},
        {"kty": "EC", "crv": "P-384", "kid": "ec-384", "x": b64url(b"\x01" * 48), "y": b64url(b"\x02" * 48)},
    ]}
    rotated_jwks = {"keys": jwks["keys"] + [rsa_jwk(rsa_rotated, "rsa-2", alg="RS256")]}

    claims = {"sub": SUBJECT, "iss": ISSUER, "aud": AUDIENCE, "iat": now - 60, "nbf": now - 60, "exp": now + 600}

    def with_claims(**changes):
        changed = dict(claims)
        for name, value in changes.items():
            if value is None:
                changed.pop(name, None)
            else:
                changed[name] = value
        return changed

    rsa_header = {"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}
    ec_header = {"alg": "ES256", "typ": "JWT", "kid": "ec-1"}
    rsa_public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    valid_rs256 = token(rsa_header, claims, rs)
    tampered_head, _, tampered_signature = valid_rs256.split(".")
    tampered = tampered_head + "." + segment(with_claims(sub="mallory@example.com")) + "." + tampered_signature

    signing_input_ec = (segment(ec_header) + "." + segment(claims)).encode()
    der_signature = ec_key.sign(signing_input_ec, ec.ECDSA(hashes.SHA256()))

    tokens = {
        "valid RS256": valid_rs256,
        "valid ES256": token(ec_header, claims, es),
        "valid RS256, audience array": token(rsa_header, with_claims(aud=["other-service", AUDIENCE]), rs),
        "valid RS256, no typ": token({"alg": "RS256", "kid": "rsa-1"}, claims, rs),
        "valid RS256, fractional dates": token(rsa_header, with_claims(exp=now + 600.5, nbf=now - 0.25), rs),
        "expired": token(rsa_header, with_claims(exp=now - 120), rs),
        "expired within leeway": token(rsa_header, with_claims(exp=now - 10), rs),
        "not yet valid": token(rsa_header, with_claims(nbf=now + 300), rs),
        "not yet valid within leeway": token(ec_header, with_claims(nbf=now + 10), es),
        "no exp": token(rsa_header, with_claims(exp=None), rs),
        "exp as string": token(rsa_header, with_claims(exp=str(now + 600)), rs),
        "no sub": token(rsa_header, with_claims(sub=None), rs),
        "unknown kid": token(dict(rsa_header, kid="k9"), claims, rs),
        "rotated kid": token(dict(rsa_header, kid="rsa-2"), claims, lambda data: sign_rs256(rsa_rotated, data)),
        "encryption key kid": token(dict(rsa_header, kid="rsa-enc"), claims, lambda data: sign_rs256(rsa_enc, data)),
        "Ed25519 kid": token({"alg": "EdDSA", "kid": "ed-1"}, claims, ed_key.sign),
        "no kid": token({"alg": "RS256", "typ": "JWT"}, claims, rs),
        "empty kid": token(dict(rsa_header, kid=""), claims, rs),
        "alg none": segment({"alg": "none", "typ": "JWT", "kid": "rsa-1"}) + "." + segment(claims) + ".",
        "alg None with signature": token({"alg": "None", "kid": "rsa-1"}, claims, rs),
        "HS256 with the RSA public key": token(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims,
            lambda data: hmac.new(rsa_public_pem, data, hashlib.sha256).digest()),
        "HS256 with the oct key": token(
            {"alg": "HS256", "kid": "hmac-1"}, claims,
            lambda data: hmac.new(b"a shared secret", data, hashlib.sha256).digest()),
        "RS512": token({"alg": "RS512", "kid": "rsa-1"}, claims,
                       lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA512())),
        "RS256 header with EC kid": token(dict(rsa_header, kid="ec-1"), claims, rs),
        "ES256 header with RSA kid": token(dict(ec_header, kid="rsa-1"), claims, es),
        "RS256 with key announced for PS256": token(dict(rsa_header, kid="rsa-ps"), claims, rs),
        "wrong aud": token(rsa_header, with_claims(aud="someone-else"), rs),
        "wrong aud array": token(rsa_header, with_claims(aud=["a", "b"]), rs),
        "no aud": token(rsa_header, with_claims(aud=None), rs),
        "wrong iss": token(rsa_header, with_claims(iss="https://evil.example.com"), rs),
        "tampered payload": tampered,
        "ES256 DER signature": signing_input_ec.decode() + "." + b64url(der_signature),
        "RS256 signed by another key": token(rsa_header, claims, lambda data: sign_rs256(rsa_rotated, data)),
        # Keys a token brings along (jwk, jku, x5u) are never trusted: rsa-1 decides.
        "embedded jwk and jku": token(
            dict(rsa_header, jwk=rsa_jwk(rsa_rotated, "rsa-1"), jku="https://evil.example.com/jwks.json",
                 x5u="https://evil.example.com/cert.pem"),
            claims, lambda data: sign_rs256(rsa_rotated, data)),
        "header not JSON": b64url(b"not json") + "." + segment(claims) + "." + b64url(b"sig"),
        "header with crit": token(dict(rsa_header, crit=["exp"]), claims, rs),
    }
    json.dump({
        "now": now, "jwks": jwks, "rotated_jwks": rotated_jwks,
        "rsa_public_pem": rsa_public_pem.decode(), "issuer": ISSUER, "audience": AUDIENCE, "subject": SUBJECT,
        "tokens": tokens,
    }, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
