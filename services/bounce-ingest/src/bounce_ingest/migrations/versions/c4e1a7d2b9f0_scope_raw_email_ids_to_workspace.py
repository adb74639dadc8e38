"""scope raw-email bounce and complaint ids to the reporting workspace

A raw bounce email's id was derived from its Message-ID and recipient alone, so one workspace could
post another's Message-ID first and turn the genuine bounce into a duplicate. The id now includes the
reporting workspace (``domain.record_id``); stored rows get their new id here, so a retry of an email
stored before this revision is still recognised as a duplicate. Events already published keep the id
they went out with.

Revision ID: c4e1a7d2b9f0
Revises: 548e3d6b8bad
Create Date: 2026-12-02 15:40:00

"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e1a7d2b9f0"
down_revision: str | None = "548e3d6b8bad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the rules at this revision (the code may move on; a migration must not).
_NAMESPACE = uuid.UUID("6f1d8f57-3b0c-5a8e-9d8e-2f9a0c7b5e11")
_SCOPE_SEPARATOR = "\x1e"
_TABLES = (("ingest_bounces", "bounce_id"), ("ingest_complaints", "complaint_id"))


def _record_id(provider: str, event_id: str, recipient: str, scope: str | None) -> str:
    scoped = event_id if scope is None else f"{event_id}{_SCOPE_SEPARATOR}{scope}"
    name = f"{provider.lower()}\x1f{scoped}\x1f{recipient.strip().lower()}"
    return str(uuid.uuid5(_NAMESPACE, name))


def _rewrite(scoped: bool) -> None:
    connection = op.get_bind()
    for table, key in _TABLES:
        rows = connection.execute(
            sa.text(
                f"SELECT {key}, provider, provider_event_id, recipient, workspace_scope FROM {table} "
                "WHERE provider = 'dsn' AND workspace_scope IS NOT NULL"
            )
        ).all()
        for old_id, provider, event_id, recipient, scope in rows:
            new_id = _record_id(provider, event_id, recipient, scope if scoped else None)
            if new_id != old_id:
                connection.execute(
                    sa.text(f"UPDATE {table} SET {key} = :new WHERE {key} = :old"),
                    {"new": new_id, "old": old_id},
                )


def upgrade() -> None:
    _rewrite(scoped=True)


def downgrade() -> None:
    """Back to unscoped ids; fails on the primary key if two workspaces stored the same email since."""
    _rewrite(scoped=False)
