from seevee_shared.schemas import SCHEMA_DIR, rendered


def test_generated_schemas_are_up_to_date() -> None:
    """Run ``make schemas`` when this fails: the committed schemas must match the models."""
    expected = rendered()
    on_disk = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk == expected
