"""household import rows: the hash of each record an organization's household imports applied, so a
re-import reads again only the rows that changed (issue 16)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('household_import_rows',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('row_hash', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE',
                            name=op.f('fk_household_import_rows_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', 'row_hash', name=op.f('pk_household_import_rows'))
    )


def downgrade() -> None:
    op.drop_table('household_import_rows')
