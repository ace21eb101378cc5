"""What the boto3 Step Functions tests share: a client for a swfd endpoint, waiting for an execution
to close, and taking an activity task. Not a test module itself.
"""

import time

import boto3
from botocore.config import Config

from test_smoke import DUMMY_ENV


def sfn_client(endpoint):
    # TestState and StartSyncExecution go to AWS's `sync-` endpoint: botocore puts that prefix in
    # front of the host, which an endpoint URL with an IP address cannot take, so it is turned off.
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=DUMMY_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(inject_host_prefix=False),
    )


def wait_closed(sfn, execution):
    """Polls DescribeExecution until the execution is no longer RUNNING (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        d = sfn.describe_execution(executionArn=execution)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.02)
    raise AssertionError(f"{execution} still running")


def take(sfn, act):
    """One GetActivityTask that must hand out a task."""
    task = sfn.get_activity_task(activityArn=act, workerName="py-worker")
    assert task.get("taskToken"), task
    return task
