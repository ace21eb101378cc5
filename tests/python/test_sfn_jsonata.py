"""JSONata and workflow variables on swfd with boto3 ``stepfunctions`` (fixture from test_smoke): a
JSONata machine whose Pass assigns variables, whose activity Task (run by a boto3 worker) gets its
``Arguments`` from an expression over ``$states.input`` and a variable and assigns from
``$states.result``, whose Choice decides on a ``Condition`` over a variable, and whose Succeed builds
its ``Output`` from variables; then the ``assignedVariables`` AWS writes into ``...StateExited``
(shape as recorded against AWS in localstack's ``v2/assign`` snapshots) and DescribeStateMachine's
``variableReferences``.
"""

import json

import pytest

from sfn_support import sfn_client, wait_closed
from test_smoke import Swfd

ROLE = "arn:aws:iam::000000000000:role/jsonata"


@pytest.fixture
def swfd():
    server = Swfd()
    yield server
    server.stop()


def test_jsonata_machine_with_variables_run_by_a_boto3_worker(swfd):
    sfn = sfn_client(swfd.endpoint)
    act = sfn.create_activity(name="jsonata-worker")["activityArn"]
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Setup",
        "States": {
            "Setup": {
                "Type": "Pass",
                "Assign": {"who": "{% $uppercase($states.input.name) %}", "factor": 3},
                "Next": "Work",
            },
            "Work": {
                "Type": "Task",
                "Resource": act,
                "Arguments": {"n": "{% $states.input.n * $factor %}", "who": "{% $who %}"},
                "Assign": {"doubled": "{% $states.result.value * 2 %}"},
                "Output": {"raw": "{% $states.result.value %}"},
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $doubled > 50 %}", "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {
                "Type": "Succeed",
                "Output": {"who": "{% $who %}", "doubled": "{% $doubled %}", "raw": "{% $states.input.raw %}",
                           "keys": "{% $keys({'z': 1, 'a': 2, 'm': 3}) %}"},
            },
            "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "{% $string($doubled) %}"},
        },
    }
    sm = sfn.create_state_machine(name="jsonata", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    refs = sfn.describe_state_machine(stateMachineArn=sm)["variableReferences"]
    assert refs == {"Work": ["factor", "who"], "Check": ["doubled"], "Big": ["doubled", "who"],
                    "Small": ["doubled"]}

    execution = sfn.start_execution(
        stateMachineArn=sm, name="run-1", input=json.dumps({"name": "ana", "n": 7})
    )["executionArn"]
    task = sfn.get_activity_task(activityArn=act, workerName="py-worker")
    assert task.get("taskToken"), task
    assert json.loads(task["input"]) == {"n": 21, "who": "ANA"}
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"value": 21 + 5}))

    described = wait_closed(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    # The object an expression builds keeps its keys in the order written, as AWS does.
    assert described["output"] == json.dumps(
        {"who": "ANA", "doubled": 52, "raw": 26, "keys": ["z", "a", "m"]}, separators=(",", ":")
    )

    events = sfn.get_execution_history(executionArn=execution)["events"]
    exited = {
        e["stateExitedEventDetails"]["name"]: e["stateExitedEventDetails"]
        for e in events
        if "stateExitedEventDetails" in e
    }
    assert exited["Setup"]["assignedVariables"] == {"who": '"ANA"', "factor": "3"}
    assert exited["Setup"]["assignedVariablesDetails"] == {"truncated": False}
    assert exited["Work"]["assignedVariables"] == {"doubled": "52"}
    assert "assignedVariables" not in exited["Check"]
