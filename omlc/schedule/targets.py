"""What each engine actually does with a cron schedule: fire-time models and cron syntax.

Each model is a :class:`DstPolicy` for the one fire-time generator, pinned to the engine
version it was measured against with the engine's own scheduling code
(``tests/test_engine_agreement.py`` keeps them honest). They live in the core, not in the
target plugins, because previews and validation show every engine's behaviour whether or
not its plugin is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from omlc.schedule.engine import OML, DstPolicy


@dataclass(frozen=True)
class EngineModel:
    name: str  # the target name: airflow, prefect, dagster
    title: str  # "Airflow 3.3"
    versions: str  # the engine versions the model was verified against
    policy: DstPolicy
    # cron syntax beyond portable 5-field cron that the engine accepts (for per-target notes)
    accepts: tuple[str, ...] = ()


MODELS: dict[str, EngineModel] = {
    "airflow": EngineModel(
        "airflow", "Airflow 3.3", "apache-airflow 3.3.2 (CronTriggerTimetable)",
        DstPolicy("airflow", gap_fixed="shift", gap_wildcard="skip", fold_fixed="second", fold_wildcard="both"),
        accepts=("L", "#", "W", "6 fields (seconds)", "@quarterly"),
    ),
    "prefect": EngineModel(
        "prefect", "Prefect 3.9", "prefect 3.9.1 (server CronSchedule)",
        DstPolicy("prefect", gap_fixed="shift", gap_wildcard="skip", fold_fixed="first", fold_wildcard="first"),
        accepts=("L", "#", "W", "6 fields (seconds)"),
    ),
    "dagster": EngineModel(
        "dagster", "Dagster 1.13", "dagster 1.13.28 (schedule_execution_time_iterator)",
        DstPolicy("dagster", gap_fixed="after_gap", gap_wildcard="skip", fold_fixed="second", fold_wildcard="both"),
        accepts=("L", "#", "W"),
    ),
}


def policy_for(target: str | None) -> DstPolicy:
    if target in (None, "oml"):
        return OML
    return MODELS[target].policy


def model_names() -> list[str]:
    return list(MODELS)
