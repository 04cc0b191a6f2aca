"""The IR: frozen pydantic models of an OML 0.1.0 / 0.2.0 pipeline.

These models are the one description of the language: :mod:`omlc.build` reads YAML into
them (driven by their fields, with located diagnostics), ``omlc schema`` prints their
JSON Schema, and targets see only them. Field names are the YAML keys (aliases where a
key is not an identifier). Every node keeps its source ``span``, which is excluded from
dumps and comparisons of content.

Class variables steer the builder: ``unknown_key_code`` is the diagnostic for a key the
model does not know, ``extension_prefix`` names keys kept verbatim in ``extensions``.
"""


from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from omlc import durations
from omlc.durations import Duration

OML_VERSIONS = ("0.1.0", "0.2.0")
LATEST_OML_VERSION = "0.2.0"


def _validate_duration(value: Any) -> Duration:
    return durations.parse_duration(value)


DurationValue = Annotated[
    Duration,
    PlainValidator(_validate_duration),
    PlainSerializer(lambda d: d.to_text(), return_type=str),
    WithJsonSchema(durations.JSON_SCHEMA),
]


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, populate_by_name=True)

    unknown_key_code: ClassVar[str] = "OML112"
    extension_prefix: ClassVar[str | None] = None
    # keys a model accepts without a field (kept nowhere): e.g. keys of the reference project
    tolerated_keys: ClassVar[frozenset[str]] = frozenset()

    span: SkipJsonSchema[Any] = Field(default=None, exclude=True, repr=False)

    def content(self) -> dict[str, Any]:
        """The model's data without spans, for comparisons (round trip, drift)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- schedule (OML 0.2.0, seed D1) -------------------------------------------------------

class Retry(Node):
    attempts: int = Field(ge=0, le=100, description="Retries after the first failure (Airflow `retries`).")
    delay: DurationValue = Field(default=Duration(0, 0), description="Delay before the first retry.")
    backoff: Literal["constant", "linear", "exponential"] = Field(
        default="constant",
        description="constant: delay, delay, ...; linear: delay, 2*delay, 3*delay, ...; "
        "exponential: delay, 2*delay, 4*delay, ...",
    )
    max_delay: Optional[DurationValue] = Field(default=None, description="Upper bound of any single delay.")


class Window(Node):
    type: Literal["sliding", "tumbling"] = Field(
        description="sliding: end = fire time + offset, start = end - size; "
        "tumbling: start = previous fire time + offset, end = fire time + offset.",
    )
    size: Optional[DurationValue] = Field(
        default=None, description="Window length (required for sliding). d and w are calendar units."
    )
    offset: DurationValue = Field(default=Duration(0, 0), description="Shift of the window end from the fire time.")
    field: Optional[str] = Field(default=None, description="The column the window filters on.")
    format: Optional[str] = Field(
        default=None,
        description="How ${window.start}/${window.end} render: default 'YYYY-MM-DD HH:MM:SS' in the "
        "schedule timezone, 'iso' for ISO 8601 with offset, or a strftime pattern.",
    )


class Schedule(Node):
    unknown_key_code: ClassVar[str] = "OML106"

    type: Literal["cron", "interval"] = Field(default="cron")
    expression: str = Field(
        description="cron: 5-field cron or a preset (@hourly, @daily, ...); interval: a duration "
        "such as '15m' or 'every 15m'."
    )
    timezone: str = Field(default="UTC", description="IANA timezone name; cron fields are local times there.")
    start_date: Optional[str] = Field(
        default=None, description="ISO date or datetime (schedule timezone) of the first possible run."
    )
    end_date: Optional[str] = Field(default=None, description="ISO date or datetime after which no run fires.")
    retry: Optional[Retry] = None
    timeout: Optional[DurationValue] = Field(default=None, description="Maximum runtime of one pipeline run.")
    concurrency: Optional[int] = Field(default=None, ge=1, description="Maximum parallel runs.")
    catchup: bool = Field(default=False, description="Run missed fire times after downtime.")
    window: Optional[Window] = None


# --- metadata (OML 0.2.0, seed D2) -------------------------------------------------------

class RowCountTest(Node):
    type: Literal["row_count"]
    min: Optional[int] = Field(default=None, ge=0)
    max: Optional[int] = Field(default=None, ge=0)
    step: Optional[str] = Field(default=None, description="Step whose output is checked (default: the last).")


class SchemaTest(Node):
    type: Literal["schema"]
    expected: str = Field(description="Expected schema version or name.")
    step: Optional[str] = None


class FreshnessTest(Node):
    type: Literal["freshness"]
    max_age: DurationValue
    field: Optional[str] = Field(default=None, description="Timestamp column (default: the window field).")
    step: Optional[str] = None


class CustomTest(Node):
    type: Literal["custom"]
    script: str = Field(description="Path of the script, relative to the pipeline file.")
    args: list[str] = Field(default_factory=list)


DataTest = Annotated[
    Union[RowCountTest, SchemaTest, FreshnessTest, CustomTest], Field(discriminator="type")
]

LINEAGE_KINDS = ("pipeline", "table", "dashboard", "dataset", "file", "topic", "model", "api")


class LineageRef(Node):
    """``"table: mysql.orders"`` (a string, as the seed writes it) or ``{table: mysql.orders}``."""

    kind: str
    name: str


LineageRefValue = Annotated[
    LineageRef,
    WithJsonSchema({
        "anyOf": [
            {"type": "string", "pattern": r"^\s*[A-Za-z_][A-Za-z0-9_-]*\s*:\s*\S.*$",
             "description": "kind: name, e.g. 'table: mysql.orders'"},
            {"type": "object", "minProperties": 1, "maxProperties": 1,
             "additionalProperties": {"type": "string"}},
        ]
    }),
]


class Lineage(Node):
    upstream: list[LineageRefValue] = Field(default_factory=list)
    downstream: list[LineageRefValue] = Field(default_factory=list)


NOTIFICATION_CHANNELS = ("email", "slack", "pagerduty")


class NotificationTarget(Node):
    """``{email: oncall@company.com}``, ``{slack: "#data-alerts"}``, ``{pagerduty: service}``."""

    channel: Literal["email", "slack", "pagerduty"]
    target: str


NotificationTargetValue = Annotated[
    NotificationTarget,
    WithJsonSchema({
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "properties": {c: {"type": "string"} for c in NOTIFICATION_CHANNELS},
        "additionalProperties": False,
    }),
]


class Notifications(Node):
    on_failure: list[NotificationTargetValue] = Field(default_factory=list)
    on_success: list[NotificationTargetValue] = Field(default_factory=list)
    on_sla_breach: list[NotificationTargetValue] = Field(default_factory=list)


class Metadata(Node):
    unknown_key_code: ClassVar[str] = "OML107"
    extension_prefix: ClassVar[str | None] = "x-"

    owner: Optional[str] = None
    team: Optional[str] = None
    sla: Optional[DurationValue] = Field(default=None, description="Expected completion time after the fire time.")
    criticality: Optional[Literal["low", "medium", "high", "critical"]] = None
    description: Optional[str] = None
    tags: list[str] = Field(default_factory=list)
    tests: list[DataTest] = Field(default_factory=list)
    lineage: Optional[Lineage] = None
    notifications: Optional[Notifications] = None
    # keys the reference project writes into metadata
    intent: Optional[str] = None
    generated_by: Optional[str] = None
    created_at: Optional[str] = None
    source: Optional[str] = None
    extensions: SkipJsonSchema[dict[str, Any]] = Field(default_factory=dict, exclude=True)


# --- pipeline (OML 0.1.0) ----------------------------------------------------------------

STEP_MODES = ("read", "write", "transform")


class Step(Node):
    id: str
    component: str
    mode: Literal["read", "write", "transform"]
    config: dict[str, Any] = Field(default_factory=dict)
    needs: Optional[list[str]] = Field(
        default=None, description="Steps this one runs after; absent: the previous step; []: a root."
    )
    description: Optional[str] = None


class Pipeline(Node):
    unknown_key_code: ClassVar[str] = "OML103"
    extension_prefix: ClassVar[str | None] = "x-"

    oml_version: Literal["0.1.0", "0.2.0"]
    name: str
    description: Optional[str] = None
    params: dict[str, Any] = Field(default_factory=dict, description="Parameter defaults for ${params.NAME}.")
    profiles: dict[str, Any] = Field(default_factory=dict, description="Named parameter sets.")
    steps: list[Step] = Field(min_length=1)
    schedule: Optional[Schedule] = None
    metadata: Optional[Metadata] = None
    extensions: SkipJsonSchema[dict[str, Any]] = Field(default_factory=dict, exclude=True)

    # where the pipeline came from (not content)
    path: SkipJsonSchema[Optional[str]] = Field(default=None, exclude=True, repr=False)
    locations: SkipJsonSchema[Any] = Field(default=None, exclude=True, repr=False)

    def effective_needs(self) -> dict[str, list[str]]:
        """Each step's dependencies, with OML's default: absent `needs` = the previous step."""
        result: dict[str, list[str]] = {}
        previous: str | None = None
        for step in self.steps:
            if step.needs is None:
                result[step.id] = [previous] if previous is not None else []
            else:
                result[step.id] = list(step.needs)
            previous = step.id
        return result


FORBIDDEN_TOP_LEVEL = {
    "version": "use `oml_version`",
    "connectors": "declare connections in the connections file and refer to them as `@family.alias`",
    "tasks": "use `steps`",
    "outputs": "write outputs with a writer step",
}
