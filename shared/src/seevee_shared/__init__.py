"""seevee_shared."""
