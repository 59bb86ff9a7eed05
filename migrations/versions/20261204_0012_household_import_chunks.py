"""household import chunks: the hash of each chunk of rows (cut by content, ~64 rows) an
organization's household imports applied, so a re-import reads again only what changed (issue 16)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('household_import_chunks',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('chunk_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE',
                            name=op.f('fk_household_import_chunks_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', 'chunk_hash', name=op.f('pk_household_import_chunks'))
    )


def downgrade() -> None:
    op.drop_table('household_import_chunks')
