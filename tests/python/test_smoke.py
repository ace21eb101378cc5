"""Smoke test of swfd with the stock AWS tooling: boto3 and the `aws swf` CLI.

Starts swfd (``$SWFD_BIN``, default ``<repo>/target/debug/swfd``) on ephemeral ports with a
temporary data directory, runs a one-activity workflow with boto3, checks an ``aws swf`` CLI call's
JSON output, and stops the process at the end.

    pip install -r tests/python/requirements.txt
    cargo build -p swfd && pytest tests/python
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
import pytest

REPO = Path(__file__).resolve().parents[2]
SWFD_BIN = os.environ.get("SWFD_BIN", str(REPO / "target" / "debug" / "swfd"))
STARTUP_DEADLINE = 60.0
POLL_INTERVAL = 0.02
LISTENING = re.compile(r"^swfd listening http=(\S+) grpc=(\S+)(?: admin=(\S+))?$")

# Placeholder credentials: swfd accepts any signature.
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDSMOKE",
    "AWS_SECRET_ACCESS_KEY": "smoke-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class Swfd:
    """One swfd process on a temporary data directory."""

    def __init__(self):
        if not Path(SWFD_BIN).is_file():
            pytest.fail(f"swfd binary not found at {SWFD_BIN} (build it or set SWFD_BIN)")
        self.root = tempfile.mkdtemp(prefix="swfd-smoke-")
        self.log = open(os.path.join(self.root, "swfd.log"), "wb")
        self.proc = subprocess.Popen(
            [
                SWFD_BIN,
                "--data-dir", os.path.join(self.root, "data"),
                "--http-addr", "127.0.0.1:0",
                "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                "--long-poll-secs", "5",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.http = self._read_listening_line()
        self.endpoint = f"http://{self.http}"
        self._wait_healthy()

    def _read_listening_line(self):
        found = {}

        def reader():
            for line in self.proc.stdout:
                m = LISTENING.match(line.strip())
                if m and "http" not in found:
                    found["http"] = m.group(1)
                    ready.set()
            ready.set()  # stdout closed

        ready = threading.Event()
        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(STARTUP_DEADLINE) or "http" not in found:
            self.stop()
            pytest.fail(f"swfd did not print its listening line\n{self.read_log()}")
        return found["http"]

    def _wait_healthy(self):
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.endpoint}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(POLL_INTERVAL)
        self.stop()
        pytest.fail(f"swfd did not become healthy\n{self.read_log()}")

    def read_log(self):
        try:
            return Path(self.root, "swfd.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def swfd():
    server = Swfd()
    yield server
    server.stop()


def swf_client(endpoint):
    return boto3.client(
        "swf",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=DUMMY_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def test_workflow_with_boto3_and_cli(swfd):
    swf = swf_client(swfd.endpoint)
    domain = "smoke"
    swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")
    swf.register_workflow_type(
        domain=domain,
        name="wf",
        version="1",
        defaultTaskList={"name": "decisions"},
        defaultExecutionStartToCloseTimeout="600",
        defaultTaskStartToCloseTimeout="60",
        defaultChildPolicy="TERMINATE",
    )
    swf.register_activity_type(
        domain=domain,
        name="greet",
        version="1",
        defaultTaskList={"name": "activities"},
        defaultTaskScheduleToStartTimeout="300",
        defaultTaskStartToCloseTimeout="300",
        defaultTaskScheduleToCloseTimeout="600",
        defaultTaskHeartbeatTimeout="NONE",
    )

    with pytest.raises(swf.exceptions.DomainAlreadyExistsFault):
        swf.register_domain(name=domain, workflowExecutionRetentionPeriodInDays="1")

    run_id = swf.start_workflow_execution(
        domain=domain,
        workflowId="smoke-1",
        workflowType={"name": "wf", "version": "1"},
        input="hello",
    )["runId"]
    execution = {"workflowId": "smoke-1", "runId": run_id}

    d1 = swf.poll_for_decision_task(domain=domain, taskList={"name": "decisions"}, identity="py")
    assert d1["taskToken"]
    assert d1["workflowExecution"] == execution
    assert [e["eventType"] for e in d1["events"]] == [
        "WorkflowExecutionStarted",
        "DecisionTaskScheduled",
        "DecisionTaskStarted",
    ]
    swf.respond_decision_task_completed(
        taskToken=d1["taskToken"],
        decisions=[
            {
                "decisionType": "ScheduleActivityTask",
                "scheduleActivityTaskDecisionAttributes": {
                    "activityId": "greet-1",
                    "activityType": {"name": "greet", "version": "1"},
                    "input": "hello",
                },
            }
        ],
    )

    a = swf.poll_for_activity_task(domain=domain, taskList={"name": "activities"}, identity="py")
    assert a["activityId"] == "greet-1"
    assert a["input"] == "hello"
    hb = swf.record_activity_task_heartbeat(taskToken=a["taskToken"], details="working")
    assert hb["cancelRequested"] is False
    swf.respond_activity_task_completed(taskToken=a["taskToken"], result=a["input"].upper())

    d2 = swf.poll_for_decision_task(domain=domain, taskList={"name": "decisions"}, identity="py")
    assert d2["taskToken"]
    assert d2["previousStartedEventId"] == 3
    result = next(
        e["activityTaskCompletedEventAttributes"]["result"]
        for e in d2["events"]
        if e["eventType"] == "ActivityTaskCompleted"
    )
    assert result == "HELLO"
    swf.respond_decision_task_completed(
        taskToken=d2["taskToken"],
        decisions=[
            {
                "decisionType": "CompleteWorkflowExecution",
                "completeWorkflowExecutionDecisionAttributes": {"result": result},
            }
        ],
    )

    # A replayed token is rejected.
    with pytest.raises(swf.exceptions.UnknownResourceFault):
        swf.respond_activity_task_completed(taskToken=a["taskToken"], result="again")

    history = swf.get_workflow_execution_history(domain=domain, execution=execution)
    assert [e["eventType"] for e in history["events"]] == [
        "WorkflowExecutionStarted",
        "DecisionTaskScheduled",
        "DecisionTaskStarted",
        "DecisionTaskCompleted",
        "ActivityTaskScheduled",
        "ActivityTaskStarted",
        "ActivityTaskCompleted",
        "DecisionTaskScheduled",
        "DecisionTaskStarted",
        "DecisionTaskCompleted",
        "WorkflowExecutionCompleted",
    ]
    assert history["events"][-1]["workflowExecutionCompletedEventAttributes"]["result"] == "HELLO"

    info = swf.describe_workflow_execution(domain=domain, execution=execution)["executionInfo"]
    assert info["executionStatus"] == "CLOSED"
    assert info["closeStatus"] == "COMPLETED"

    # The AWS CLI against the same endpoint.
    env = {**os.environ, **DUMMY_ENV}
    out = subprocess.run(
        [
            "aws", "swf", "list-domains",
            "--registration-status", "REGISTERED",
            "--endpoint-url", swfd.endpoint,
            "--output", "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    domains = json.loads(out.stdout)["domainInfos"]
    assert [d["name"] for d in domains] == [domain]
    assert domains[0]["status"] == "REGISTERED"

    out = subprocess.run(
        [
            "aws", "swf", "describe-workflow-execution",
            "--domain", domain,
            "--execution", f"workflowId=smoke-1,runId={run_id}",
            "--endpoint-url", swfd.endpoint,
            "--output", "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout)["executionInfo"]["closeStatus"] == "COMPLETED"
