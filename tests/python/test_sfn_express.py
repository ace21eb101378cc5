"""EXPRESS state machines on swfd with the stock AWS tooling: boto3 ``stepfunctions`` and the
``aws stepfunctions start-sync-execution`` CLI.

Both SDKs send StartSyncExecution to ``sync-<endpoint host>`` (the operation's host prefix, as AWS's
``sync-states.<region>.amazonaws.com``), which does not resolve for a custom endpoint such as
``http://127.0.0.1:PORT``: boto3 takes ``Config(inject_host_prefix=False)``, the CLI the
``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` environment variable (botocore's
``disable_host_prefix_injection`` setting).
"""

import json
import os
import subprocess

import pytest

from sfn_support import sfn_client
from test_smoke import DUMMY_ENV, Swfd


@pytest.fixture
def swfd():
    server = Swfd()
    yield server
    server.stop()



def test_express_sync_with_boto3_and_cli(swfd):
    sfn = sfn_client(swfd.endpoint)
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True}},
    }
    sm = sfn.create_state_machine(
        name="express-smoke",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/smoke",
        type="EXPRESS",
    )["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=sm)["type"] == "EXPRESS"

    out = sfn.start_sync_execution(stateMachineArn=sm, input=json.dumps({"n": 21}))
    assert out["status"] == "SUCCEEDED", out
    assert json.loads(out["output"]) == {"doubled": 42}
    assert out["billingDetails"]["billedMemoryUsedInMB"] == 64
    assert ":express:express-smoke:" in out["executionArn"]

    # botocore maps the error shapes by `__type`.
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.list_executions(stateMachineArn=sm)
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.describe_execution(executionArn=out["executionArn"])

    env = {**os.environ, **DUMMY_ENV, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}
    cli = subprocess.run(
        [
            "aws", "stepfunctions", "start-sync-execution",
            "--state-machine-arn", sm,
            "--input", json.dumps({"n": 5}),
            "--endpoint-url", swfd.endpoint,
            "--output", "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answered = json.loads(cli.stdout)
    assert answered["status"] == "SUCCEEDED", answered
    assert json.loads(answered["output"]) == {"doubled": 10}
