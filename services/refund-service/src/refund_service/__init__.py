"""refund_service."""
