"""An S3 endpoint for tests: moto's server mode on 127.0.0.1 in a thread, over real HTTP, so
boto3 in the tests and in `feeds` subprocesses talks the wire protocol. `s3_endpoint` is the
session's server, `s3_bucket` a fresh empty bucket per test."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 off the real chain (~/.aws, IMDS).
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Bucket:
    """A bucket on the test endpoint."""

    endpoint_url: str
    name: str

    def site_toml(self, base: str, prefix: str = "") -> str:
        """base (a feeds.toml publishing to out = "public") publishing to this bucket."""
        assert 'out = "public"' in base
        return base.replace('out = "public"', f'out = "s3://{self.name}/{prefix}"') + (
            f'\n[publish]\nendpoint_url = "{self.endpoint_url}"\nregion = "{REGION}"\n'
        )

    def client(self) -> Any:
        """A boto3 client on the endpoint."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION)

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        """Every object under prefix, key (without prefix) -> bytes."""
        s3 = self.client()
        found: dict[str, bytes] = {}
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=self.name, Key=item["Key"])["Body"].read()
                found[item["Key"][len(prefix) :]] = body
        return found


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server for the session; fake credentials in the environment."""
    from moto.server import ThreadedMotoServer

    for key, value in FAKE_ENV.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Bucket:
    """A fresh, empty bucket."""
    bucket = Bucket(s3_endpoint, "feeds-" + secrets.token_hex(6))
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket
