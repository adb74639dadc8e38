"""Fixtures every test folder may use: the real Kafka broker (``kafka_bootstrap``)."""

pytest_plugins = ["seevee_deploy.pytest_plugin"]
