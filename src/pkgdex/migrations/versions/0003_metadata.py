"""Tables of the metadata domain: PyPI projects, releases and files.

Revision ID: 0003_metadata
Revises: '0002_downloads'
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_metadata"
down_revision = "0002_downloads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metadata_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False, comment="PEP 503 form"),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column(
            "status",
            sa.SmallInteger(),
            nullable=False,
            comment="200 stored, 404 upstream said absent",
        ),
        sa.Column("last_serial", sa.BigInteger(), nullable=False),
        sa.Column(
            "fetched_at",
            sa.Float(),
            nullable=False,
            comment="unix seconds of the last upstream answer",
        ),
        sa.Column("upstream_etag", sa.String(512), nullable=True, comment="to revalidate upstream"),
        sa.Column(
            "revision", sa.String(32), nullable=False, comment="changes with any served content"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_metadata_projects_name")),
    )
    op.create_table(
        "metadata_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("yanked", sa.Boolean(), nullable=False),
        sa.Column("yanked_reason", sa.Text(), nullable=True),
        sa.Column("requires_python", sa.Text(), nullable=True),
        sa.Column(
            "info",
            sa.Text(),
            nullable=True,
            comment="the release's own pypi.org info (JSON), if known",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["metadata_projects.id"],
            name=op.f("fk_metadata_releases_project_id_metadata_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_releases")),
        sa.UniqueConstraint("project_id", "version", name="uq_metadata_releases_project_version"),
    )
    op.create_table(
        "metadata_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("packagetype", sa.String(32), nullable=False),
        sa.Column("python_version", sa.String(64), nullable=False),
        sa.Column("requires_python", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column(
            "upload_time", sa.DateTime(), nullable=True, comment="UTC, naive, microseconds kept"
        ),
        sa.Column("md5", sa.String(32), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("blake2b_256", sa.String(64), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("yanked", sa.Boolean(), nullable=False),
        sa.Column("yanked_reason", sa.Text(), nullable=True),
        sa.Column("comment_text", sa.Text(), nullable=True),
        sa.Column(
            "core_metadata",
            sa.Text(),
            nullable=True,
            comment="PEP 714 (JSON): hashes or true",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["metadata_projects.id"],
            name=op.f("fk_metadata_files_project_id_metadata_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["metadata_releases.id"],
            name=op.f("fk_metadata_files_release_id_metadata_releases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_files")),
    )
    op.create_index(
        op.f("ix_metadata_files_project_id"), "metadata_files", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_metadata_files_release_id"), "metadata_files", ["release_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("metadata_files")
    op.drop_table("metadata_releases")
    op.drop_table("metadata_projects")
