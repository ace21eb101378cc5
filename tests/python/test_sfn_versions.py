"""Versions, aliases and TestState with boto3 ``stepfunctions`` against swfd (fixture from
test_smoke): publish on create and update, PublishStateMachineVersion, List / Delete versions, an
alias routing between two versions, executions started through a version ARN and an alias ARN (the
version each ran, in DescribeExecution), Describe / Update / List / Delete of the alias, and TestState
of a Pass state at the DEBUG inspection level. botocore maps the faults by their ``__type``.
"""

import json

import pytest

from sfn_support import sfn_client, wait_closed
from test_smoke import Swfd

ROLE = "arn:aws:iam::000000000000:role/r"


@pytest.fixture
def swfd():
    server = Swfd()
    yield server
    server.stop()



def pass_result(result):
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}})



def test_versions_and_aliases_with_boto3(swfd):
    sfn = sfn_client(swfd.endpoint)
    created = sfn.create_state_machine(
        name="versioned", definition=pass_result("one"), roleArn=ROLE, publish=True
    )
    sm = created["stateMachineArn"]
    v1 = created["stateMachineVersionArn"]
    assert v1 == sm + ":1"
    updated = sfn.update_state_machine(
        stateMachineArn=sm, definition=pass_result("two"), publish=True, versionDescription="second"
    )
    v2 = updated["stateMachineVersionArn"]
    assert v2 == sm + ":2"
    # Publishing the same revision again answers the same version.
    revision = sfn.describe_state_machine(stateMachineArn=sm)["revisionId"]
    again = sfn.publish_state_machine_version(stateMachineArn=sm, revisionId=revision)
    assert again["stateMachineVersionArn"] == v2
    described = sfn.describe_state_machine(stateMachineArn=v1)
    assert described["stateMachineArn"] == v1
    assert json.loads(described["definition"])["States"]["P"]["Result"] == "one"
    versions = [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]]
    assert versions == [v2, v1], "newest first"
    with pytest.raises(sfn.exceptions.ConflictException):
        sfn.publish_state_machine_version(stateMachineArn=sm, revisionId="not-the-current-one")

    alias = sfn.create_state_machine_alias(
        name="live",
        description="the live one",
        routingConfiguration=[
            {"stateMachineVersionArn": v1, "weight": 50},
            {"stateMachineVersionArn": v2, "weight": 50},
        ],
    )["stateMachineAliasArn"]
    assert alias == sm + ":live"
    with pytest.raises(sfn.exceptions.ValidationException) as e:
        sfn.create_state_machine_alias(
            name="bad",
            routingConfiguration=[
                {"stateMachineVersionArn": v1, "weight": 70},
                {"stateMachineVersionArn": v2, "weight": 29},
            ],
        )
    assert "Sum of routing configuration weights must equal 100" in str(e.value)
    d = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert d["name"] == "live" and len(d["routingConfiguration"]) == 2
    listed = sfn.list_state_machine_aliases(stateMachineArn=sm)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [alias]

    # Through the alias: each execution runs one of the two versions and says which.
    ran = {}
    for i in range(30):
        x = sfn.start_execution(stateMachineArn=alias, name=f"via-alias-{i}")["executionArn"]
        d = wait_closed(sfn, x)
        assert d["status"] == "SUCCEEDED"
        assert d["stateMachineAliasArn"] == alias
        version = d["stateMachineVersionArn"]
        assert d["output"] == ('"one"' if version == v1 else '"two"')
        ran[version] = ran.get(version, 0) + 1
    assert set(ran) == {v1, v2}, ran
    # Through a version ARN.
    x = sfn.start_execution(stateMachineArn=v1, name="via-version")["executionArn"]
    d = wait_closed(sfn, x)
    assert d["output"] == '"one"' and d["stateMachineVersionArn"] == v1

    # All traffic to version 2; then version 1 can go (a version an alias routes to cannot).
    with pytest.raises(sfn.exceptions.ConflictException):
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias, routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}]
    )
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    versions = [v["stateMachineVersionArn"] for v in sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]]
    assert versions == [v2]
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert sfn.list_state_machine_aliases(stateMachineArn=sm)["stateMachineAliases"] == []


def test_test_state_with_boto3(swfd):
    sfn = sfn_client(swfd.endpoint)
    state = {
        "Type": "Pass",
        "InputPath": "$.data",
        "Parameters": {"fixed": "x", "copied.$": "$.field"},
        "ResultPath": "$.result",
        "Next": "After",
    }
    out = sfn.test_state(
        definition=json.dumps(state),
        input=json.dumps({"data": {"field": "from input", "other": 1}}),
        inspectionLevel="DEBUG",
    )
    assert out["status"] == "SUCCEEDED"
    assert out["nextState"] == "After"
    assert json.loads(out["output"])["result"] == {"fixed": "x", "copied": "from input"}
    assert json.loads(out["inspectionData"]["afterParameters"]) == {"fixed": "x", "copied": "from input"}
    info = sfn.test_state(definition=json.dumps(state), input='{"data": {"field": 1}}')
    assert "inspectionData" not in info
    failing = sfn.test_state(definition=json.dumps({"Type": "Fail", "Error": "Boom", "Cause": "because"}))
    assert failing["status"] == "FAILED"
    assert failing["error"] == "Boom" and failing["cause"] == "because"
