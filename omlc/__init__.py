"""omlc: a compiler for OML pipeline files."""

__version__ = "0.1.0"

from omlc.hookspecs import hookimpl  # noqa: E402  (plugins write `@omlc.hookimpl`)

__all__ = ["__version__", "hookimpl"]
