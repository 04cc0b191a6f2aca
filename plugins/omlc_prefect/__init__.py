"""omlc's Prefect 3 target, registered through the ``omlc`` entry-point group like any
third-party target: ``omlc compile --target prefect``."""

import omlc


@omlc.hookimpl
def register_targets(register):
    from omlc_prefect.target import PrefectTarget

    register(PrefectTarget())


@omlc.hookimpl
def register_readers(register):
    from omlc_prefect.reader import PrefectReader

    register(PrefectReader())
