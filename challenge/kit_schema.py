"""The JSON Schema of `challenge.yml`, generated from the models that load it.

Editors read it for completion, hover text and checks as one types: with the YAML
language server (VS Code's YAML extension, and others), a first line

    # yaml-language-server: $schema=<path or URL of challenge.schema.json>

in challenge.yml is enough. The schema ships in the package (challenge/schema/) and
is regenerated after a change to the models with

    python -m challenge.kit_schema --write

(tests/test_kit_spec.py fails while the shipped file differs from the models). It
says what a JSON Schema can: keys, types, ranges, patterns, the labels a prediction
type needs and the prediction type a workflow needs. What it cannot (a score name
used twice, a phase ending before it starts, score types from a kit's problem.py),
`gitramp` checks when it loads the kit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from challenge.kit import KitSpec

SCHEMA_FILE = Path(__file__).resolve().parent / "schema" / "challenge.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    schema = KitSpec.model_json_schema()
    return {"$schema": DIALECT, **schema, "title": "gitramp challenge.yml",
            "description": "A gitramp challenge kit's spec; see docs/kit-reference.md."}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--write"]:
        SCHEMA_FILE.write_text(schema_text())
        print(f"wrote {SCHEMA_FILE}")
    elif not args:
        sys.stdout.write(schema_text())
    else:
        print("usage: python -m challenge.kit_schema [--write]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
