#!/usr/bin/env python3
"""google-auth and google-cloud-secret-manager against Outpost's FakeGCPSecretManager.

    gcp_proof.py PLAN.json

The plan, written by the Swift test (GCPOfficialSDKTests), names the fake's base URL
and the credentials files it made, each pointing at the fake's own token services
(token_uri, token_url, service_account_impersonation_url), as real files name Google's:

    {"endpoint": URL,
     "cases": [{"label": ..., "file": PATH, "load": "file" | "default", "secret": NAME}],
     "list": {"file": PATH, "parent": "projects/P", "page_size": N}}

For each case, google-auth loads the file (google.auth.load_credentials_from_file, or
google.auth.default() with GOOGLE_APPLICATION_CREDENTIALS naming it), refreshes the
credentials against the fake, and the Secret Manager client (REST transport, the fake as
api_endpoint) accesses the secret version with them, its CRC32C checked. Then the client
lists the parent's secrets page by page.

Prints "LABEL: TYPE VALUE" per case and "list: ID,ID,..."; exits 0 only when all of it
worked.
"""
import json
import os
import sys

import google.auth
import google.auth.credentials
import google.auth.impersonated_credentials
import google.auth.transport.requests
import google.oauth2.credentials
from google.cloud import secretmanager

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def at_file_urls(credentials, info):
    """Points google-auth at the URLs the file names, as the agent does from the file, where
    google-auth does not by itself: it posts an authorized user's refresh token to
    https://oauth2.googleapis.com/token whatever token_uri says (with_token_uri() fixes
    that), and builds an impersonated_service_account's credentials for
    iamcredentials.googleapis.com whatever service_account_impersonation_url says (the
    public constructor's iam_endpoint_override takes it)."""
    if isinstance(credentials, google.oauth2.credentials.Credentials) and info.get("token_uri"):
        return credentials.with_token_uri(info["token_uri"])
    if isinstance(credentials, google.auth.impersonated_credentials.Credentials):
        url = info["service_account_impersonation_url"]
        return google.auth.impersonated_credentials.Credentials(
            source_credentials=at_file_urls(credentials._source_credentials, info["source_credentials"]),
            target_principal=url[url.rfind("/") + 1 : url.find(":generateAccessToken")],
            target_scopes=[CLOUD_PLATFORM],
            delegates=info.get("delegates"),
            iam_endpoint_override=url,
        )
    return credentials


def load(case):
    if case["load"] == "default":
        os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = case["file"]
        try:
            credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
        finally:
            del os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
    else:
        # Scopes given here make google-auth ask Cloud Resource Manager for an external
        # account's project id at load time (not reachable from here): they are added after.
        credentials, _ = google.auth.load_credentials_from_file(case["file"])
        credentials = google.auth.credentials.with_scopes_if_required(credentials, [CLOUD_PLATFORM])
    with open(case["file"]) as handle:
        return at_file_urls(credentials, json.load(handle))


def client(credentials, endpoint):
    return secretmanager.SecretManagerServiceClient(
        credentials=credentials, transport="rest", client_options={"api_endpoint": endpoint}
    )


def main() -> int:
    with open(sys.argv[1]) as handle:
        plan = json.load(handle)
    endpoint = plan["endpoint"]
    request = google.auth.transport.requests.Request()
    for case in plan["cases"]:
        credentials = load(case)
        credentials.refresh(request)
        if not credentials.token:
            print(f"{case['label']}: no token after refresh", file=sys.stderr)
            return 1
        response = client(credentials, endpoint).access_secret_version(name=case["secret"])
        data = response.payload.data
        if response.payload.data_crc32c != crc32c(data):
            print(f"{case['label']}: data_crc32c does not match the payload", file=sys.stderr)
            return 1
        print(f"{case['label']}: {type(credentials).__module__}.{type(credentials).__name__} {data.decode()}")

    listing = plan["list"]
    credentials, _ = google.auth.load_credentials_from_file(listing["file"], scopes=[CLOUD_PLATFORM])
    pages = client(credentials, endpoint).list_secrets(
        request={"parent": listing["parent"], "page_size": listing["page_size"]}
    )
    ids = [secret.name.rsplit("/", 1)[-1] for secret in pages]
    print("list: " + ",".join(ids))
    return 0


if __name__ == "__main__":
    sys.exit(main())
