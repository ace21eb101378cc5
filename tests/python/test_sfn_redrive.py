"""RedriveExecution with boto3 ``stepfunctions`` against swfd (fixture from test_smoke): a failed
activity, redriven, then succeeding; botocore maps ``ExecutionNotRedrivable`` by its ``__type``;
DescribeExecution's redrive members and ListExecutions' ``redriveFilter``.
"""

import json

import pytest

from sfn_support import sfn_client, take, wait_closed
from test_smoke import Swfd


@pytest.fixture
def swfd():
    server = Swfd()
    yield server
    server.stop()





def test_redrive_with_boto3(swfd):
    sfn = sfn_client(swfd.endpoint)
    act = sfn.create_activity(name="flaky")["activityArn"]
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": act, "End": True}},
    }
    sm = sfn.create_state_machine(
        name="redrive",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/r",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=sm, name="run-1", input='{"k":1}')["executionArn"]
    task = take(sfn, act)
    sfn.send_task_failure(taskToken=task["taskToken"], error="Flaky")
    d = wait_closed(sfn, execution)
    assert (d["status"], d["redriveCount"], d["redriveStatus"]) == ("FAILED", 0, "REDRIVABLE")

    # boto3 fills in clientToken itself (an idempotency token).
    out = sfn.redrive_execution(executionArn=execution)
    assert "redriveDate" in out
    task = take(sfn, act)
    assert json.loads(task["input"]) == {"k": 1}
    sfn.send_task_success(taskToken=task["taskToken"], output='"fine"')
    d = wait_closed(sfn, execution)
    assert (d["status"], d["redriveCount"], d["output"]) == ("SUCCEEDED", 1, '"fine"')
    assert d["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    assert d["redriveDate"] == out["redriveDate"]
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    redriven = [e for e in events if e["type"] == "ExecutionRedriven"]
    assert [e["executionRedrivenEventDetails"] for e in redriven] == [{"redriveCount": 1}]

    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable) as err:
        sfn.redrive_execution(executionArn=execution)
    assert err.value.response["Error"]["Message"] == "Execution is SUCCEEDED and cannot be redriven"

    listed = sfn.list_executions(stateMachineArn=sm, redriveFilter="REDRIVEN")["executions"]
    assert [(e["name"], e["redriveCount"]) for e in listed] == [("run-1", 1)]
    assert sfn.list_executions(stateMachineArn=sm, redriveFilter="NOT_REDRIVEN")["executions"] == []
