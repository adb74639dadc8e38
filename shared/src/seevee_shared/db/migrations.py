"""Alembic glue every service shares: its env.py calls ``run_env()``; ``revision`` autogenerates.

Run as ``python -m seevee_shared.db.migrations init <migrations_dir> <models_module>`` once, then
``python -m seevee_shared.db.migrations revision <migrations_dir> <models_module> <message>``.
"""

import argparse
import importlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlmodel import SQLModel


def _config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return config


def upgrade_connection(connection: Connection, migrations_dir: Path) -> None:
    """Upgrade to head on an open connection (the caller's transaction holds the migration lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(7355608)"))
    config = _config(migrations_dir)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _configure(connection: Connection, metadata: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_env() -> None:
    """The body of every service's ``env.py``: migrate the connection ``upgrade_connection`` hands over."""
    metadata = SQLModel.metadata
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through Database.upgrade or the revision command")
    _configure(connection, metadata)
    with context.begin_transaction():
        context.run_migrations()


def _revision(migrations_dir: Path, models_module: str, message: str) -> None:
    importlib.import_module(models_module)
    from sqlalchemy import create_engine

    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/scratch.db")
        with engine.begin() as connection:
            config = _config(migrations_dir)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            command.revision(config, message=message, autogenerate=True)


_ENV_PY = '''"""Alembic environment: the shared runner, with this service's tables imported."""

import {models_module}  # noqa: F401  (registers the tables on the metadata)
from seevee_shared.db.migrations import run_env

run_env()
'''

_SCRIPT_MAKO = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import seevee_shared.db.types
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


def _init(migrations_dir: Path, models_module: str) -> None:
    (migrations_dir / "versions").mkdir(parents=True, exist_ok=True)
    (migrations_dir / "env.py").write_text(_ENV_PY.format(models_module=models_module))
    (migrations_dir / "script.py.mako").write_text(_SCRIPT_MAKO)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seevee_shared.db.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    revision = sub.add_parser("revision", help="autogenerate a revision against a scratch SQLite")
    revision.add_argument("migrations_dir", type=Path)
    revision.add_argument("models_module")
    revision.add_argument("message")
    init = sub.add_parser("init", help="lay out a service's migrations folder")
    init.add_argument("migrations_dir", type=Path)
    init.add_argument("models_module")
    args = parser.parse_args(argv)
    if args.command == "init":
        _init(args.migrations_dir, args.models_module)
    else:
        _revision(args.migrations_dir, args.models_module, args.message)


if __name__ == "__main__":
    main(sys.argv[1:])
