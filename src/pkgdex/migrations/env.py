"""Alembic environment: runs the migrations against the URL pkgdex passes in."""

from __future__ import annotations

from alembic import context

from pkgdex.db import make_engine, metadata
from pkgdex.models import load_all_models

load_all_models()
config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=_include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Native search structures (FTS5 shadow tables, trigram indexes) are managed by raw SQL
    # in the migrations and are invisible to the models on purpose.
    return not (name or "").startswith(("fts_", "ix_trgm_"))


run_migrations()
