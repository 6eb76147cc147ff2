#!/usr/bin/env python3
"""HashiCorp Vault's official Python client, hvac, against FakeVault.

    vault_proof.py SPEC.json

SPEC names the fake's URL and CA, the credentials of each auth method to try, and the
KV secrets to read. For each method the proof logs in with a fresh hvac client, reads
the KV v2 and KV v1 secrets, lists their folders, renews its token with renew-self
(when the login gave a renewable one) and reads again. It prints one JSON object:

    {"token": {"kv2": {...}, "kv1": {...}, "kv2_list": [...], "kv1_list": [...],
               "renewed_lease": 3600, "after_renewal": {...}}, "approle": {...}, ...}

and exits 0 only when every step of every method succeeded; any hvac error ends it
with a traceback on stderr. The Swift test compares what it printed with what it stored.

Methods (keys of SPEC["methods"], each optional):
  token       {"token"}
  approle     {"role_id", "secret_id", "mount"}
  kubernetes  {"role", "jwt", "mount"}
  jwt         {"role", "jwt", "mount"}
  aws         {"role", "access_key", "secret_key", "session_token", "region", "server_id", "mount"}
              (hvac signs GetCallerIdentity for https://sts.amazonaws.com; the fake sends it to
              moto, which checks the signature)
  cert        {"name", "cert", "key", "mount"}  (client certificate on the TLS connection)

SPEC["must_fail"] (optional) maps a method to credentials that must NOT log in, and a text
the error must contain: {"aws": {"creds": {...}, "error": "SignatureDoesNotMatch"}} shows
that the fake really had STS check hvac's signature. Their outcome is printed under
"refused": {"aws": "<hvac's error>"}.
"""
import json
import sys

import hvac


def client(spec, **kwargs):
    return hvac.Client(url=spec["url"], verify=spec.get("ca") or True, timeout=30, **kwargs)


def login(spec, method, creds):
    """A client holding the token `method` logged in with."""
    c = client(spec)
    if method == "token":
        c.token = creds["token"]
    elif method == "approle":
        c.auth.approle.login(role_id=creds["role_id"], secret_id=creds["secret_id"],
                             mount_point=creds.get("mount", "approle"), use_token=True)
    elif method == "kubernetes":
        c.auth.kubernetes.login(role=creds["role"], jwt=creds["jwt"],
                                mount_point=creds.get("mount", "kubernetes"), use_token=True)
    elif method == "jwt":
        c.auth.jwt.jwt_login(role=creds["role"], jwt=creds["jwt"], path=creds.get("mount", "jwt"), use_token=True)
    elif method == "aws":
        c.auth.aws.iam_login(creds["access_key"], creds["secret_key"], creds.get("session_token"),
                             header_value=creds.get("server_id"), role=creds["role"], use_token=True,
                             region=creds.get("region", "us-east-1"), mount_point=creds.get("mount", "aws"))
    elif method == "cert":
        # cacert left out: hvac then verifies Vault with the client's own `verify` (the CA file).
        c.auth.cert.login(name=creds.get("name", ""), cert_pem=creds["cert"], key_pem=creds["key"],
                          mount_point=creds.get("mount", "cert"), use_token=True)
    else:
        raise SystemExit(f"unknown method {method}")
    if not c.is_authenticated():
        raise SystemExit(f"{method}: hvac is not authenticated after logging in")
    return c


def read_all(c, kv):
    out = {}
    v2 = kv["kv2"]
    secret = c.secrets.kv.v2.read_secret_version(path=v2["path"], mount_point=v2["mount"],
                                                 raise_on_deleted_version=True)
    out["kv2"] = secret["data"]["data"]
    out["kv2_version"] = secret["data"]["metadata"]["version"]
    out["kv2_list"] = c.secrets.kv.v2.list_secrets(path=v2["folder"], mount_point=v2["mount"])["data"]["keys"]
    v1 = kv["kv1"]
    out["kv1"] = c.secrets.kv.v1.read_secret(path=v1["path"], mount_point=v1["mount"])["data"]
    out["kv1_list"] = c.secrets.kv.v1.list_secrets(path=v1["folder"], mount_point=v1["mount"])["data"]["keys"]
    return out


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    results = {}
    for method, creds in spec["methods"].items():
        c = login(spec, method, creds)
        result = read_all(c, spec["kv"])
        looked = c.auth.token.lookup_self()["data"]
        if looked.get("renewable"):
            renewed = c.auth.token.renew_self()
            result["renewed_lease"] = renewed["auth"]["lease_duration"]
            # The renewed token still reads.
            result["after_renewal"] = c.secrets.kv.v2.read_secret_version(
                path=spec["kv"]["kv2"]["path"], mount_point=spec["kv"]["kv2"]["mount"],
                raise_on_deleted_version=True)["data"]["data"]
        results[method] = result
    refused = {}
    for method, case in spec.get("must_fail", {}).items():
        try:
            login(spec, method, case["creds"])
        except hvac.exceptions.VaultError as error:
            if case["error"] not in str(error):
                raise SystemExit(f"{method}: refused, but not with {case['error']!r}: {error}")
            refused[method] = str(error)
        else:
            raise SystemExit(f"{method}: logged in with credentials that must be refused")
    if refused:
        results["refused"] = refused
    json.dump(results, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
