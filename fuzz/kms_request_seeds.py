#!/usr/bin/python3
"""kms_request_seeds.py - write the seed corpus of fuzz_kms_request.

Each seed is a whole HTTP/1.1 request as a client sends it to nitrowallet-kms,
signed with botocore's SigV4Auth for the fuzz target's fixed time
(2024-09-07T14:37:40Z) with the AWS documentation credential AKIDEXAMPLE, so
the fuzzer starts past signature verification; plus a few malformed requests.
The Recipient seeds carry the real attestation document
tests/data/attestation/nitro_prod.cbor (source in tests/data/README.md),
which is fresh at that time.

usage: fuzz/kms_request_seeds.py   (run from the repo root)
"""
import base64
import datetime
import json
import os
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

OUT = "fuzz/corpus/fuzz_kms_request"
VECTORS = "tests/data"
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
WHEN = datetime.datetime(2024, 9, 7, 14, 37, 40)
KEY = "00000000-0000-4000-8000-000000000000"


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def signed(name, op, body, token=None):
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url="https://127.0.0.1:4000/", data=data,
                     headers={"X-Amz-Target": "TrentService." + op,
                              "Content-Type": "application/x-amz-json-1.1"})
    if token:
        req.headers["X-Amz-Security-Token"] = token
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = WHEN
        dt.datetime.strptime = datetime.datetime.strptime
        SigV4Auth(CREDS, "kms", "us-east-1").add_auth(req)
    head = "POST / HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n"
    for k, v in req.headers.items():
        if k.lower() != "host":
            head += f"{k}: {v}\r\n"
    head += f"Content-Length: {len(data)}\r\n\r\n"
    write(name, head.encode() + data)


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(VECTORS, "attestation", "nitro_prod.cbor"), "rb") as f:
        doc = base64.b64encode(f.read()).decode()
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "a", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "b", "Effect": "Deny", "Principal": "*", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": "*", "Condition": {
             "StringNotEqualsIgnoreCase": {"kms:RecipientAttestation:ImageSha384": "ab" * 48},
             "StringLikeIfExists": {"kms:EncryptionContext:app": "wallet-*",
                                    "kms:RecipientAttestation:PCR8": "0*"}}}]})
    ctx = {"account": "alice", "purpose": "seal"}
    recipient = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": doc}
    blob = base64.b64encode(b"nw\x01\x24" + KEY.encode() + b"\x00" * 40).decode()
    signed("create_key", "CreateKey", {"Description": "fuzz", "KeySpec": "SYMMETRIC_DEFAULT", "Policy": policy})
    signed("describe_alias", "DescribeKey", {"KeyId": "alias/fuzz"})
    signed("describe_alias_arn", "DescribeKey", {"KeyId": "arn:aws:kms:us-east-1:111122223333:alias/fuzz"})
    signed("list_keys", "ListKeys", {"Limit": 1, "Marker": KEY})
    signed("list_aliases", "ListAliases", {"Limit": 10, "KeyId": KEY})
    signed("create_alias", "CreateAlias",
           {"AliasName": "alias/other", "TargetKeyId": "arn:aws:kms:us-east-1:111122223333:key/" + KEY})
    signed("disable", "DisableKey", {"KeyId": KEY})
    signed("enable", "EnableKey", {"KeyId": KEY})
    signed("schedule", "ScheduleKeyDeletion", {"KeyId": KEY, "PendingWindowInDays": 7})
    signed("cancel", "CancelKeyDeletion", {"KeyId": KEY})
    signed("encrypt_ctx", "Encrypt", {"KeyId": "alias/fuzz", "Plaintext": "aGVsbG8gd29ybGQ=",
                                      "EncryptionContext": ctx, "GrantTokens": ["t"]})
    signed("decrypt", "Decrypt", {"CiphertextBlob": blob, "EncryptionContext": ctx, "KeyId": "alias/fuzz",
                                  "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
    signed("decrypt_recipient", "Decrypt", {"CiphertextBlob": blob, "Recipient": recipient})
    signed("gdk", "GenerateDataKey", {"KeyId": "alias/fuzz", "KeySpec": "AES_256", "EncryptionContext": ctx})
    signed("gdk_recipient", "GenerateDataKey", {"KeyId": "alias/fuzz", "NumberOfBytes": 32, "Recipient": recipient})
    signed("gdkwp", "GenerateDataKeyWithoutPlaintext", {"KeyId": "alias/fuzz", "KeySpec": "AES_128"})
    signed("random", "GenerateRandom", {"NumberOfBytes": 17})
    signed("random_recipient", "GenerateRandom", {"NumberOfBytes": 32, "Recipient": recipient})
    signed("get_policy", "GetKeyPolicy", {"KeyId": KEY, "PolicyName": "default"})
    signed("put_policy", "PutKeyPolicy", {"KeyId": KEY, "PolicyName": "default", "Policy": policy,
                                          "BypassPolicyLockoutSafetyCheck": True})
    signed("token", "ListKeys", {}, token="FQoGZXIvYXdzEXAMPLETOKEN")
    signed("unknown_op", "Sign", {"KeyId": "alias/fuzz"})
    write("bad_pipelined", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}POST / HTTP/1.1\r\n\r\n")
    write("bad_chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    write("bad_fold", b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.ListKeys\r\n  more\r\n\r\n")
    write("unsigned_continue", b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nConnection: keep-alive\r\n"
          b"X-Amz-Target: TrentService.GenerateRandom\r\nContent-Length: 20\r\n\r\n{\"NumberOfBytes\":9}\n")


if __name__ == "__main__":
    main()
