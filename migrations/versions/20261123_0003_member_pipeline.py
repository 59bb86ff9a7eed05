"""member pipeline: events, attendance, dues, membership history, stages, funnels, votes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 07:17:39.079319
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One sequence for attendance, dues and person changes: the rollup's single watermark over them.
    op.execute(sa.schema.CreateSequence(sa.Sequence('pipeline_change_seq')))
    op.create_table('membership_periods',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.CheckConstraint("status IN ('member', 'lapsed')", name=op.f('ck_membership_periods_known_status')),
    sa.CheckConstraint('until IS NULL OR until > since', name=op.f('ck_membership_periods_until_after_since')),
    sa.PrimaryKeyConstraint('organization_id', 'person_id', 'since', name=op.f('pk_membership_periods'))
    )
    op.create_table('pipeline_people',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('ward_key', sa.BigInteger(), nullable=False),
    sa.Column('campaign_key', sa.BigInteger(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('stage_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reached_contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reached_supporter_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reached_pledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reached_volunteer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reached_member_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reached_leader_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('membership_status', sa.String(length=16), nullable=False),
    sa.Column('member_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('member_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_change_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("membership_status IN ('member', 'lapsed', 'not_member')", name=op.f('ck_pipeline_people_known_membership')),
    sa.CheckConstraint("stage IN ('none', 'contacted', 'supporter', 'pledged', 'volunteer', 'member', 'leader')", name=op.f('ck_pipeline_people_known_stage')),
    sa.PrimaryKeyConstraint('organization_id', 'person_id', name=op.f('pk_pipeline_people'))
    )
    op.create_index('ix_pipeline_people_organization_id_next_change_at', 'pipeline_people', ['organization_id', 'next_change_at'], unique=False, postgresql_where=sa.text('next_change_at IS NOT NULL'))
    op.create_index('ix_pipeline_people_organization_id_ward_key_stage', 'pipeline_people', ['organization_id', 'ward_key', 'stage'], unique=False)
    op.create_table('pipeline_stage_transitions',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('from_stage', sa.String(length=16), nullable=False),
    sa.Column('to_stage', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=False),
    sa.Column('cause_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("from_stage IN ('none', 'contacted', 'supporter', 'pledged', 'volunteer', 'member', 'leader')", name=op.f('ck_pipeline_stage_transitions_known_from_stage')),
    sa.CheckConstraint("to_stage IN ('none', 'contacted', 'supporter', 'pledged', 'volunteer', 'member', 'leader')", name=op.f('ck_pipeline_stage_transitions_known_to_stage')),
    sa.PrimaryKeyConstraint('organization_id', 'person_id', 'position', name=op.f('pk_pipeline_stage_transitions'))
    )
    op.create_table('pipeline_funnel_daily',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('ward_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('campaign_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('reached', sa.Integer(), server_default='0', nullable=False),
    sa.Column('advanced', sa.Integer(), server_default='0', nullable=False),
    sa.Column('advanced_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("stage IN ('contacted', 'supporter', 'pledged', 'volunteer', 'member', 'leader')", name=op.f('ck_pipeline_funnel_daily_known_stage')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_pipeline_funnel_daily_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'ward_key', 'campaign_key', 'day', 'stage', name=op.f('pk_pipeline_funnel_daily'))
    )
    op.create_table('pipeline_person_changes',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), server_default=sa.text("nextval('pipeline_change_seq')"), autoincrement=False, nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_pipeline_person_changes_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'change_seq', name=op.f('pk_pipeline_person_changes'))
    )
    op.create_index('ix_pipeline_person_changes_organization_id_person_id', 'pipeline_person_changes', ['organization_id', 'person_id'], unique=False)
    op.create_table('pipeline_stage_counts',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('ward_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('campaign_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.CheckConstraint("stage IN ('none', 'contacted', 'supporter', 'pledged', 'volunteer', 'member', 'leader')", name=op.f('ck_pipeline_stage_counts_known_stage')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_pipeline_stage_counts_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'ward_key', 'campaign_key', 'stage', name=op.f('pk_pipeline_stage_counts'))
    )
    op.create_table('pipeline_watermarks',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('contacts_done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('contacts_seen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('pledges_done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('pledges_seen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('changes_done', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('changes_seen', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('guard_xid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('read_snapshot', sa.Text(), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_as_of', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_full_rebuild_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_pipeline_watermarks_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_pipeline_watermarks'))
    )
    op.create_table('dues_payments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=8), server_default='api', nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('change_seq', sa.BigInteger(), server_default=sa.text("nextval('pipeline_change_seq')"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("method IN ('cash', 'check', 'card', 'bank_transfer', 'payroll', 'online', 'other')", name=op.f('ck_dues_payments_known_method')),
    sa.CheckConstraint("source IN ('api', 'import')", name=op.f('ck_dues_payments_known_source')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_dues_payments_positive_amount')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_dues_payments_period_ordered')),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_dues_payments_person_id_people', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'recorded_by_id'], ['users.organization_id', 'users.id'], name='fk_dues_payments_recorded_by_id_users', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_dues_payments_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dues_payments')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_dues_payments_organization_id_id')
    )
    op.create_index('ix_dues_payments_organization_id_change_seq', 'dues_payments', ['organization_id', 'change_seq'], unique=False)
    op.create_index('ix_dues_payments_organization_id_person_id', 'dues_payments', ['organization_id', 'person_id'], unique=False)
    op.create_index('uq_dues_payments_organization_id_external_id', 'dues_payments', ['organization_id', 'external_id'], unique=True, postgresql_where=sa.text('external_id IS NOT NULL'))
    op.create_table('votes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('ward_id', sa.BigInteger(), nullable=True),
    sa.Column('cutoff_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('quorum_percent', sa.SmallInteger(), nullable=False),
    sa.Column('eligibility_taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('eligible_count', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(scope = 'ward') = (ward_id IS NOT NULL)", name=op.f('ck_votes_ward_scope_has_ward')),
    sa.CheckConstraint("scope IN ('organization', 'ward')", name=op.f('ck_votes_known_scope')),
    sa.CheckConstraint('closes_at > opens_at', name=op.f('ck_votes_closes_after_opening')),
    sa.CheckConstraint('cutoff_at <= opens_at', name=op.f('ck_votes_cutoff_before_opening')),
    sa.CheckConstraint('quorum_percent BETWEEN 0 AND 100', name=op.f('ck_votes_quorum_range')),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_votes_created_by_id_users', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'ward_id'], ['boundaries.organization_id', 'boundaries.id'], name='fk_votes_ward_id_boundaries', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_votes_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_votes')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_votes_organization_id_id')
    )
    op.create_index('ix_votes_organization_id_opens_at', 'votes', ['organization_id', 'opens_at'], unique=False)
    op.create_table('events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('location', sa.Text(), server_default='', nullable=False),
    sa.Column('ward_id', sa.BigInteger(), nullable=True),
    sa.Column('campaign_id', sa.BigInteger(), nullable=True),
    sa.Column('led_by_person_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), server_default='scheduled', nullable=False),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('canvass_shift', 'meeting', 'action', 'training', 'social', 'other')", name=op.f('ck_events_known_kind')),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name=op.f('ck_events_known_status')),
    sa.CheckConstraint('ends_at IS NULL OR ends_at >= starts_at', name=op.f('ck_events_ends_after_start')),
    sa.ForeignKeyConstraint(['organization_id', 'campaign_id'], ['campaigns.organization_id', 'campaigns.id'], name='fk_events_campaign_id_campaigns', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_events_created_by_id_users', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'led_by_person_id'], ['people.organization_id', 'people.id'], name='fk_events_led_by_person_id_people', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'ward_id'], ['boundaries.organization_id', 'boundaries.id'], name='fk_events_ward_id_boundaries', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_events_organization_id_id')
    )
    op.create_index('ix_events_organization_id_led_by_person_id', 'events', ['organization_id', 'led_by_person_id'], unique=False, postgresql_where=sa.text('led_by_person_id IS NOT NULL'))
    op.create_index('ix_events_organization_id_starts_at', 'events', ['organization_id', 'starts_at'], unique=False)
    op.create_index('uq_events_organization_id_external_id', 'events', ['organization_id', 'external_id'], unique=True, postgresql_where=sa.text('external_id IS NOT NULL'))
    op.create_table('vote_eligibility',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('vote_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_vote_eligibility_person_id_people', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'vote_id'], ['votes.organization_id', 'votes.id'], name='fk_vote_eligibility_vote_id_votes', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_vote_eligibility_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'vote_id', 'person_id', name=op.f('pk_vote_eligibility'))
    )
    op.create_table('vote_options',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('vote_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'vote_id'], ['votes.organization_id', 'votes.id'], name='fk_vote_options_vote_id_votes', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_vote_options_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_options')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_vote_options_organization_id_id'),
    sa.UniqueConstraint('organization_id', 'vote_id', 'id', name='uq_vote_options_vote_id_id'),
    sa.UniqueConstraint('organization_id', 'vote_id', 'position', name='uq_vote_options_vote_position')
    )
    op.create_table('ballots',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('vote_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('option_id', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('cast_by_user_id', sa.BigInteger(), nullable=False),
    sa.Column('cast_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("method IN ('self', 'recorded')", name=op.f('ck_ballots_known_method')),
    sa.ForeignKeyConstraint(['organization_id', 'cast_by_user_id'], ['users.organization_id', 'users.id'], name='fk_ballots_cast_by_user_id_users', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'vote_id', 'option_id'], ['vote_options.organization_id', 'vote_options.vote_id', 'vote_options.id'], name='fk_ballots_option', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'vote_id', 'person_id'], ['vote_eligibility.organization_id', 'vote_eligibility.vote_id', 'vote_eligibility.person_id'], name='fk_ballots_eligibility', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ballots_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballots')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_ballots_organization_id_id'),
    sa.UniqueConstraint('organization_id', 'vote_id', 'person_id', name='uq_ballots_vote_person')
    )
    op.create_table('event_attendance',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=8), server_default='api', nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('change_seq', sa.BigInteger(), server_default=sa.text("nextval('pipeline_change_seq')"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("source IN ('api', 'import')", name=op.f('ck_event_attendance_known_source')),
    sa.CheckConstraint("status IN ('signed_up', 'attended', 'no_show', 'cancelled')", name=op.f('ck_event_attendance_known_status')),
    sa.ForeignKeyConstraint(['organization_id', 'event_id'], ['events.organization_id', 'events.id'], name='fk_event_attendance_event_id_events', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_event_attendance_person_id_people', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'recorded_by_id'], ['users.organization_id', 'users.id'], name='fk_event_attendance_recorded_by_id_users', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_event_attendance_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_attendance')),
    sa.UniqueConstraint('organization_id', 'event_id', 'person_id', name='uq_event_attendance_event_person'),
    sa.UniqueConstraint('organization_id', 'id', name='uq_event_attendance_organization_id_id')
    )
    op.create_index('ix_event_attendance_organization_id_change_seq', 'event_attendance', ['organization_id', 'change_seq'], unique=False)
    op.create_index('ix_event_attendance_organization_id_person_id', 'event_attendance', ['organization_id', 'person_id'], unique=False)
    op.create_index('ix_contacts_organization_id_person_id', 'contacts', ['organization_id', 'person_id'], unique=False, postgresql_where=sa.text('person_id IS NOT NULL'))
    op.add_column('users', sa.Column('person_id', sa.BigInteger(), nullable=True))
    op.create_unique_constraint('uq_users_organization_id_person_id', 'users', ['organization_id', 'person_id'])
    op.create_foreign_key('fk_users_person_id_people', 'users', 'people', ['organization_id', 'person_id'], ['organization_id', 'id'], ondelete='RESTRICT')


def downgrade() -> None:
    op.drop_constraint('fk_users_person_id_people', 'users', type_='foreignkey')
    op.drop_constraint('uq_users_organization_id_person_id', 'users', type_='unique')
    op.drop_column('users', 'person_id')
    op.drop_index('ix_contacts_organization_id_person_id', table_name='contacts', postgresql_where=sa.text('person_id IS NOT NULL'))
    op.drop_index('ix_event_attendance_organization_id_person_id', table_name='event_attendance')
    op.drop_index('ix_event_attendance_organization_id_change_seq', table_name='event_attendance')
    op.drop_table('event_attendance')
    op.drop_table('ballots')
    op.drop_table('vote_options')
    op.drop_table('vote_eligibility')
    op.drop_index('uq_events_organization_id_external_id', table_name='events', postgresql_where=sa.text('external_id IS NOT NULL'))
    op.drop_index('ix_events_organization_id_starts_at', table_name='events')
    op.drop_index('ix_events_organization_id_led_by_person_id', table_name='events', postgresql_where=sa.text('led_by_person_id IS NOT NULL'))
    op.drop_table('events')
    op.drop_index('ix_votes_organization_id_opens_at', table_name='votes')
    op.drop_table('votes')
    op.drop_index('uq_dues_payments_organization_id_external_id', table_name='dues_payments', postgresql_where=sa.text('external_id IS NOT NULL'))
    op.drop_index('ix_dues_payments_organization_id_person_id', table_name='dues_payments')
    op.drop_index('ix_dues_payments_organization_id_change_seq', table_name='dues_payments')
    op.drop_table('dues_payments')
    op.drop_table('pipeline_watermarks')
    op.drop_table('pipeline_stage_counts')
    op.drop_index('ix_pipeline_person_changes_organization_id_person_id', table_name='pipeline_person_changes')
    op.drop_table('pipeline_person_changes')
    op.drop_table('pipeline_funnel_daily')
    op.drop_table('pipeline_stage_transitions')
    op.drop_index('ix_pipeline_people_organization_id_ward_key_stage', table_name='pipeline_people')
    op.drop_index('ix_pipeline_people_organization_id_next_change_at', table_name='pipeline_people', postgresql_where=sa.text('next_change_at IS NOT NULL'))
    op.drop_table('pipeline_people')
    op.drop_table('membership_periods')
    op.execute(sa.schema.DropSequence(sa.Sequence('pipeline_change_seq')))
