"""The JSON Schema of OML, generated from the IR models."""

from __future__ import annotations

import json

SCHEMA_ID = "https://omlc.dev/schema/oml-0.2.0.json"


def oml_schema() -> dict:
    from omlc import ir

    schema = ir.Pipeline.model_json_schema(by_alias=True, mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
              **schema, "title": "OML pipeline"}
    schema["description"] = "An OML 0.1.0 / 0.2.0 pipeline file (steps, schedule, metadata)."
    # extension keys (x-...) are allowed where the builder keeps them
    for model in (ir.Pipeline, ir.Metadata):
        target = schema if model is ir.Pipeline else schema["$defs"][model.__name__]
        if model.extension_prefix:
            target["patternProperties"] = {f"^{model.extension_prefix}": {}}
        if model.tolerated_keys:
            target.setdefault("properties", {}).update({k: {} for k in sorted(model.tolerated_keys)})
    return schema


def schema_json() -> str:
    return json.dumps(oml_schema(), indent=2, sort_keys=False) + "\n"
