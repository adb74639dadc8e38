"""The Kafka image formats its data directory whatever cluster id it makes or is given.

A random base64url id starts with "-" once in 64 tries, and the storage tool used to read such an id
as an option: the broker exited before it ever listened, and its restart made a new id.
"""

import re
import subprocess

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from seevee_deploy.containers import container_mode, kafka_container
from seevee_deploy.localkafka import REPO_ROOT

CLUSTER_ID_SCRIPT = REPO_ROOT / "deploy" / "images" / "kafka" / "cluster-id.sh"


def test_made_cluster_ids_are_base64url_uuids_that_never_start_with_a_dash() -> None:
    made = subprocess.run(
        [CLUSTER_ID_SCRIPT, "600"], check=True, capture_output=True, text=True
    ).stdout.split()
    assert len(made) == len(set(made)) == 600
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cluster_id) for cluster_id in made)


@pytest.mark.containers
@pytest.mark.skipif(not container_mode(), reason="container mode only (SEEVEE_TEST_MODE=containers)")
async def test_a_given_cluster_id_that_starts_with_a_dash_still_formats_and_serves() -> None:
    cluster_id = "-AbCdEfGhIjKlMnOpQrStw"
    with kafka_container(partitions=1, cluster_id=cluster_id) as bootstrap:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            described = await admin.describe_cluster()
        finally:
            await admin.close()
    assert described["cluster_id"] == cluster_id
