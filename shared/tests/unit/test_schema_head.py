"""Reading a migrations folder's head revisions without Alembic: the start-up shortcut's input."""

from pathlib import Path

from seevee_shared.db.schema_head import script_heads


def _revision(folder: Path, revision: str, down: str) -> None:
    (folder / "versions").mkdir(parents=True, exist_ok=True)
    (folder / "versions" / f"{revision}_step.py").write_text(
        f'"""step"""\nrevision: str = {revision!r}\ndown_revision: str | None = {down}\n'
        "def upgrade() -> None:\n    pass\n"
    )


def test_a_chain_ends_in_its_last_revision(tmp_path: Path) -> None:
    _revision(tmp_path, "a1", "None")
    _revision(tmp_path, "b2", "'a1'")
    _revision(tmp_path, "c3", "'b2'")
    assert script_heads(tmp_path) == {"c3"}


def test_branches_are_both_heads_until_a_merge_joins_them(tmp_path: Path) -> None:
    _revision(tmp_path, "a1", "None")
    _revision(tmp_path, "b2", "'a1'")
    _revision(tmp_path, "b3", "'a1'")
    assert script_heads(tmp_path) == {"b2", "b3"}
    _revision(tmp_path, "m4", "('b2', 'b3')")
    assert script_heads(tmp_path) == {"m4"}


def test_a_file_it_cannot_read_leaves_the_decision_to_alembic(tmp_path: Path) -> None:
    _revision(tmp_path, "a1", "None")
    (tmp_path / "versions" / "odd.py").write_text("revision = make_revision()\n")
    assert script_heads(tmp_path) == frozenset()


def test_every_service_folder_has_one_head() -> None:
    root = Path(__file__).resolve().parents[3] / "services"
    folders = sorted(root.glob("*/src/*/migrations"))
    assert len(folders) == 5
    for folder in folders:
        assert len(script_heads(folder)) == 1, folder
