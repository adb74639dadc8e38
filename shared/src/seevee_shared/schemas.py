"""JSON Schemas of every event, generated from the models into ``shared/schemas/``.

``python -m seevee_shared.schemas write`` regenerates them; a test fails while they are stale.
"""

import json
import sys
from pathlib import Path

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import EVENT_MODELS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def rendered() -> dict[str, str]:
    """File name -> schema text, for the envelope and each event's data."""
    files = {"cloudevent.json": CloudEvent.model_json_schema()}
    for topic, model in EVENT_MODELS.items():
        schema = model.model_json_schema()
        schema["$id"] = f"urn:seevee:{topic}:{model.major}"
        files[f"{topic}.v{model.major}.json"] = schema
    return {name: json.dumps(schema, indent=2, sort_keys=True) + "\n" for name, schema in files.items()}


def write(directory: Path = SCHEMA_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in rendered().items():
        (directory / name).write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] != ["write"]:
        raise SystemExit("usage: python -m seevee_shared.schemas write")
    write()
