"""Which Alembic revisions a migrations folder ends in, read without importing Alembic.

A restarted service whose store is already at head needs no migration run; telling that from one
query and a parse of the revision files saves Alembic's import and environment (about a second of
CPU), most of a migration check at start.
"""

import ast
from pathlib import Path


def _assigned(tree: ast.Module, name: str) -> object:
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        if value is not None and any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    raise ValueError(f"no {name} assigned")


def script_heads(migrations_dir: Path) -> frozenset[str]:
    """The revisions no other revision builds on; empty when a file cannot be read this way."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((migrations_dir / "versions").glob("*.py")):
        try:
            tree = ast.parse(path.read_text())
            revision, down = _assigned(tree, "revision"), _assigned(tree, "down_revision")
        except (SyntaxError, ValueError):
            return frozenset()  # not a plain revision file: let Alembic decide
        if not isinstance(revision, str):
            return frozenset()
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(parent) for parent in down)
    return frozenset(revisions - parents)
