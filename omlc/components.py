"""The reference component registry (the components OML 0.1.0 ships with).

Each entry gives the OML modes the component supports. Unknown components are a warning,
not an error: a team may run components of its own.
"""

from __future__ import annotations

import re

COMPONENTS: dict[str, tuple[str, ...]] = {
    "mysql.extractor": ("read",),
    "mysql.writer": ("write",),
    "supabase.extractor": ("read",),
    "supabase.writer": ("write",),
    "duckdb.processor": ("transform",),
    "filesystem.csv_extractor": ("read",),
    "filesystem.csv_writer": ("write",),
    "graphql.extractor": ("read",),
    "posthog.extractor": ("read",),
}

COMPONENT_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
CONNECTION_REF = re.compile(r"^@([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$")

# Config keys that hold credentials. A literal value there is an inline secret; secrets come
# from connections (`@family.alias`) or environment references (`${env.NAME}` style).
SECRET_KEYS = frozenset({
    "password", "passwd", "pwd", "pass", "token", "secret", "api_key", "apikey", "access_token",
    "refresh_token", "auth_token", "bearer_token", "client_secret", "key", "private_key",
    "secret_key", "access_key", "service_role_key", "anon_key", "dsn", "connection_string",
    "conn_string", "connection_uri", "database_url", "credentials",
})
SECRET_SUFFIXES = (
    "_password", "_passwd", "_pwd", "_token", "_secret", "_api_key", "_apikey", "_private_key",
    "_secret_key", "_access_key", "_role_key", "_dsn", "_connection_string", "_credentials",
)
SECRET_REFERENCE = re.compile(r"^\s*\$\{[^}]+\}\s*$")


def is_secret_key(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return lowered in SECRET_KEYS or lowered.endswith(SECRET_SUFFIXES)


def family(component: str) -> str:
    return component.split(".", 1)[0]
