"""omlc's Airflow 3 target, registered through the ``omlc`` entry-point group like any
third-party target: ``omlc compile --target airflow``."""

import omlc


@omlc.hookimpl
def register_targets(register):
    from omlc_airflow.target import AirflowTarget

    register(AirflowTarget())


@omlc.hookimpl
def register_readers(register):
    from omlc_airflow.reader import AirflowReader

    register(AirflowReader())
