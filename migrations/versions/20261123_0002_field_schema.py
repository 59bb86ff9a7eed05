"""geography, people, turfs, campaigns, contacts, pledges

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:06:50.433772
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table('boundaries',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('parent_key', sa.Text(), server_default='', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('properties', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("level IN ('ward', 'precinct')", name=op.f('ck_boundaries_known_level')),
    sa.ForeignKeyConstraint(['organization_id', 'parent_id'], ['boundaries.organization_id', 'boundaries.id'], name='fk_boundaries_parent_id_boundaries', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_boundaries_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boundaries')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_boundaries_organization_id_id'),
    sa.UniqueConstraint('organization_id', 'level', 'parent_key', 'name', name='uq_boundaries_org_level_parent_name')
    )
    op.create_geospatial_index('ix_boundaries_geom', 'boundaries', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('buildings',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('address_key', sa.Text(), nullable=False),
    sa.Column('line1', sa.Text(), nullable=False),
    sa.Column('city', sa.Text(), server_default='', nullable=False),
    sa.Column('state', sa.String(length=32), server_default='', nullable=False),
    sa.Column('zip', sa.String(length=10), server_default='', nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('ward_id', sa.BigInteger(), nullable=True),
    sa.Column('precinct_id', sa.BigInteger(), nullable=True),
    sa.Column('street', sa.Text(), nullable=True),
    sa.Column('house_number', sa.Integer(), nullable=True),
    sa.Column('block', sa.Integer(), nullable=True),
    sa.Column('side', sa.String(length=4), nullable=True),
    sa.Column('outside_boundaries', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("side IS NULL OR side IN ('odd', 'even')", name=op.f('ck_buildings_known_side')),
    sa.ForeignKeyConstraint(['organization_id', 'precinct_id'], ['boundaries.organization_id', 'boundaries.id'], name='fk_buildings_precinct_id_boundaries', ondelete='SET NULL (precinct_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'ward_id'], ['boundaries.organization_id', 'boundaries.id'], name='fk_buildings_ward_id_boundaries', ondelete='SET NULL (ward_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_buildings_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buildings')),
    sa.UniqueConstraint('organization_id', 'address_key', name='uq_buildings_organization_id_address_key'),
    sa.UniqueConstraint('organization_id', 'id', name='uq_buildings_organization_id_id')
    )
    op.create_geospatial_index('ix_buildings_location', 'buildings', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_buildings_organization_id_ward_id', 'buildings', ['organization_id', 'ward_id'], unique=False)
    op.create_table('campaigns',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('script', sa.Text(), server_default='', nullable=False),
    sa.Column('result_codes', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('phone_result_codes', postgresql.ARRAY(sa.Text()), server_default='{no_answer,left_message,busy,wrong_number,call_back,refused,language_barrier}', nullable=False),
    sa.Column('pledge_types', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('electoral', 'issue')", name=op.f('ck_campaigns_known_kind')),
    sa.CheckConstraint("status IN ('active', 'archived')", name=op.f('ck_campaigns_known_status')),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_campaigns_created_by_id_users', ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_campaigns_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_campaigns_organization_id_id')
    )
    op.create_table('turf_cuts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('ward_id', sa.BigInteger(), nullable=True),
    sa.Column('target_doors', sa.Integer(), nullable=False),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('quality', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_turf_cuts_created_by_id_users', ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'ward_id'], ['boundaries.organization_id', 'boundaries.id'], name='fk_turf_cuts_ward_id_boundaries', ondelete='SET NULL (ward_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_turf_cuts_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turf_cuts')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_turf_cuts_organization_id_id')
    )
    op.create_table('households',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('building_id', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.Text(), server_default='', nullable=False),
    sa.Column('wrong_address', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('do_not_contact', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'building_id'], ['buildings.organization_id', 'buildings.id'], name='fk_households_building_id_buildings', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_households_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('organization_id', 'building_id', 'unit', name='uq_households_organization_id_building_id_unit'),
    sa.UniqueConstraint('organization_id', 'id', name='uq_households_organization_id_id')
    )
    op.create_table('questions',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('choices', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('choice', 'scale', 'yes_no', 'text')", name=op.f('ck_questions_known_kind')),
    sa.ForeignKeyConstraint(['organization_id', 'campaign_id'], ['campaigns.organization_id', 'campaigns.id'], name='fk_questions_campaign_id_campaigns', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_questions_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    sa.UniqueConstraint('organization_id', 'campaign_id', 'position', name='uq_questions_campaign_position'),
    sa.UniqueConstraint('organization_id', 'id', name='uq_questions_organization_id_id')
    )
    op.create_geospatial_table('turfs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('ward_id', sa.BigInteger(), nullable=True),
    sa.Column('cut_id', sa.BigInteger(), nullable=True),
    sa.Column('origin', sa.String(length=8), server_default='drawn', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='ready', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('door_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('building_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('ready', 'checked_out', 'completed', 'archived')", name=op.f('ck_turfs_known_status')),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_turfs_created_by_id_users', ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'cut_id'], ['turf_cuts.organization_id', 'turf_cuts.id'], name='fk_turfs_cut_id_turf_cuts', ondelete='SET NULL (cut_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'ward_id'], ['boundaries.organization_id', 'boundaries.id'], name='fk_turfs_ward_id_boundaries', ondelete='SET NULL (ward_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_turfs_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turfs')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_turfs_organization_id_id')
    )
    op.create_geospatial_index('ix_turfs_geom', 'turfs', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_turfs_organization_id_ward_id_status', 'turfs', ['organization_id', 'ward_id', 'status'], unique=False)
    op.create_table('assignments',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('turf_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('canvasser_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('leased_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'released', 'expired', 'completed')", name=op.f('ck_assignments_known_status')),
    sa.CheckConstraint('leased_until > leased_at', name=op.f('ck_assignments_lease_after_start')),
    sa.ForeignKeyConstraint(['organization_id', 'campaign_id'], ['campaigns.organization_id', 'campaigns.id'], name='fk_assignments_campaign_id_campaigns', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'canvasser_id'], ['users.organization_id', 'users.id'], name='fk_assignments_canvasser_id_users', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'created_by_id'], ['users.organization_id', 'users.id'], name='fk_assignments_created_by_id_users', ondelete='SET NULL (created_by_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'turf_id'], ['turfs.organization_id', 'turfs.id'], name='fk_assignments_turf_id_turfs', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_assignments_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_assignments_organization_id_id')
    )
    op.create_index('ix_assignments_organization_id_canvasser_id_status', 'assignments', ['organization_id', 'canvasser_id', 'status'], unique=False)
    op.create_index('uq_assignments_one_active_per_turf', 'assignments', ['organization_id', 'turf_id'], unique=True, postgresql_where=sa.text("status = 'active'"))
    op.create_table('people',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=True),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('first_name', sa.Text(), server_default='', nullable=False),
    sa.Column('last_name', sa.Text(), server_default='', nullable=False),
    sa.Column('name_key', sa.Text(), server_default='', nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('source', sa.String(length=16), server_default='import', nullable=False),
    sa.Column('residence_current', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('deceased', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('do_not_contact', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('merged_into_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'household_id'], ['households.organization_id', 'households.id'], name='fk_people_household_id_households', ondelete='SET NULL (household_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'merged_into_id'], ['people.organization_id', 'people.id'], name='fk_people_merged_into_id_people', ondelete='SET NULL (merged_into_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_people_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_people_organization_id_id')
    )
    op.create_index('ix_people_organization_id_email', 'people', ['organization_id', 'email'], unique=False, postgresql_where=sa.text('email IS NOT NULL'))
    op.create_index('ix_people_organization_id_household_id', 'people', ['organization_id', 'household_id'], unique=False)
    op.create_index('ix_people_organization_id_merged_into_id', 'people', ['organization_id', 'merged_into_id'], unique=False, postgresql_where=sa.text('merged_into_id IS NOT NULL'))
    op.create_index('ix_people_organization_id_name_key', 'people', ['organization_id', 'name_key'], unique=False)
    op.create_index('ix_people_organization_id_phone', 'people', ['organization_id', 'phone'], unique=False, postgresql_where=sa.text('phone IS NOT NULL'))
    op.create_index('uq_people_organization_id_external_id', 'people', ['organization_id', 'external_id'], unique=True, postgresql_where=sa.text('external_id IS NOT NULL'))
    op.create_table('turf_stops',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('turf_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'household_id'], ['households.organization_id', 'households.id'], name='fk_turf_stops_household_id_households', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'turf_id'], ['turfs.organization_id', 'turfs.id'], name='fk_turf_stops_turf_id_turfs', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_turf_stops_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', 'turf_id', 'household_id', name=op.f('pk_turf_stops'))
    )
    op.create_index('ix_turf_stops_organization_id_household_id', 'turf_stops', ['organization_id', 'household_id'], unique=False)
    op.create_geospatial_table('contacts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('assignment_id', sa.BigInteger(), nullable=True),
    sa.Column('canvasser_id', sa.BigInteger(), nullable=True),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=True),
    sa.Column('device_id', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('result_code', sa.String(length=32), nullable=True),
    sa.Column('responses', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('do_not_contact', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.CheckConstraint('(result_code IS NULL) <> (responses IS NULL)', name=op.f('ck_contacts_result_xor_responses')),
    sa.ForeignKeyConstraint(['organization_id', 'assignment_id'], ['assignments.organization_id', 'assignments.id'], name='fk_contacts_assignment_id_assignments', ondelete='SET NULL (assignment_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'campaign_id'], ['campaigns.organization_id', 'campaigns.id'], name='fk_contacts_campaign_id_campaigns', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'canvasser_id'], ['users.organization_id', 'users.id'], name='fk_contacts_canvasser_id_users', ondelete='SET NULL (canvasser_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'household_id'], ['households.organization_id', 'households.id'], name='fk_contacts_household_id_households', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_contacts_person_id_people', ondelete='SET NULL (person_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_contacts_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('organization_id', 'client_id', name='uq_contacts_organization_id_client_id'),
    sa.UniqueConstraint('organization_id', 'id', name='uq_contacts_organization_id_id')
    )
    op.create_index('ix_contacts_organization_id_campaign_id_occurred_at', 'contacts', ['organization_id', 'campaign_id', 'occurred_at'], unique=False)
    op.create_index('ix_contacts_organization_id_canvasser_id_occurred_at', 'contacts', ['organization_id', 'canvasser_id', 'occurred_at'], unique=False)
    op.create_index('ix_contacts_organization_id_household_id_occurred_at', 'contacts', ['organization_id', 'household_id', 'occurred_at'], unique=False)
    op.create_index('ix_contacts_flagged', 'contacts', ['organization_id', 'id'], unique=False, postgresql_where=sa.text('cardinality(flags) > 0'))
    op.create_table('pledges',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('client_id', sa.UUID(), nullable=False),
    sa.Column('pledge_type', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=8), server_default='door', nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=True),
    sa.Column('campaign_id', sa.BigInteger(), nullable=True),
    sa.Column('assignment_id', sa.BigInteger(), nullable=True),
    sa.Column('canvasser_id', sa.BigInteger(), nullable=True),
    sa.Column('device_id', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('consent_to_contact', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('follow_up_status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('follow_up_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_follow_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_follow_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("follow_up_status IN ('pending', 'paused', 'done', 'declined', 'no_consent')", name=op.f('ck_pledges_known_follow_up_status')),
    sa.CheckConstraint("pledge_type IN ('vote', 'member', 'dues', 'volunteer', 'issue')", name=op.f('ck_pledges_known_type')),
    sa.CheckConstraint("source IN ('door', 'event', 'paper')", name=op.f('ck_pledges_known_source')),
    sa.ForeignKeyConstraint(['organization_id', 'assignment_id'], ['assignments.organization_id', 'assignments.id'], name='fk_pledges_assignment_id_assignments', ondelete='SET NULL (assignment_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'campaign_id'], ['campaigns.organization_id', 'campaigns.id'], name='fk_pledges_campaign_id_campaigns', ondelete='SET NULL (campaign_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'canvasser_id'], ['users.organization_id', 'users.id'], name='fk_pledges_canvasser_id_users', ondelete='SET NULL (canvasser_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'household_id'], ['households.organization_id', 'households.id'], name='fk_pledges_household_id_households', ondelete='SET NULL (household_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_pledges_person_id_people', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_pledges_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('organization_id', 'client_id', name='uq_pledges_organization_id_client_id'),
    sa.UniqueConstraint('organization_id', 'id', name='uq_pledges_organization_id_id')
    )
    op.create_index('ix_pledges_organization_id_next_follow_up_at', 'pledges', ['organization_id', 'next_follow_up_at'], unique=False)
    op.create_index('ix_pledges_organization_id_person_id', 'pledges', ['organization_id', 'person_id'], unique=False)
    op.create_table('turf_events',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('turf_id', sa.BigInteger(), nullable=False),
    sa.Column('assignment_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id', 'actor_user_id'], ['users.organization_id', 'users.id'], name='fk_turf_events_actor_user_id_users', ondelete='SET NULL (actor_user_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'assignment_id'], ['assignments.organization_id', 'assignments.id'], name='fk_turf_events_assignment_id_assignments', ondelete='SET NULL (assignment_id)'),
    sa.ForeignKeyConstraint(['organization_id', 'turf_id'], ['turfs.organization_id', 'turfs.id'], name='fk_turf_events_turf_id_turfs', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_turf_events_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_turf_events')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_turf_events_organization_id_id')
    )
    op.create_index('ix_turf_events_organization_id_turf_id_id', 'turf_events', ['organization_id', 'turf_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_turf_events_organization_id_turf_id_id', table_name='turf_events')
    op.drop_table('turf_events')
    op.drop_index('ix_pledges_organization_id_person_id', table_name='pledges')
    op.drop_index('ix_pledges_organization_id_next_follow_up_at', table_name='pledges')
    op.drop_table('pledges')
    op.drop_index('ix_contacts_organization_id_household_id_occurred_at', table_name='contacts')
    op.drop_index('ix_contacts_flagged', table_name='contacts', postgresql_where=sa.text('cardinality(flags) > 0'))
    op.drop_index('ix_contacts_organization_id_canvasser_id_occurred_at', table_name='contacts')
    op.drop_index('ix_contacts_organization_id_campaign_id_occurred_at', table_name='contacts')
    op.drop_geospatial_table('contacts')
    op.drop_index('ix_turf_stops_organization_id_household_id', table_name='turf_stops')
    op.drop_table('turf_stops')
    op.drop_index('uq_people_organization_id_external_id', table_name='people', postgresql_where=sa.text('external_id IS NOT NULL'))
    op.drop_index('ix_people_organization_id_phone', table_name='people', postgresql_where=sa.text('phone IS NOT NULL'))
    op.drop_index('ix_people_organization_id_name_key', table_name='people')
    op.drop_index('ix_people_organization_id_merged_into_id', table_name='people', postgresql_where=sa.text('merged_into_id IS NOT NULL'))
    op.drop_index('ix_people_organization_id_household_id', table_name='people')
    op.drop_index('ix_people_organization_id_email', table_name='people', postgresql_where=sa.text('email IS NOT NULL'))
    op.drop_table('people')
    op.drop_index('uq_assignments_one_active_per_turf', table_name='assignments', postgresql_where=sa.text("status = 'active'"))
    op.drop_index('ix_assignments_organization_id_canvasser_id_status', table_name='assignments')
    op.drop_table('assignments')
    op.drop_index('ix_turfs_organization_id_ward_id_status', table_name='turfs')
    op.drop_geospatial_index('ix_turfs_geom', table_name='turfs', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('turfs')
    op.drop_table('questions')
    op.drop_table('households')
    op.drop_table('turf_cuts')
    op.drop_table('campaigns')
    op.drop_index('ix_buildings_organization_id_ward_id', table_name='buildings')
    op.drop_geospatial_index('ix_buildings_location', table_name='buildings', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('buildings')
    op.drop_geospatial_index('ix_boundaries_geom', table_name='boundaries', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('boundaries')
