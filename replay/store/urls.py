"""Which store locations are PostgreSQL URLs: asked before anything imports psycopg."""

POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(location: str) -> bool:
    scheme, found, _ = location.partition("://")
    return bool(found) and scheme.lower() in POSTGRES_SCHEMES
