#!/usr/bin/python3
"""kms_raw_request.py - send one AWS KMS JSON 1.1 request, signed by botocore.

Used by tests/suites/kms_e2e.sh as a client that shares no code with
nitrowallet: botocore signs (SigV4Auth), Python's http.client sends over TLS
verified against the given CA.  awscli 2.9 predates KMS's Recipient
parameter, so the attested flow is exercised with this raw request.

usage: kms_raw_request.py ENDPOINT_URL CA_PEM OPERATION JSON_BODY
prints the HTTP status on the first line and the JSON reply on the second.
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import http.client
import json
import os
import ssl
import sys
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    url, ca, op, body = sys.argv[1:5]
    region = os.environ.get("AWS_REGION", "us-east-1")
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                        os.environ.get("AWS_SESSION_TOKEN"))
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "TrentService." + op,
    }
    req = AWSRequest(method="POST", url=url + "/", data=body.encode(), headers=headers)
    SigV4Auth(creds, "kms", region).add_auth(req)
    parts = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ctx, timeout=30)
    conn.request("POST", "/", body=req.body, headers=dict(req.headers.items()))
    resp = conn.getresponse()
    print(resp.status)
    print(resp.read().decode())


if __name__ == "__main__":
    main()
