"""bounce_ingest."""
