"""Nested executions and Distributed Map on swfd with boto3 ``stepfunctions`` (fixture from
test_smoke): a parent's ``startExecution.sync:2`` Task over a child, and a Distributed Map whose run is
read and changed with DescribeMapRun, ListMapRuns, UpdateMapRun and ListExecutions(mapRunArn); botocore
parses ``ResourceNotFound`` by its ``__type``.
"""

import json

import pytest

from sfn_support import sfn_client, wait_closed
from test_smoke import Swfd

ROLE = "arn:aws:iam::000000000000:role/nested"


@pytest.fixture
def swfd():
    server = Swfd()
    yield server
    server.stop()



def test_sync2_parent_and_distributed_map_with_boto3(swfd):
    sfn = sfn_client(swfd.endpoint)
    child = sfn.create_state_machine(
        name="child",
        definition=json.dumps(
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True}}}
        ),
        roleArn=ROLE,
    )["stateMachineArn"]
    parent = sfn.create_state_machine(
        name="parent",
        definition=json.dumps(
            {
                "StartAt": "N",
                "States": {
                    "N": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n"}},
                        "OutputPath": "$.Output",
                        "End": True,
                    }
                },
            }
        ),
        roleArn=ROLE,
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=parent, input='{"n": 3}')["executionArn"]
    d = wait_closed(sfn, execution)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"]) == {"got": 3}
    types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]

    fan = sfn.create_state_machine(
        name="fan",
        definition=json.dumps(
            {
                "StartAt": "M",
                "States": {
                    "M": {
                        "Type": "Map",
                        "ItemsPath": "$.items",
                        "MaxConcurrency": 2,
                        "ItemBatcher": {"MaxItemsPerBatch": 3},
                        "ItemProcessor": {
                            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                            "StartAt": "P",
                            "States": {"P": {"Type": "Pass", "End": True}},
                        },
                        "End": True,
                    }
                },
            }
        ),
        roleArn=ROLE,
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=fan, input=json.dumps({"items": list(range(7))}))[
        "executionArn"
    ]
    d = wait_closed(sfn, execution)
    assert d["status"] == "SUCCEEDED", d
    assert [b["Items"] for b in json.loads(d["output"])] == [[0, 1, 2], [3, 4, 5], [6]]
    runs = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    assert len(runs) == 1
    run = runs[0]["mapRunArn"]
    described = sfn.describe_map_run(mapRunArn=run)
    assert described["status"] == "SUCCEEDED"
    assert described["itemCounts"]["total"] == 7
    assert described["executionCounts"]["total"] == 3
    assert described["maxConcurrency"] == 2
    children = sfn.list_executions(mapRunArn=run)["executions"]
    assert len(children) == 3
    assert all(c["mapRunArn"] == run for c in children)
    sfn.update_map_run(mapRunArn=run, toleratedFailureCount=1)
    assert sfn.describe_map_run(mapRunArn=run)["toleratedFailureCount"] == 1
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.describe_map_run(mapRunArn=run[:-4] + "0000")
