"""The ``pkgdex serve --demo`` database: every domain's bundled demo data, offline."""

from __future__ import annotations

from pkgdex import db
from pkgdex.downloads import jobs as downloads_jobs
from pkgdex.index import jobs as index_jobs
from pkgdex.metadata import jobs as metadata_jobs
from pkgdex.npmregistry import jobs as npmregistry_jobs


def build_demo_database(url: str) -> None:
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        index_jobs.load_demo(engine)
        downloads_jobs.load_demo(engine)
        metadata_jobs.load_demo(engine)
        npmregistry_jobs.load_demo(engine)
    finally:
        engine.dispose()
