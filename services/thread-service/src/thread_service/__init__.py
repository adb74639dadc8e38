"""thread_service."""
