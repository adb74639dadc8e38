"""seevee_deploy."""
