"""The answer for one raw bounce email: the Classification resource of ARCHITECTURE section 5."""

from typing import Literal

from pydantic import BaseModel, Field

from bounce_ingest.classification import Category

Kind = Literal["bounce", "complaint", "auto_reply", "delayed", "delivered", "not_a_bounce"]


class DsnBounce(BaseModel):
    """One failed recipient of a bounce email, classified."""

    recipient: str
    category: Category
    reason: str
    permanent: bool
    smtp_status: str | None = None
    smtp_code: int | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    # Which layer of evidence decided the reason (``classification.LAYERS``).
    decided_by: str | None = None


class Classification(BaseModel):
    """What a raw email turned out to be; only ``kind == "bounce"`` carries bounces.

    ``recipients`` names the addresses a complaint, delay or delivery report is about, so a complaint
    can be matched to the message the same way a bounce is.
    """

    kind: Kind
    bounces: list[DsnBounce] = Field(default_factory=list)
    original_message_id: str | None = None
    seevee_message_id: str | None = None
    feedback_type: str | None = None
    recipients: list[str] = Field(default_factory=list)
