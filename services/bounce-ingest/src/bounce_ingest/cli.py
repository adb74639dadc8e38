"""The ``bounce-ingest`` command: offline tools that need no server (more subcommands can join)."""

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from bounce_ingest.dsn.parser import parse_bounce_email


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bounce-ingest`` console script."""
    parser = argparse.ArgumentParser(prog="bounce-ingest", description="SeeVee bounce-ingest tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    classify = commands.add_parser("classify", help="classify raw bounce emails; one JSON line per file")
    classify.add_argument("paths", nargs="+", type=Path, help="email files or folders (walked)")
    args = parser.parse_args(argv)
    if args.command == "classify":
        return classify_paths(args.paths)
    parser.error(f"unknown command {args.command}")
    return 2


def classify_paths(paths: Sequence[Path]) -> int:
    """Print one Classification per file; exit 1 if a path could not be read."""
    status = 0
    for path in email_files(paths):
        try:
            raw = path.read_bytes()
        except OSError as error:
            print(json.dumps({"path": str(path), "error": str(error)}), flush=True)
            status = 1
            continue
        answer = parse_bounce_email(raw).model_dump(mode="json")
        sys.stdout.write(json.dumps({"path": str(path), **answer}, ensure_ascii=False) + "\n")
    return status


def email_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files as given, and every file under a given folder (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(
                    part.startswith(".") for part in child.relative_to(path).parts
                ):
                    yield child
        else:
            yield path


if __name__ == "__main__":
    raise SystemExit(main())
