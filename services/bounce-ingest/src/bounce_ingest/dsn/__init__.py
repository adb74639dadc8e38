"""Raw bounce emails (DSN/NDR): MIME walking, RFC 3464 fields, per-MTA fallbacks, phrase tables.

Entry point: :func:`bounce_ingest.dsn.parser.parse_bounce_email` (not re-exported here, because
``bounce_ingest.classification`` reads this package's phrase tables and must import without it).
"""
