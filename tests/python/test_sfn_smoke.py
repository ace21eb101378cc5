"""Smoke test of Step Functions on swfd with the stock AWS tooling: boto3 ``stepfunctions`` and the
``aws stepfunctions`` CLI, against the same swfd process and port as SWF (fixture from test_smoke).

An activity worker (boto3) runs Pass -> Task(activity) -> Choice -> Succeed; botocore parses the
service errors by their ``__type`` (``ExecutionDoesNotExist``, ``InvalidToken``); the CLI describes
the execution.
"""

import json
import os
import subprocess
import time

import pytest

from sfn_support import sfn_client
from test_smoke import DUMMY_ENV, Swfd


@pytest.fixture
def swfd():
    server = Swfd()
    yield server
    server.stop()



def test_activity_worker_with_boto3_and_cli(swfd):
    sfn = sfn_client(swfd.endpoint)
    act = sfn.create_activity(name="smoke")["activityArn"]
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": 20, "ResultPath": "$.n", "Next": "T"},
            "T": {"Type": "Task", "Resource": act, "ResultPath": "$.doubled", "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.doubled", "NumericEquals": 40, "Next": "S"}],
                "Default": "F",
            },
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "Wrong"},
        },
    }
    sm = sfn.create_state_machine(
        name="smoke",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/smoke",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=sm, name="run-1", input="{}")["executionArn"]

    task = sfn.get_activity_task(activityArn=act, workerName="py-worker")
    assert task.get("taskToken"), task
    n = json.loads(task["input"])["n"]
    sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps(n * 2))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status != "RUNNING":
            break
        time.sleep(0.02)
    assert status == "SUCCEEDED"
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))

    # botocore maps the error shapes by `__type`.
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.describe_execution(executionArn=sm.replace(":stateMachine:", ":execution:") + ":nope")
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_success(taskToken="garbage", output="{}")
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")

    env = {**os.environ, **DUMMY_ENV}
    out = subprocess.run(
        [
            "aws", "stepfunctions", "describe-execution",
            "--execution-arn", execution,
            "--endpoint-url", swfd.endpoint,
            "--output", "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    described = json.loads(out.stdout)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["doubled"] == 40
