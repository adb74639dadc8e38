"""What the API answers with."""

from datetime import datetime

from pydantic import BaseModel

from refund_service.domain.rows import Refund
from seevee_shared.events import RefundBasis, RefundStatus


class RefundOut(BaseModel):
    refund_id: str
    reveal_id: str
    contact_id: str
    email: str
    bounce_id: str
    status: RefundStatus
    basis: RefundBasis
    explanation: str
    credits: int
    created_at: datetime
    updated_at: datetime
    requested_at: datetime | None
    requested_by: str | None
    decided_at: datetime | None
    decided_by: str | None


class BounceStatsOut(BaseModel):
    employer_domain: str
    window_days: int
    window_start: datetime
    window_end: datetime
    reveals: int
    hard_bounces: int
    distinct_contacts: int
    rate: float
    spike_threshold_met: bool
    spike_flagged: bool
    last_spike_detected_at: datetime | None


def refund_view(record: Refund) -> RefundOut:
    return RefundOut.model_validate(record, from_attributes=True)
