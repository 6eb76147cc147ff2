#!/usr/bin/env python3
"""boto3 against Outpost's AWS fakes: the credentials it gets from them read a secret from moto.

    aws_proof.py imds      --moto URL --secret NAME [--region-from-imds]
    aws_proof.py container --moto URL --secret NAME
    aws_proof.py sso       --moto URL --secret NAME --profile NAME

The fakes are named the way the SDK is told about them, in the environment the Swift
test passes: AWS_EC2_METADATA_SERVICE_ENDPOINT (IMDS), AWS_CONTAINER_CREDENTIALS_FULL_URI
and AWS_CONTAINER_AUTHORIZATION_TOKEN (container endpoint), AWS_CONFIG_FILE, HOME (the
SSO token cache under ~/.aws/sso/cache) and AWS_ENDPOINT_URL_SSO (the SSO portal).

Prints, one per line: the credential method botocore used, the region, the secret's
SecretString. Exits 0 only when all of it worked.
"""
import argparse
import sys

import boto3
import botocore.session
from botocore.utils import IMDSRegionProvider


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["imds", "container", "sso"])
    parser.add_argument("--moto", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--profile")
    parser.add_argument("--region-from-imds", action="store_true")
    args = parser.parse_args()

    core = botocore.session.Session(profile=args.profile) if args.profile else botocore.session.Session()
    credentials = core.get_credentials()
    if credentials is None:
        print("botocore found no credentials", file=sys.stderr)
        return 1
    expected = {"imds": "iam-role", "container": "container-role", "sso": "sso"}[args.mode]
    if credentials.method != expected:
        print(f"credentials came from {credentials.method}, not {expected}", file=sys.stderr)
        return 1
    region = core.get_config_variable("region")
    if args.region_from_imds:
        # botocore asks IMDS for the region only in its smart defaults (defaults_mode auto), from
        # placement/availability-zone; ask its provider directly (the agent reads placement/region).
        region = IMDSRegionProvider(session=core).provide()
        if not region:
            print("botocore got no region from IMDS", file=sys.stderr)
            return 1
    session = boto3.session.Session(botocore_session=core)
    client = session.client("secretsmanager", region_name=region or "us-east-1", endpoint_url=args.moto)
    value = client.get_secret_value(SecretId=args.secret)["SecretString"]
    print(credentials.method)
    print(region or "")
    print(value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
