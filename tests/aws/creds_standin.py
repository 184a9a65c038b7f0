#!/usr/bin/python3
"""creds_standin.py - a loopback stand-in for the three AWS credential
endpoints the host's provider chain talks to (docs/credentials.md).

The real ones cannot run here: EC2 instance metadata (169.254.169.254),
the ECS / EKS Pod Identity agent (169.254.170.2, 169.254.170.23) and STS
need AWS.  This server implements their documented request and response
formats, and *checks* every request it receives against them:

  IMDSv2 (EC2 User Guide, "Use the Instance Metadata Service to access
  instance metadata", "Retrieve security credentials from instance metadata"):
    PUT  /latest/api/token  with X-aws-ec2-metadata-token-ttl-seconds: 1..21600
    GET  /latest/meta-data/iam/security-credentials/        -> role name
    GET  /latest/meta-data/iam/security-credentials/<role>  -> JSON, Code "Success"
    both GETs need X-aws-ec2-metadata-token (401 otherwise, as IMDS answers)
  Container (ECS task IAM roles; EKS Pod Identity agent):
    GET  <path> with Authorization: <token> -> JSON AccessKeyId,
    SecretAccessKey, Token, Expiration (+ AccountId for Pod Identity)
  STS AssumeRoleWithWebIdentity (STS API Reference, query API, 2011-06-15):
    POST / form-encoded Action, Version, RoleArn, RoleSessionName,
    WebIdentityToken; unsigned; XML AssumeRoleWithWebIdentityResponse

A request that breaks the format is answered with an error AND recorded as a
violation; the suite fails on any violation.  The test steers it through
POST /_control (JSON: lifetime, fail, expect_token, expect_auth, role_arn)
and reads GET /_control/log (counts, violations, fingerprints of issued
secrets).  It prints "port N" once listening on 127.0.0.1:0.
"""
import datetime
import hashlib
import json
import re
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE = "nitrowallet-host-role"
CONTAINER_PATH = "/v1/credentials"
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")

state_lock = threading.Lock()
state = {
    "lifetime": 3600,      # seconds from now for the next issued Expiration
    "fail": "",            # "imds", "container" or "sts": answer 500 / error
    "expect_token": "",    # web identity token STS must receive
    "expect_auth": "",     # Authorization the container endpoint must receive
    "role_arn": "arn:aws:iam::111122223333:role/nitrowallet-host",
    "imds_tokens": set(),
    "counts": {},
    "violations": [],
    "issued": {},          # AccessKeyId -> sha256 of the secret
    "session_names": [],
    "serial": 0,
}


def count(name):
    state["counts"][name] = state["counts"].get(name, 0) + 1


def violation(msg):
    state["violations"].append(msg)


def issue(kind):
    state["serial"] += 1
    key = "ASIA%s%08d" % (kind.upper()[:4], state["serial"])
    secret = secrets.token_urlsafe(30)
    token = "IQo" + secrets.token_urlsafe(600)
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=state["lifetime"])
    state["issued"][key] = {"secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
                            "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
                            "secret": secret}
    return key, secret, token, exp.strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the suite reads /_control/log
        pass

    def reply(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # ---------------------------------------------------------------- control
    def control(self):
        if self.command == "POST":
            with state_lock:
                for k, v in json.loads(self.body() or b"{}").items():
                    if k not in ("lifetime", "fail", "expect_token", "expect_auth", "role_arn"):
                        return self.reply(400, '{"error":"unknown control key"}')
                    state[k] = v
            return self.reply(200, "{}")
        with state_lock:
            out = {k: state[k] for k in ("counts", "violations", "issued", "session_names")}
        return self.reply(200, json.dumps(out))

    # ------------------------------------------------------------------- IMDS
    def imds_token(self):
        body = self.body()
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        with state_lock:
            count("imds_token")
            if self.headers.get("X-Forwarded-For") is not None:
                violation("IMDS token request carried X-Forwarded-For")
                return self.reply(403, "", "text/plain")
            if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                violation("IMDS token PUT without a valid TTL header: %r" % ttl)
                return self.reply(400, "", "text/plain")
            if body:
                violation("IMDS token PUT with a body")
            tok = secrets.token_urlsafe(42)
            state["imds_tokens"].add(tok)
            if state["fail"] == "imds":
                return self.reply(500, "", "text/plain")
        return self.reply(200, tok, "text/plain")

    def imds_get(self, role):
        tok = self.headers.get("X-aws-ec2-metadata-token")
        with state_lock:
            count("imds_role" if role is None else "imds_creds")
            if tok not in state["imds_tokens"]:
                violation("IMDS GET %s without a valid session token" % self.path)
                return self.reply(401, "", "text/plain")
            if role is None:
                return self.reply(200, ROLE, "text/plain")
            if role != ROLE:
                violation("IMDS GET for unknown role %r" % role)
                return self.reply(404, "", "text/plain")
            key, secret, token, exp = issue("imds")
            doc = {"Code": "Success", "LastUpdated": exp, "Type": "AWS-HMAC", "AccessKeyId": key,
                   "SecretAccessKey": secret, "Token": token, "Expiration": exp}
        return self.reply(200, json.dumps(doc, indent=2), "text/plain")

    # -------------------------------------------------------------- container
    def container(self):
        auth = self.headers.get("Authorization")
        with state_lock:
            count("container")
            if state["expect_auth"] and auth != state["expect_auth"]:
                violation("container request with a wrong or missing Authorization")
                return self.reply(401, '{"Code":"AccessDeniedException"}')
            if state["fail"] == "container":
                return self.reply(500, '{"Code":"InternalError"}')
            key, secret, token, exp = issue("cont")
            doc = {"AccessKeyId": key, "SecretAccessKey": secret, "Token": token,
                   "AccountId": "111122223333", "Expiration": exp}
        return self.reply(200, json.dumps(doc))

    # -------------------------------------------------------------------- STS
    def sts(self):
        ctype = self.headers.get("Content-Type", "")
        form = urllib.parse.parse_qs(self.body().decode(), keep_blank_values=True, strict_parsing=True)
        f = {k: v[0] for k, v in form.items() if len(v) == 1}
        with state_lock:
            count("sts")
            problems = []
            if not ctype.startswith("application/x-www-form-urlencoded"):
                problems.append("Content-Type %r" % ctype)
            if self.headers.get("Authorization") is not None:
                problems.append("AssumeRoleWithWebIdentity must be unsigned")
            if len(f) != len(form) or set(f) != {"Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken"}:
                problems.append("parameters %s" % sorted(form))
            if f.get("Action") != "AssumeRoleWithWebIdentity" or f.get("Version") != "2011-06-15":
                problems.append("Action/Version")
            if f.get("RoleArn") != state["role_arn"]:
                problems.append("RoleArn")
            if not SESSION_NAME.match(f.get("RoleSessionName", "")):
                problems.append("RoleSessionName")
            state["session_names"].append(f.get("RoleSessionName", ""))
            if problems:
                violation("STS request: " + "; ".join(problems))
                return self.sts_error(400, "InvalidParameterValue")
            if f.get("WebIdentityToken") != state["expect_token"]:
                # not a violation: the suite sends a stale token on purpose
                return self.sts_error(400, "InvalidIdentityToken")
            if state["fail"] == "sts":
                return self.sts_error(503, "ServiceUnavailable")
            key, secret, token, exp = issue("sts")
        xml = ('<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
               '  <AssumeRoleWithWebIdentityResult>\n'
               '    <SubjectFromWebIdentityToken>system:serviceaccount:wallet:host</SubjectFromWebIdentityToken>\n'
               '    <Audience>sts.amazonaws.com</Audience>\n'
               '    <AssumedRoleUser>\n'
               '      <Arn>arn:aws:sts::111122223333:assumed-role/nitrowallet-host/%s</Arn>\n'
               '      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:%s</AssumedRoleId>\n'
               '    </AssumedRoleUser>\n'
               '    <Credentials>\n'
               '      <SessionToken>%s</SessionToken>\n'
               '      <SecretAccessKey>%s</SecretAccessKey>\n'
               '      <Expiration>%s</Expiration>\n'
               '      <AccessKeyId>%s</AccessKeyId>\n'
               '    </Credentials>\n'
               '    <Provider>arn:aws:iam::111122223333:oidc-provider/oidc.eks.example</Provider>\n'
               '  </AssumeRoleWithWebIdentityResult>\n'
               '  <ResponseMetadata>\n'
               '    <RequestId>%s</RequestId>\n'
               '  </ResponseMetadata>\n'
               '</AssumeRoleWithWebIdentityResponse>\n') % (
            f["RoleSessionName"], f["RoleSessionName"], token, secret, exp, key, secrets.token_hex(16))
        return self.reply(200, xml, "text/xml")

    def sts_error(self, status, code):
        xml = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
               '  <Error>\n    <Type>Sender</Type>\n    <Code>%s</Code>\n'
               '    <Message>rejected by the stand-in</Message>\n  </Error>\n'
               '  <RequestId>%s</RequestId>\n</ErrorResponse>\n') % (code, secrets.token_hex(16))
        return self.reply(status, xml, "text/xml")

    # ---------------------------------------------------------------- routing
    def route(self):
        p = self.path
        creds = "/latest/meta-data/iam/security-credentials/"
        if p.startswith("/_control"):
            return self.control()
        if p == "/latest/api/token":
            if self.command != "PUT":
                with state_lock:
                    violation("IMDS token with %s, not PUT" % self.command)
                return self.reply(405, "", "text/plain")
            return self.imds_token()
        if p.startswith(creds) and self.command == "GET":
            return self.imds_get(p[len(creds):] or None)
        if p == CONTAINER_PATH and self.command == "GET":
            return self.container()
        if p == "/" and self.command == "POST":
            return self.sts()
        with state_lock:
            violation("unexpected %s %s" % (self.command, p))
        return self.reply(404, "", "text/plain")

    do_GET = do_PUT = do_POST = route


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
