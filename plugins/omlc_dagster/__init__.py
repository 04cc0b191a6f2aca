"""omlc's Dagster target, registered through the ``omlc`` entry-point group like any
third-party target: ``omlc compile --target dagster``."""

import omlc


@omlc.hookimpl
def register_targets(register):
    from omlc_dagster.target import DagsterTarget

    register(DagsterTarget())


@omlc.hookimpl
def register_readers(register):
    from omlc_dagster.reader import DagsterReader

    register(DagsterReader())
