"""The web console (`/console/`) in a real browser: headless Chromium driven over WebDriver
(Debian's ``chromium`` and ``chromium-driver``, Python ``selenium``) against real swfd processes
with data made by boto3.

- the console's files: content types, caching headers, 304, no directory traversal, the redirect;
- an execution found by workflow id, its summary, history, timeline and pending work, terminated
  from the page, then seen closed; the domains (deprecate / undeprecate) and task-list pages;
- a Step Functions machine drawn as a graph, and an execution's graph coloured by outcome;
- the cluster page of a 3-node cluster after its leader was killed;
- with auth on: refused without keys and with a wrong secret, working with an admin's keys, and a
  non-admin principal refused what its policy does not allow.

Every wait polls (WebDriverWait, or a loop on the API); nothing sleeps for a fixed time. Each page
is saved as a PNG under ``$SWFD_CONSOLE_SHOTS`` (default ``target/console-shots``); the ones in
docs/console/ come from here.

    pip install -r tests/python/requirements.txt
    cargo build -p swfd && pytest tests/python/test_console.py
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import (
    NoSuchElementException, StaleElementReferenceException, TimeoutException)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from peer_tls import peer_tls_args

REPO = Path(__file__).resolve().parents[2]
SWFD_BIN = os.environ.get("SWFD_BIN", str(REPO / "target" / "debug" / "swfd"))
CHROMIUM = os.environ.get("CHROMIUM_BIN", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get(
    "CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver"
)
SHOTS = Path(os.environ.get("SWFD_CONSOLE_SHOTS", REPO / "target" / "console-shots"))
LISTENING = re.compile(r"^swfd listening http=(\S+) grpc=(\S+)(?: admin=(\S+))?$")
WAIT = 30
ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
ROLE = "arn:aws:iam::123456789012:role/console-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll_until(what, check, timeout=WAIT):
    """Calls `check` until it returns a true value (returned), failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a node may be down or electing
            last = e
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what} (last error: {last})")


class Swfd:
    """One swfd process on a temporary data directory."""

    def __init__(self, root, *args, name="swfd"):
        if not Path(SWFD_BIN).is_file():
            pytest.fail(f"swfd binary not found at {SWFD_BIN} (build it or set SWFD_BIN)")
        self.dir = Path(root, name)
        self.dir.mkdir(parents=True)
        self.log = open(self.dir / "swfd.log", "wb")
        self.proc = subprocess.Popen(
            [SWFD_BIN, "--data-dir", str(self.dir / "data"), "--http-addr", "127.0.0.1:0",
             "--admin-addr", "127.0.0.1:0", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        found = {}
        ready = threading.Event()

        def reader():
            for line in self.proc.stdout:
                m = LISTENING.match(line.strip())
                if m and "http" not in found:
                    found["http"] = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(60) or "http" not in found:
            self.stop()
            pytest.fail(f"swfd did not print its listening line\n{self.read_log()}")
        self.endpoint = f"http://{found['http']}"

    def wait_healthy(self):
        def healthy():
            with urllib.request.urlopen(f"{self.endpoint}/health", timeout=2) as r:
                return r.status == 200
        poll_until(f"{self.endpoint} to be healthy", healthy, 60)

    def read_log(self):
        try:
            return (self.dir / "swfd.log").read_text(errors="replace")
        except OSError:
            return ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix="swfd-console-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def swfd(root):
    server = Swfd(root, "--grpc-addr", "127.0.0.1:0", "--long-poll-secs", "60")
    server.wait_healthy()
    yield server
    server.stop()


@pytest.fixture
def browser():
    if not Path(CHROMEDRIVER).is_file() or not Path(CHROMIUM).is_file():
        pytest.fail(f"chromium / chromedriver not found ({CHROMIUM}, {CHROMEDRIVER}); "
                    "install Debian's chromium and chromium-driver (scripts/install-deps.sh --python)")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def client(endpoint, service="swf", key="AKIDCONSOLE", secret="console-secret"):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(read_timeout=90, retries={"max_attempts": 1}),
    )


def wait_for(driver, css, text=None, timeout=WAIT):
    """The first element matching `css` (whose text contains `text`, if given), once there."""
    def found(d):
        for el in d.find_elements(By.CSS_SELECTOR, css):
            try:
                if text is None or text in el.text:
                    return el
            except Exception:  # noqa: BLE001 - re-rendered under us; look again
                return False
        return False
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(found)
    except TimeoutException:
        pytest.fail(f"no {css!r} with {text!r} at {driver.current_url}\n"
                    f"page: {driver.find_element(By.TAG_NAME, 'body').text[:3000]}\n"
                    f"browser log: {driver.get_log('browser')}")


def row_cells(driver, css, text=""):
    """The cell texts of the first row matching `css` whose text contains `text`, read in one go
    (again if the page re-rendered it meanwhile, as the cluster page does every 2 s)."""
    def read(d):
        for row in d.find_elements(By.CSS_SELECTOR, css):
            if text in row.text:
                return [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        return False
    return WebDriverWait(driver, WAIT, 0.05, ignored_exceptions=(
        StaleElementReferenceException,)).until(read)


def all_rows(driver, css):
    """The cell texts of every row matching `css`, read in one go."""
    def read(d):
        return [[c.text for c in r.find_elements(By.TAG_NAME, "td")]
                for r in d.find_elements(By.CSS_SELECTOR, css)] or False
    return WebDriverWait(driver, WAIT, 0.05, ignored_exceptions=(
        StaleElementReferenceException,)).until(read)


def shot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def raw_get(endpoint, path, headers=None):
    host = endpoint.removeprefix("http://")
    conn = http.client.HTTPConnection(host, timeout=10)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_console_files_types_caching_and_no_traversal(swfd):
    status, headers, _ = raw_get(swfd.endpoint, "/console")
    assert status == 308 and headers["location"] == "/console/"
    status, headers, body = raw_get(swfd.endpoint, "/console/")
    assert status == 200, body
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self';" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert b'<script type="module" src="js/app.js">' in body
    etag = headers["etag"]
    status, headers, body = raw_get(swfd.endpoint, "/console/", {"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["etag"] == etag
    for path, ctype in [("/console/index.html", "text/html; charset=utf-8"),
                        ("/console/console.css", "text/css; charset=utf-8"),
                        ("/console/js/app.js", "text/javascript; charset=utf-8"),
                        ("/console/js/sigv4.js", "text/javascript; charset=utf-8")]:
        status, headers, _ = raw_get(swfd.endpoint, path)
        assert (status, headers["content-type"]) == (200, ctype), path
    for path in ["/console/../Cargo.toml", "/console/%2e%2e/Cargo.toml", "/console/js/../../README.md",
                 "/console/js/%2e%2e%2fapp.js", "/console/js/", "/console/nope.js",
                 "/console/..%2f..%2fetc%2fpasswd", "/console//etc/passwd"]:
        status, _, body = raw_get(swfd.endpoint, path)
        assert status == 404, (path, status, body[:80])
    status, headers, body = raw_get(swfd.endpoint, "/console/api/info")
    assert status == 200 and json.loads(body) == {
        "auth": False, "region": None, "adminService": "swfd", "nodeId": 1}
    assert headers["content-type"] == "application/json"


def make_workflow_data(endpoint):
    """A domain with types and two executions; `order-1` has run an activity, started a timer and a
    child, and has a decision task pending; a worker holds a long poll on the activity list."""
    swf = client(endpoint)
    swf.register_domain(name="console", workflowExecutionRetentionPeriodInDays="3",
                        description="console test")
    swf.register_domain(name="spare", workflowExecutionRetentionPeriodInDays="1")
    swf.register_workflow_type(
        domain="console", name="order", version="1", defaultTaskList={"name": "decisions"},
        defaultExecutionStartToCloseTimeout="3600", defaultTaskStartToCloseTimeout="60",
        defaultChildPolicy="TERMINATE")
    swf.register_activity_type(
        domain="console", name="charge", version="1", defaultTaskList={"name": "activities"},
        defaultTaskScheduleToStartTimeout="300", defaultTaskStartToCloseTimeout="300",
        defaultTaskScheduleToCloseTimeout="600", defaultTaskHeartbeatTimeout="NONE")
    wf = {"name": "order", "version": "1"}
    run1 = swf.start_workflow_execution(domain="console", workflowId="order-1", workflowType=wf,
                                        input='{"amount": 42}', tagList=["vip"])["runId"]
    d = swf.poll_for_decision_task(domain="console", taskList={"name": "decisions"},
                                   identity="decider-1")
    assert d["workflowExecution"]["workflowId"] == "order-1"
    swf.respond_decision_task_completed(taskToken=d["taskToken"], decisions=[
        {"decisionType": "ScheduleActivityTask", "scheduleActivityTaskDecisionAttributes": {
            "activityId": "charge-1", "activityType": {"name": "charge", "version": "1"},
            "input": "42"}},
        {"decisionType": "StartTimer", "startTimerDecisionAttributes": {
            "timerId": "reminder", "startToFireTimeout": "3600"}},
        {"decisionType": "StartChildWorkflowExecution",
         "startChildWorkflowExecutionDecisionAttributes": {
             "workflowId": "order-1-child", "workflowType": wf, "taskList": {"name": "children"}}},
    ])
    a = swf.poll_for_activity_task(domain="console", taskList={"name": "activities"},
                                   identity="worker-1")
    swf.respond_activity_task_completed(taskToken=a["taskToken"], result="charged")
    swf.signal_workflow_execution(domain="console", workflowId="order-1", signalName="nudge")
    swf.start_workflow_execution(domain="console", workflowId="order-2", workflowType=wf)

    # A worker waiting on the activity list (nothing is queued there), seen by the task-list page.
    waiting = client(endpoint)
    threading.Thread(
        target=lambda: waiting.poll_for_activity_task(
            domain="console", taskList={"name": "activities"}, identity="waiting-worker"),
        daemon=True).start()
    return swf, run1


def test_console_execution_history_timeline_terminate(swfd, browser):
    swf, run1 = make_workflow_data(swfd.endpoint)
    b = browser
    # Paging: one execution a page, the next page has the other one.
    b.get(f"{swfd.endpoint}/console/#/executions?domain=console&pageSize=1")
    first = wait_for(b, "#executions .execution-link", "order-").text
    assert len(b.find_elements(By.CSS_SELECTOR, "#executions .execution-link")) == 1
    wait_for(b, "#page-next").click()
    WebDriverWait(b, WAIT, 0.05).until(lambda d: "page=" in d.current_url)
    wait_for(b, "#page-prev")
    second = wait_for(b, "#executions .execution-link", "order-").text
    assert {first, second} <= {"order-1", "order-2", "order-1-child"} and first != second

    # The other filters: tag, type, a time window that holds nothing.
    def links(route):
        b.get("about:blank")  # a fresh page each time, so no row of the previous list is read
        b.get(f"{swfd.endpoint}/console/#/executions?{route}")
        wait_for(b, "#executions tbody tr")
        return sorted(e.text for e in b.find_elements(By.CSS_SELECTOR, "#executions .execution-link"))
    assert links("domain=console&tag=vip") == ["order-1"]
    assert links("domain=console&typeName=order&typeVersion=1") == ["order-1", "order-1-child", "order-2"]
    assert links("domain=console&from=2100-01-01T00:00:00") == []
    assert "Nothing here" in b.find_element(By.ID, "executions").text

    b.get(f"{swfd.endpoint}/console/#/executions?domain=console")
    wait_for(b, "#executions .execution-link", "order-")
    box = wait_for(b, "#filter-workflowId")
    box.send_keys("order-1")
    b.find_element(By.ID, "filter-submit").click()
    WebDriverWait(b, WAIT, 0.05).until(lambda d: "workflowId=order-1" in d.current_url)
    wait_for(b, "#executions .execution-link", "order-1")
    assert [e.text for e in b.find_elements(By.CSS_SELECTOR, "#executions .execution-link")] == ["order-1"]
    shot(b, "executions")
    b.find_element(By.CSS_SELECTOR, "#executions .execution-link").click()

    wait_for(b, "#execution-status", "OPEN")
    assert wait_for(b, "#summary-workflow-id").text == "order-1"
    assert "vip" in b.find_element(By.ID, "summary").text
    shot(b, "execution-summary")

    # The child's page links back to its parent.
    wait_for(b, "#children a", "order-1-child").click()
    wait_for(b, "#summary-workflow-id", "order-1-child")
    wait_for(b, "#summary a", "order-1").click()
    wait_for(b, "#summary-workflow-id", "order-1")
    wait_for(b, "#execution-status", "OPEN")

    b.find_element(By.ID, "tab-pending").click()
    assert "None" not in wait_for(b, "#pending-decision").text
    # A signal sent from the page, after its confirmation, is in the history.
    b.find_element(By.ID, "signal").click()
    wait_for(b, "#confirm-signalName").send_keys("from-console")
    b.find_element(By.ID, "confirm-input").send_keys("hello")
    b.find_element(By.ID, "confirm-ok").click()

    def signal_in_history(d):
        d.find_element(By.ID, "tab-history").click()
        return '"signalName": "from-console"' in d.find_element(By.ID, "history-table").text
    WebDriverWait(b, WAIT, 0.05, ignored_exceptions=(
        StaleElementReferenceException, NoSuchElementException)).until(signal_in_history)
    b.find_element(By.ID, "tab-history").click()
    wait_for(b, "#history-table", "ActivityTaskCompleted")
    history = b.find_element(By.ID, "history-table").text
    for expected in ["WorkflowExecutionStarted", "ActivityTaskScheduled", "TimerStarted",
                     "WorkflowExecutionSignaled", '"activityId": "charge-1"', '"result": "charged"']:
        assert expected in history, expected
    shot(b, "execution-history")

    b.find_element(By.ID, "tab-timeline").click()
    activity = wait_for(b, "#timeline-svg g.row-activity")
    assert activity.get_attribute("data-outcome") == "completed"
    assert wait_for(b, "#timeline-svg g.row-timer").get_attribute("data-outcome") == "open"
    assert wait_for(b, "#timeline-svg g.row-child").get_attribute("data-outcome") == "open"
    decisions = b.find_elements(By.CSS_SELECTOR, "#timeline-svg g.row-decision")
    assert [d.get_attribute("data-outcome") for d in decisions] == ["completed", "open"]
    assert b.find_elements(By.CSS_SELECTOR, "#timeline-svg polygon.mark")
    shot(b, "execution-timeline")

    b.find_element(By.ID, "terminate").click()
    wait_for(b, "#confirm-dialog")
    b.find_element(By.ID, "confirm-reason").clear()
    b.find_element(By.ID, "confirm-reason").send_keys("console test")
    b.find_element(By.ID, "confirm-ok").click()
    wait_for(b, "#execution-status", "TERMINATED")
    assert "CLOSED" in b.find_element(By.ID, "execution-status").text
    info = swf.describe_workflow_execution(
        domain="console", execution={"workflowId": "order-1", "runId": run1})["executionInfo"]
    assert (info["executionStatus"], info["closeStatus"]) == ("CLOSED", "TERMINATED")
    assert not b.find_elements(By.ID, "terminate")

    b.get(f"{swfd.endpoint}/console/#/executions?domain=console&state=closed&closeStatus=TERMINATED")
    wait_for(b, "#executions", "TERMINATED")

    # Domains: the list with retention and open counts; deprecate and undeprecate with confirmation.
    b.get(f"{swfd.endpoint}/console/#/domains")
    cells = row_cells(b, "#domains tr", "console")
    assert cells[:4] == ["console", "REGISTERED", "3", "1"], cells
    shot(b, "domains")
    b.get(f"{swfd.endpoint}/console/#/domain?name=spare")
    wait_for(b, "#deprecate-domain").click()
    wait_for(b, "#confirm-cancel").click()
    assert wait_for(b, "#deprecate-domain")
    b.find_element(By.ID, "deprecate-domain").click()
    wait_for(b, "#confirm-ok").click()
    wait_for(b, "#undeprecate-domain")
    assert swf.describe_domain(name="spare")["domainInfo"]["status"] == "DEPRECATED"
    b.find_element(By.ID, "undeprecate-domain").click()
    wait_for(b, "#confirm-ok").click()
    wait_for(b, "#deprecate-domain")
    assert swf.describe_domain(name="spare")["domainInfo"]["status"] == "REGISTERED"
    b.get(f"{swfd.endpoint}/console/#/domain?name=console")
    wait_for(b, "#workflow-types", "decisions")
    wait_for(b, "#activity-types", "activities")
    shot(b, "domain")

    # Task lists: backlog, the waiting poller, and the identities that polled.
    b.get(f"{swfd.endpoint}/console/#/tasklists?domain=console")
    wait_for(b, "#tasklists tr", "activities")
    poll_until("the waiting worker on the task-list page", lambda: (
        b.refresh() or "waiting-worker" in wait_for(b, "#tasklists tr", "activities").text))
    cells = row_cells(b, "#tasklists tr", "activities")
    assert cells[:4] == ["activity", "activities", "0", "1"], cells
    assert "worker-1" in cells[4]
    cells = row_cells(b, "#tasklists tr", "decisions")
    assert cells[:3] == ["decision", "decisions", "1"], cells  # order-2's first decision task
    assert "decider-1" in cells[4]
    shot(b, "tasklists")


MACHINE = {
    "Comment": "console graph",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"n": 5}, "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"},
        "Big": {"Type": "Parallel", "Next": "Done", "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
            {"StartAt": "Right", "States": {"Right": {"Type": "Wait", "Seconds": 0, "End": True}}},
        ]},
        "Small": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def test_console_step_functions_graph(swfd, browser):
    sfn = client(swfd.endpoint, service="stepfunctions")
    arn = sfn.create_state_machine(name="router", definition=json.dumps(MACHINE),
                                   roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
    poll_until("the execution to succeed",
               lambda: sfn.describe_execution(executionArn=ex)["status"] == "SUCCEEDED")
    b = browser
    b.get(f"{swfd.endpoint}/console/#/sfn")
    wait_for(b, "#state-machines .machine-link", "router").click()
    wait_for(b, '#sfn-graph g.state[data-state="Route"]')
    names = {g.get_attribute("data-state") for g in b.find_elements(By.CSS_SELECTOR, "#sfn-graph g.state")}
    assert names == {"Prepare", "Route", "Big", "Left", "Right", "Small", "Done"}
    assert len(b.find_elements(By.CSS_SELECTOR, "#sfn-graph path.edge")) >= 6
    shot(b, "sfn-machine")
    wait_for(b, "#sfn-executions .sfn-execution-link", "run-1").click()
    wait_for(b, "#sfn-execution-status", "SUCCEEDED")
    status = {g.get_attribute("data-state"): g.get_attribute("data-status")
              for g in b.find_elements(By.CSS_SELECTOR, "#sfn-graph g.state")}
    assert status == {"Prepare": "succeeded", "Route": "succeeded", "Big": "succeeded",
                      "Left": "succeeded", "Right": "succeeded", "Small": "none",
                      "Done": "succeeded"}, status
    assert "ExecutionSucceeded" in b.find_element(By.ID, "sfn-history").text
    shot(b, "sfn-execution")

    # A failed execution: the Fail state red; a running one: its Task blue, then aborted once stopped.
    breaker = sfn.create_state_machine(name="breaker", roleArn=ROLE, definition=json.dumps({
        "StartAt": "Try", "States": {
            "Try": {"Type": "Pass", "Next": "Broken"},
            "Broken": {"Type": "Fail", "Error": "Oops", "Cause": "on purpose"}}}))["stateMachineArn"]
    failed = sfn.start_execution(stateMachineArn=breaker, name="fail-1")["executionArn"]
    poll_until("the execution to fail",
               lambda: sfn.describe_execution(executionArn=failed)["status"] == "FAILED")
    b.get(f"{swfd.endpoint}/console/#/sfn/execution?arn={failed}")
    wait_for(b, "#sfn-execution-status", "FAILED")
    assert wait_for(b, '#sfn-graph g.state[data-state="Broken"]').get_attribute("data-status") == "failed"
    assert wait_for(b, "p.bad", "Oops")

    activity = sfn.create_activity(name="approve")["activityArn"]
    waiter = sfn.create_state_machine(name="waiter", roleArn=ROLE, definition=json.dumps({
        "StartAt": "Approve", "States": {
            "Approve": {"Type": "Task", "Resource": activity, "End": True}}}))["stateMachineArn"]
    running = sfn.start_execution(stateMachineArn=waiter, name="wait-1")["executionArn"]
    b.get(f"{swfd.endpoint}/console/#/sfn/execution?arn={running}")
    poll_until("the Task state shown running", lambda: (
        b.refresh() or wait_for(b, '#sfn-graph g.state[data-state="Approve"]')
        .get_attribute("data-status") == "running"))
    sfn.stop_execution(executionArn=running, error="Stopped", cause="console test")
    b.refresh()
    wait_for(b, "#sfn-execution-status", "ABORTED")
    assert wait_for(b, '#sfn-graph g.state[data-state="Approve"]').get_attribute("data-status") == "aborted"


def cluster_view(node):
    with urllib.request.urlopen(f"{node.endpoint}/console/api/cluster", timeout=5) as r:
        return json.loads(r.read())


def test_console_cluster_page_after_leader_kill(root, browser):
    grpc = {n: free_port() for n in (1, 2, 3)}
    members = ",".join(f"{n}=127.0.0.1:{p}" for n, p in grpc.items())
    token = Path(root, "admin-token")
    token.write_text("console-test-admin-token-0123456789\n")
    nodes = {n: Swfd(root, "--node-id", str(n), "--grpc-addr", f"127.0.0.1:{grpc[n]}",
                     "--initial-members", members, "--admin-token-file", str(token),
                     name=f"node{n}") for n in (1, 2, 3)}
    try:
        for node in nodes.values():
            node.wait_healthy()
        first = poll_until("a leader", lambda: cluster_view(nodes[1])["leader_id"])
        old_term = cluster_view(nodes[first])["term"]
        swf = client(nodes[first].endpoint)
        swf.register_domain(name="before-kill", workflowExecutionRetentionPeriodInDays="1")
        nodes[first].kill()
        alive = [n for n in nodes if n != first]
        new = poll_until("a new leader", lambda: (
            lambda leader: leader if leader not in (None, first) else None)(
                cluster_view(nodes[alive[0]])["leader_id"]))
        # A write after the kill: the dead node falls behind.
        client(nodes[new].endpoint).register_domain(
            name="after-kill", workflowExecutionRetentionPeriodInDays="1")
        b = browser
        b.get(f"{nodes[new].endpoint}/console/#/cluster")
        wait_for(b, "#cluster-leader", f"node {new}")
        assert int(wait_for(b, "#cluster-term").text) > old_term
        wait_for(b, "#cluster-health", "HEALTHY")
        cells = row_cells(b, "#members tr", f"node {first}")
        # Columns: node, address, role, applied index, matched index, lag, replication.
        assert int(cells[5]) > 0, cells
        # Every live voter's applied index, from its answers to the quorum watch.
        for n in alive:
            WebDriverWait(b, WAIT, 0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
                lambda d, n=n: row_cells(d, "#members tr", f"node {n}")[3].isdigit()
                and int(row_cells(d, "#members tr", f"node {n}")[3]) > 0)
        # The dead node is shown as not replicating.
        assert row_cells(b, "#members tr", "not replicating")[0] == f"node {first}"
        role = {r[0]: r[2] for r in all_rows(b, "#members tbody tr")}
        assert role[f"node {new}"] == "Leader" and len(role) == 3, role
        wait_for(b, "#cluster-rate")
        # Calls made while the page watches show in its call rate.
        calls = client(nodes[new].endpoint)
        WebDriverWait(b, WAIT, 0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: calls.list_domains(registrationStatus="REGISTERED") and re.fullmatch(
                r"\d+\.\d", d.find_element(By.ID, "cluster-calls").text)
            and float(d.find_element(By.ID, "cluster-calls").text) > 0)
        WebDriverWait(b, WAIT, 0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: re.fullmatch(r"\d+\.\d", d.find_element(By.ID, "cluster-rate").text))
        shot(b, "cluster")
        # A follower's page: its own view, and where the lag is known.
        follower = next(n for n in alive if n != new)
        b.get(f"{nodes[follower].endpoint}/console/#/cluster")
        wait_for(b, "#cluster-leader", f"node {new}")
        wait_for(b, "#cluster", f"Node {follower} is not the leader")
        # A follower knows every live voter's applied index too (its quorum watch probes them).
        WebDriverWait(b, WAIT, 0.05, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: row_cells(d, "#members tr", f"node {new}")[3].isdigit())
    finally:
        for node in nodes.values():
            node.stop()


AUTH_CONFIG = f"""
[[principal]]
name = "operator"
access_key_id = "AKIDOPERATOR"
secret_access_key = "operator-secret"
admin = true
policy = '{ALLOW_ALL}'

[[principal]]
name = "reader"
access_key_id = "AKIDREADER"
secret_access_key = "reader-secret"
policy = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["swf:List*","swf:Describe*","swf:Count*","swf:Get*"],"Resource":"*"}}]}}'''
"""


def sign_in(b, key, secret):
    wait_for(b, "#login-form")
    for field, value in (("access-key-id", key), ("secret-access-key", secret)):
        el = b.find_element(By.ID, field)
        el.clear()
        el.send_keys(value)
    b.find_element(By.ID, "sign-in").click()


def test_console_with_auth(root, browser):
    config = Path(root, "auth.toml")
    config.write_text(AUTH_CONFIG)
    node = Swfd(root, "--grpc-addr", "127.0.0.1:0", "--auth-config", str(config), *peer_tls_args(root))
    try:
        node.wait_healthy()
        swf = client(node.endpoint, key="AKIDOPERATOR", secret="operator-secret")
        swf.register_domain(name="secured", workflowExecutionRetentionPeriodInDays="2")
        status, _, body = raw_get(node.endpoint, "/console/api/cluster")
        assert status == 400 and json.loads(body)["__type"].endswith("#MissingAuthenticationTokenException")
        status, _, body = raw_get(node.endpoint, "/console/api/info")
        assert json.loads(body)["auth"] is True and json.loads(body)["region"] == "us-east-1"

        b = browser
        b.get(f"{node.endpoint}/console/#/domains")
        wait_for(b, "#login-form")
        assert not b.find_elements(By.ID, "domains")
        shot(b, "sign-in")
        sign_in(b, "AKIDOPERATOR", "wrong-secret")
        wait_for(b, "#login-error", "signature")
        assert not b.find_elements(By.ID, "domains")

        sign_in(b, "AKIDOPERATOR", "operator-secret")
        wait_for(b, "#domains tr", "secured")
        b.get(f"{node.endpoint}/console/#/cluster")
        wait_for(b, "#cluster-leader", "node 1")
        # A signed GET with a query string (the pollers of a domain's task lists).
        b.get(f"{node.endpoint}/console/#/tasklists?domain=secured&extra=inbox")
        assert row_cells(b, "#tasklists tr", "activity")[:4] == ["activity", "inbox", "0", "0"]
        assert not b.find_elements(By.CSS_SELECTOR, ".error")
        # The keys are in this tab's sessionStorage only.
        assert b.execute_script("return localStorage.length") == 0
        assert "AKIDOPERATOR" in b.execute_script(
            "return sessionStorage.getItem('swfd-console-credentials')")

        # A principal that is not an admin and may only read: the cluster view and a deprecation are
        # refused as API calls would be.
        wait_for(b, "#sign-out").click()
        wait_for(b, "#login-form")
        b.get(f"{node.endpoint}/console/#/domains")
        sign_in(b, "AKIDREADER", "reader-secret")
        wait_for(b, "#domains tr", "secured")
        b.get(f"{node.endpoint}/console/#/cluster")
        wait_for(b, ".error", "AccessDeniedException")
        b.get(f"{node.endpoint}/console/#/tasklists?domain=secured&extra=inbox")
        assert row_cells(b, "#tasklists tr", "activity")[2] == "0"
        wait_for(b, ".error", "swfd:DescribePollers")
        b.get(f"{node.endpoint}/console/#/domain?name=secured")
        wait_for(b, "#deprecate-domain").click()
        wait_for(b, "#confirm-ok").click()
        wait_for(b, ".error", "not authorized to perform: swf:DeprecateDomain")
        assert swf.describe_domain(name="secured")["domainInfo"]["status"] == "REGISTERED"
    finally:
        node.stop()
