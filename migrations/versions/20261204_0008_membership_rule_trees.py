"""membership rule trees: the membership rule as versioned data (an AND/OR tree of explained
conditions), endorsements and admin overrides, and votes with their own eligibility rule (issue 14)

- membership_rules: one row per version of an organization's rule; `effective_from` says from
  when it is in force. Each existing organization gets version 1, in force from 1970, equal to
  today's fixed rule with its own settings: dues cover the date (+ its grace days) OR at least
  its events_required events in the trailing window_months months.
- membership_attestations: endorsements (by a user with a role) and admin overrides (with a reason),
  each with a start, an optional expiry and a revocation time.
- votes.eligibility_rule: a vote's own rule tree (null: the membership rule, as before).
- vote_exclusions: for votes with their own rule, who was evaluated and left out, and why.

Downgrading drops all of it (votes then fall back to the membership rule).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 12:55:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('membership_rules',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tree', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_membership_rules_version_positive')),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_membership_rules_created_by_id_users', ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_membership_rules_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_rules')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_membership_rules_organization_id_id'),
    sa.UniqueConstraint('organization_id', 'version', name='uq_membership_rules_organization_id_version')
    )
    op.create_table('membership_attestations',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('endorsement', 'override')", name=op.f('ck_membership_attestations_known_kind')),
    sa.CheckConstraint('expires_at IS NULL OR expires_at > starts_at', name=op.f('ck_membership_attestations_expires_after_start')),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_membership_attestations_person_id_people', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'recorded_by_id'], ['users.organization_id', 'users.id'], name='fk_membership_attestations_recorded_by_id_users', ondelete='SET NULL (recorded_by_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_membership_attestations_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_attestations')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_membership_attestations_organization_id_id')
    )
    op.create_index('ix_membership_attestations_organization_id_person_id', 'membership_attestations', ['organization_id', 'person_id'], unique=False)
    op.add_column('votes', sa.Column('eligibility_rule', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.create_table('vote_exclusions',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('vote_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_vote_exclusions_person_id_people', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'vote_id'], ['votes.organization_id', 'votes.id'], name='fk_vote_exclusions_vote_id_votes', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_vote_exclusions_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'vote_id', 'person_id', name=op.f('pk_vote_exclusions'))
    )
    # Today's rule, per organization, with its own settings (the defaults where a value is missing
    # or not a whole number in range, as membership.rule_for reads them).
    op.execute("""
        INSERT INTO membership_rules (organization_id, version, tree, effective_from, note)
        SELECT o.id, 1, jsonb_build_object('op', 'or', 'rules', jsonb_build_array(
                   jsonb_build_object('kind', 'dues_current', 'params', jsonb_build_object('grace_days', g.v)),
                   jsonb_build_object('kind', 'events_in_window',
                                      'params', jsonb_build_object('count', n.v, 'months', m.v)))),
               timestamptz '1970-01-01 00:00:00+00', 'the fixed rule before rule trees (migration 0008)'
        FROM organizations o
        CROSS JOIN LATERAL (SELECT coalesce(o.settings -> 'membership', '{}'::jsonb) AS ms) s
        CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(s.ms -> 'grace_days') = 'number'
                                         AND (s.ms ->> 'grace_days') ~ '^[0-9]+$'
                                         AND (s.ms ->> 'grace_days')::numeric BETWEEN 0 AND 365
                                        THEN (s.ms ->> 'grace_days')::int ELSE 7 END AS v) g
        CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(s.ms -> 'events_required') = 'number'
                                         AND (s.ms ->> 'events_required') ~ '^[0-9]+$'
                                         AND (s.ms ->> 'events_required')::numeric BETWEEN 1 AND 100
                                        THEN (s.ms ->> 'events_required')::int ELSE 3 END AS v) n
        CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(s.ms -> 'window_months') = 'number'
                                         AND (s.ms ->> 'window_months') ~ '^[0-9]+$'
                                         AND (s.ms ->> 'window_months')::numeric BETWEEN 1 AND 60
                                        THEN (s.ms ->> 'window_months')::int ELSE 6 END AS v) m
    """)


def downgrade() -> None:
    op.drop_table('vote_exclusions')
    op.drop_column('votes', 'eligibility_rule')
    op.drop_index('ix_membership_attestations_organization_id_person_id', table_name='membership_attestations')
    op.drop_table('membership_attestations')
    op.drop_table('membership_rules')
