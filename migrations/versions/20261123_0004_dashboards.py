"""dashboards: activity rollups (per day and per turf) and the pledge lookups the rollup needs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 07:26:16.638078
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity_daily',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('ward_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('campaign_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('canvasser_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('doors', sa.Integer(), server_default='0', nullable=False),
    sa.Column('conversations', sa.Integer(), server_default='0', nullable=False),
    sa.Column('pledges', sa.Integer(), server_default='0', nullable=False),
    sa.Column('flagged', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_activity_daily_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'day', 'ward_key', 'campaign_key', 'canvasser_key', name=op.f('pk_activity_daily'))
    )
    op.create_index('ix_activity_daily_organization_id_canvasser_key_day', 'activity_daily', ['organization_id', 'canvasser_key', 'day'], unique=False)
    op.create_table('activity_watermarks',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('contacts_done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('contacts_seen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('pledges_done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('pledges_seen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('guard_xid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('read_snapshot', sa.Text(), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_full_rebuild_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_activity_watermarks_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_activity_watermarks'))
    )
    op.create_table('activity_turfs',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('turf_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('campaign_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('doors_knocked', sa.Integer(), server_default='0', nullable=False),
    sa.Column('doors_talked', sa.Integer(), server_default='0', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('conversations', sa.Integer(), server_default='0', nullable=False),
    sa.Column('pledges', sa.Integer(), server_default='0', nullable=False),
    sa.Column('flagged', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id', 'turf_id'], ['turfs.organization_id', 'turfs.id'], name='fk_activity_turfs_turf_id_turfs', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_activity_turfs_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'turf_id', 'campaign_key', name=op.f('pk_activity_turfs'))
    )
    op.create_index('ix_pledges_organization_id_canvasser_id_occurred_at', 'pledges', ['organization_id', 'canvasser_id', 'occurred_at'], unique=False)
    op.create_index('ix_pledges_organization_id_household_id', 'pledges', ['organization_id', 'household_id'], unique=False, postgresql_where=sa.text('household_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_pledges_organization_id_household_id', table_name='pledges', postgresql_where=sa.text('household_id IS NOT NULL'))
    op.drop_index('ix_pledges_organization_id_canvasser_id_occurred_at', table_name='pledges')
    op.drop_table('activity_turfs')
    op.drop_table('activity_watermarks')
    op.drop_index('ix_activity_daily_organization_id_canvasser_key_day', table_name='activity_daily')
    op.drop_table('activity_daily')
