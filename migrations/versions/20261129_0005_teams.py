"""teams: canvasser teams, leases to a team, and who was on each lease when (assignment_members)

Every existing assignment gets its canvasser as its one member row (joined_at
and left_at null: the whole lease), so access checks read assignment_members
only. Downgrading deletes team-held leases (the old schema cannot hold them):
their turfs are made ready again, contacts keep their data but lose the
assignment link, the turf history keeps its rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 09:42:21.381520
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('teams',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'archived')", name=op.f('ck_teams_known_status')),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_teams_created_by_id_users', ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_teams_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_teams_organization_id_id')
    )
    op.create_index('uq_teams_organization_id_lower_name_active', 'teams', ['organization_id', sa.literal_column('lower(name)')], unique=True, postgresql_where=sa.text("status = 'active'"))
    op.create_table('team_members',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('added_by_id', sa.BigInteger(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'added_by_id'], ['users.organization_id', 'users.id'], name='fk_team_members_added_by_id_users', ondelete='SET NULL (added_by_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'team_id'], ['teams.organization_id', 'teams.id'], name='fk_team_members_team_id_teams', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'user_id'], ['users.organization_id', 'users.id'], name='fk_team_members_user_id_users', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_team_members_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'team_id', 'user_id', name=op.f('pk_team_members'))
    )
    op.create_table('assignment_members',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('assignment_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('left_at >= joined_at', name=op.f('ck_assignment_members_left_after_joining')),
    sa.ForeignKeyConstraint(['organization_id', 'assignment_id'], ['assignments.organization_id', 'assignments.id'], name='fk_assignment_members_assignment_id_assignments', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'user_id'], ['users.organization_id', 'users.id'], name='fk_assignment_members_user_id_users', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_assignment_members_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_members')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_assignment_members_organization_id_id')
    )
    op.create_index('ix_assignment_members_organization_id_assignment_id', 'assignment_members', ['organization_id', 'assignment_id'], unique=False)
    op.create_index('ix_assignment_members_organization_id_user_id', 'assignment_members', ['organization_id', 'user_id'], unique=False, postgresql_where=sa.text('left_at IS NULL'))
    op.create_index('uq_assignment_members_open_stint', 'assignment_members', ['organization_id', 'assignment_id', 'user_id'], unique=True, postgresql_where=sa.text('left_at IS NULL'))
    op.add_column('assignments', sa.Column('team_id', sa.BigInteger(), nullable=True))
    op.alter_column('assignments', 'canvasser_id',
               existing_type=sa.BIGINT(),
               nullable=True)
    op.create_index('ix_assignments_organization_id_team_id', 'assignments', ['organization_id', 'team_id'], unique=False, postgresql_where=sa.text("status = 'active'"))
    op.create_foreign_key('fk_assignments_team_id_teams', 'assignments', 'teams', ['organization_id', 'team_id'], ['organization_id', 'id'], ondelete='RESTRICT')
    op.create_check_constraint(op.f('ck_assignments_one_holder'), 'assignments', 'num_nonnulls(canvasser_id, team_id) = 1')
    op.execute("""
        INSERT INTO assignment_members (organization_id, assignment_id, user_id, joined_at, left_at)
        SELECT organization_id, id, canvasser_id, NULL, NULL FROM assignments
    """)


def downgrade() -> None:
    op.execute("""
        UPDATE turfs t SET status = 'ready', updated_at = now()
          FROM assignments a
         WHERE a.organization_id = t.organization_id AND a.turf_id = t.id
           AND a.team_id IS NOT NULL AND a.status = 'active' AND t.status = 'checked_out'
    """)
    op.execute("DELETE FROM assignments WHERE team_id IS NOT NULL")
    op.drop_constraint(op.f('ck_assignments_one_holder'), 'assignments', type_='check')
    op.drop_constraint('fk_assignments_team_id_teams', 'assignments', type_='foreignkey')
    op.drop_index('ix_assignments_organization_id_team_id', table_name='assignments', postgresql_where=sa.text("status = 'active'"))
    op.alter_column('assignments', 'canvasser_id',
               existing_type=sa.BIGINT(),
               nullable=False)
    op.drop_column('assignments', 'team_id')
    op.drop_index('uq_assignment_members_open_stint', table_name='assignment_members', postgresql_where=sa.text('left_at IS NULL'))
    op.drop_index('ix_assignment_members_organization_id_user_id', table_name='assignment_members', postgresql_where=sa.text('left_at IS NULL'))
    op.drop_index('ix_assignment_members_organization_id_assignment_id', table_name='assignment_members')
    op.drop_table('assignment_members')
    op.drop_table('team_members')
    op.drop_index('uq_teams_organization_id_lower_name_active', table_name='teams', postgresql_where=sa.text("status = 'active'"))
    op.drop_table('teams')
