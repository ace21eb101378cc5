"""SigV4 authentication and IAM authorisation of swfd checked with botocore's own signer.

Starts swfd with ``--auth-config`` (principals with keys and policies), then: boto3 clients signed
by botocore work for an allowed principal (SWF and Step Functions); a wrong secret, an unknown key,
an expired temporary key and a call the policy does not allow get AWS's errors and messages;
a request botocore signed (``botocore.auth.SigV4Auth``) is refused after any single-byte change of
its body or of a signed header.

    pip install -r tests/python/requirements.txt
    cargo build -p swfd && pytest tests/python/test_auth.py
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from peer_tls import peer_tls_args

REPO = Path(__file__).resolve().parents[2]
SWFD_BIN = os.environ.get("SWFD_BIN", str(REPO / "target" / "debug" / "swfd"))
LISTENING = re.compile(r"^swfd listening http=(\S+) grpc=(\S+)(?: admin=(\S+))?$")
ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)

CONFIG = f"""
[[principal]]
name = "py"
access_key_id = "AKIDPY"
secret_access_key = "py-secret"
policy = '{ALLOW_ALL}'

[[principal]]
name = "reader"
access_key_id = "AKIDREADER"
secret_access_key = "reader-secret"
policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["swf:List*","swf:Describe*"],"Resource":"*"}}]}}'''

[[principal]]
name = "temp"
access_key_id = "AKIDPYTEMP"
secret_access_key = "temp-secret"
session_token = "tok-py"
expires = "2100-01-01T00:00:00Z"
policy = '{ALLOW_ALL}'

[[principal]]
name = "old"
access_key_id = "AKIDPYOLD"
secret_access_key = "old-secret"
session_token = "tok-old"
expires = "2020-01-01T00:00:00Z"
policy = '{ALLOW_ALL}'
"""


@pytest.fixture
def swfd():
    if not Path(SWFD_BIN).is_file():
        pytest.fail(f"swfd binary not found at {SWFD_BIN} (build it or set SWFD_BIN)")
    root = tempfile.mkdtemp(prefix="swfd-auth-")
    config = Path(root, "auth.toml")
    config.write_text(CONFIG)
    log = open(os.path.join(root, "swfd.log"), "wb")
    proc = subprocess.Popen(
        [SWFD_BIN, "--data-dir", os.path.join(root, "data"), "--http-addr", "127.0.0.1:0",
         "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--long-poll-secs", "2", "--auth-config", str(config), *peer_tls_args(root)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True,
    )
    found = {}
    ready = threading.Event()

    def reader():
        for line in proc.stdout:
            m = LISTENING.match(line.strip())
            if m and "http" not in found:
                found["http"] = m.group(1)
                ready.set()
        ready.set()

    threading.Thread(target=reader, daemon=True).start()
    try:
        assert ready.wait(60) and "http" in found, Path(root, "swfd.log").read_text()
        endpoint = f"http://{found['http']}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, Path(root, "swfd.log").read_text()
            time.sleep(0.02)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def client(endpoint, key, secret, token=None, service="swf"):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
    )


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


def test_botocore_signed_calls_are_verified(swfd):
    swf = client(swfd, "AKIDPY", "py-secret")
    swf.register_domain(name="py", workflowExecutionRetentionPeriodInDays="1")
    names = [d["name"] for d in swf.list_domains(registrationStatus="REGISTERED")["domainInfos"]]
    assert names == ["py"]
    # Temporary keys with their session token.
    temp = client(swfd, "AKIDPYTEMP", "temp-secret", token="tok-py")
    assert temp.describe_domain(name="py")["domainInfo"]["name"] == "py"
    # Step Functions, signed for `states`.
    sfn = client(swfd, "AKIDPY", "py-secret", service="stepfunctions")
    arn = sfn.create_activity(name="py-act")["activityArn"]
    assert arn.endswith(":activity:py-act")


def test_errors_as_aws_returns_them(swfd):
    list_domains = lambda c: (lambda: c.list_domains(registrationStatus="REGISTERED"))
    assert error_of(list_domains(client(swfd, "AKIDPY", "wrong"))) == (
        "InvalidSignatureException", MISMATCH)
    assert error_of(list_domains(client(swfd, "AKIDNOPE", "x"))) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.")
    assert error_of(list_domains(client(swfd, "AKIDPYTEMP", "temp-secret"))) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.")
    assert error_of(list_domains(client(swfd, "AKIDPYOLD", "old-secret", token="tok-old"))) == (
        "ExpiredTokenException", "The security token included in the request is expired")
    reader = client(swfd, "AKIDREADER", "reader-secret")
    reader.list_domains(registrationStatus="REGISTERED")
    code, message = error_of(
        lambda: reader.register_domain(name="nope", workflowExecutionRetentionPeriodInDays="1"))
    assert code == "AccessDeniedException"
    assert message == (
        "User: arn:aws:iam::000000000000:user/reader is not authorized to perform: "
        "swf:RegisterDomain on resource: arn:aws:swf:us-east-1:000000000000:/domain/nope")
    # A client signing for another region.
    other = boto3.client("swf", endpoint_url=swfd, region_name="eu-west-1",
                         aws_access_key_id="AKIDPY", aws_secret_access_key="py-secret")
    assert error_of(list_domains(other)) == (
        "InvalidSignatureException", "Credential should be scoped to a valid region, not 'eu-west-1'. ")


def signed(endpoint, body):
    """A ListDomains request signed by botocore's SigV4Auth: (headers, body)."""
    creds = botocore.credentials.Credentials("AKIDPY", "py-secret")
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=endpoint + "/", data=body,
        headers={"Content-Type": "application/x-amz-json-1.0",
                 "X-Amz-Target": "SimpleWorkflowService.ListDomains"})
    botocore.auth.SigV4Auth(creds, "swf", "us-east-1").add_auth(req)
    return dict(req.headers.items()), body


def post(endpoint, headers, body):
    req = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_every_single_byte_change_is_refused(swfd):
    body = b'{"registrationStatus":"REGISTERED"}'
    headers, body = signed(swfd, body)
    status, out = post(swfd, headers, body)
    assert status == 200, out
    refused = 0
    for i in range(len(body)):
        changed = bytearray(body)
        changed[i] = ord("x") if changed[i] != ord("x") else ord("y")
        status, out = post(swfd, headers, bytes(changed))
        assert status == 400 and out["__type"].endswith("InvalidSignatureException"), (i, out)
        refused += 1
    for name in ("X-Amz-Target", "X-Amz-Date", "Content-Type"):
        value = headers[name]
        for i in range(len(value)):
            h = dict(headers)
            c = "1" if value[i] != "1" else "2"
            h[name] = value[:i] + c + value[i + 1:]
            status, out = post(swfd, h, body)
            assert status == 400, (name, i, out)
            refused += 1
    assert refused > 100
