#!/usr/bin/env python3
"""Drives FakeAzureKeyVault with Microsoft's own SDKs: azure-identity's credentials
and azure-keyvault-secrets' SecretClient, with their safety checks on.

The fake serves HTTPS with a certificate from a test CA, passed to the SDK as
`connection_verify` (azure-core refuses bearer tokens over http). The vault is
addressed as https://NAME.vault.localhost:PORT, so the SDK's challenge check (the
challenge's resource must match the vault's host) runs as against a real vault;
*.localhost resolves to 127.0.0.1 here (a test DNS: TLS still checks the name).

Usage: azure_proof.py CONFIG_JSON, CONFIG_JSON holding
  ca, authority, vault, vault_scope, vault_by_address, tenant, client_id, client_secret,
  certificate_path, certificate_client_id, federated_token_file, federated_client_id,
  managed_identity_client_id, imds_host, service_fabric (endpoint, header, thumbprint),
  app_service (endpoint, header, client_id), read (names), version (name, id), page_size.
Prints one JSON object: what each credential read, listed, and what the challenge
checks did. Exits 0 only when every step did what it was asked.
"""
import json
import os
import socket
import sys

config = json.loads(sys.argv[1])

_getaddrinfo = socket.getaddrinfo


def _test_dns(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _test_dns

from azure.core.exceptions import ResourceNotFoundError  # noqa: E402
from azure.identity import (  # noqa: E402
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from azure.keyvault.secrets import SecretClient  # noqa: E402
import msal  # noqa: E402
import requests  # noqa: E402

ca = config["ca"]
entra = dict(authority=config["authority"], disable_instance_discovery=True, connection_verify=ca)
result = {}


def client(credential, vault=None, **kwargs):
    return SecretClient(vault_url=vault or config["vault"], credential=credential, connection_verify=ca, **kwargs)


def read_all(secret_client):
    return {name: secret_client.get_secret(name).value for name in config["read"]}


# 1. ClientSecretCredential: read, read a version, list across pages, a missing secret.
secret_client = client(ClientSecretCredential(config["tenant"], config["client_id"], config["client_secret"], **entra))
result["client_secret"] = read_all(secret_client)
name, version = config["version"]
result["version"] = secret_client.get_secret(name, version).value
result["listed"] = sorted(p.name for p in secret_client.list_properties_of_secrets(max_page_size=config["page_size"]))
try:
    secret_client.get_secret("no-such-secret")
    result["missing"] = "found"
except ResourceNotFoundError as error:
    result["missing"] = error.error.code if error.error else str(error.status_code)

# 2. WorkloadIdentityCredential: the federated token file, as AKS projects it.
workload = WorkloadIdentityCredential(
    tenant_id=config["tenant"], client_id=config["federated_client_id"],
    token_file_path=config["federated_token_file"], **entra)
result["workload_identity"] = read_all(client(workload))

# 3. CertificateCredential: a PEM file with the certificate and its key.
certificate = CertificateCredential(
    config["tenant"], config["certificate_client_id"], certificate_path=config["certificate_path"], **entra)
result["certificate"] = read_all(client(certificate))

# 3b. MSAL itself, given the public certificate too, signs with PS256 and x5t#S256.
with open(config["certificate_path"], encoding="utf-8") as pem_file:
    pem = pem_file.read()
session = requests.Session()
session.verify = ca
session.trust_env = False  # REQUESTS_CA_BUNDLE would replace verify
application = msal.ConfidentialClientApplication(
    config["certificate_client_id"],
    client_credential={"private_key": pem[pem.index("-----BEGIN", pem.index("-----END")):], "public_certificate": pem},
    authority=config["authority"] + "/" + config["tenant"], instance_discovery=False, http_client=session)
token = application.acquire_token_for_client(scopes=[config["vault_scope"]])
result["msal_ps256"] = "access_token" in token or token.get("error_description", repr(token))

# 4. ManagedIdentityCredential through IMDS, a user-assigned identity by client id
#    (AZURE_POD_IDENTITY_AUTHORITY_HOST moves IMDS, as for AKS pod identity).
os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = config["imds_host"]
managed = ManagedIdentityCredential(client_id=config["managed_identity_client_id"], connection_verify=ca)
result["managed_identity"] = read_all(client(managed))
del os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"]

# 5. App Service's identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER).
os.environ["IDENTITY_ENDPOINT"] = config["app_service"]["endpoint"]
os.environ["IDENTITY_HEADER"] = config["app_service"]["header"]
app_service = ManagedIdentityCredential(client_id=config["app_service"]["client_id"], connection_verify=ca)
result["app_service"] = read_all(client(app_service))

# 6. Service Fabric's (+ IDENTITY_SERVER_THUMBPRINT): MSAL pins the server certificate.
os.environ["IDENTITY_ENDPOINT"] = config["service_fabric"]["endpoint"]
os.environ["IDENTITY_HEADER"] = config["service_fabric"]["header"]
os.environ["IDENTITY_SERVER_THUMBPRINT"] = config["service_fabric"]["thumbprint"]
result["service_fabric"] = read_all(client(ManagedIdentityCredential()))
for variable in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT"):
    del os.environ[variable]

# 7. The challenge check: a vault addressed by IP gets the public cloud's challenge
#    (resource https://vault.azure.net), which does not match its host: the SDK refuses
#    to send a token, unless verify_challenge_resource=False.
by_address = config["vault_by_address"]
credential = ClientSecretCredential(config["tenant"], config["client_id"], config["client_secret"], **entra)
try:
    client(credential, vault=by_address).get_secret(config["read"][0])
    result["challenge_mismatch"] = "accepted"
except ValueError as error:
    result["challenge_mismatch"] = "refused" if "does not match the requested domain" in str(error) else repr(error)
unchecked = client(credential, vault=by_address, verify_challenge_resource=False)
result["challenge_unchecked"] = unchecked.get_secret(config["read"][0]).value

print(json.dumps(result, sort_keys=True))
