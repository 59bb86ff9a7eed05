"""card details and door conflicts: pledge cards keep their phone/e-mail, people keep a history of
their contact details (person_contact_details), and contacts that conflict with another
canvasser's result for the same door are flagged, listed and resolved (issue 10, items 1 and 3)

- pledges.phone / pledges.email: the card's own details, always stored.
- person_contact_details: every detail a person gave (card, on file, correction), the preferred
  one per kind being the consented row not superseded (a partial unique index).
- contacts.conflict_with_id / conflict_resolved_at / conflict_resolved_by_id / superseded_at.
- The walk lists' change-log trigger on contacts also watches the new contact columns, so
  flagging, resolving and superseding change the walk list's version (its last_result reads them).

Existing rows: people's current phone/e-mail get no history row (they stay "on file, date
unknown" until a card replaces them, which records them then). Downgrading drops the history and
the card details (the people's preferred details stay on people).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_OLD_READ = "organization_id, id, household_id, campaign_id, result_code, occurred_at"
_NEW_READ = (_OLD_READ + ", conflict_with_id, conflict_resolved_at, superseded_at")


def _contacts_log_function(read: str) -> str:
    """walklist_log_contacts() of 0006, with the columns whose update changes a walk list."""
    def log(scopes_sql: str) -> str:
        return f"""WITH scopes AS MATERIALIZED ({scopes_sql}),
                 bulk AS (SELECT count(*) > 1000 AS yes FROM scopes)
            INSERT INTO walklist_changes (organization_id, household_id, campaign_id, token)
            SELECT organization_id, household_id, campaign_id, walklist_token() FROM scopes WHERE NOT (SELECT yes FROM bulk)
            UNION ALL
            SELECT organization_id, NULL, campaign_id, walklist_token()
            FROM (SELECT DISTINCT organization_id, campaign_id FROM scopes) wide WHERE (SELECT yes FROM bulk);"""

    picked = "organization_id, household_id, campaign_id"
    changed = (f"(SELECT {read} FROM old_rows EXCEPT SELECT {read} FROM new_rows) UNION ALL "
               f"(SELECT {read} FROM new_rows EXCEPT SELECT {read} FROM old_rows)")
    return f"""
        CREATE OR REPLACE FUNCTION walklist_log_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {log(f"SELECT DISTINCT * FROM (SELECT {picked} FROM new_rows) r")}
            ELSIF TG_OP = 'DELETE' THEN
                {log(f"SELECT DISTINCT * FROM (SELECT {picked} FROM old_rows) r")}
            ELSE
                {log(f"SELECT DISTINCT {picked} FROM ({changed}) changed")}
            END IF;
            RETURN NULL;
        END $$
    """


def upgrade() -> None:
    op.add_column('pledges', sa.Column('phone', sa.String(length=32), nullable=True))
    op.add_column('pledges', sa.Column('email', sa.String(length=254), nullable=True))

    op.add_column('contacts', sa.Column('conflict_with_id', sa.BigInteger(), nullable=True))
    op.add_column('contacts', sa.Column('conflict_resolved_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('contacts', sa.Column('conflict_resolved_by_id', sa.BigInteger(), nullable=True))
    op.add_column('contacts', sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key('fk_contacts_conflict_with_id_contacts', 'contacts', 'contacts',
                          ['organization_id', 'conflict_with_id'], ['organization_id', 'id'],
                          ondelete='SET NULL (conflict_with_id)')
    op.create_foreign_key('fk_contacts_conflict_resolved_by_id_users', 'contacts', 'users',
                          ['organization_id', 'conflict_resolved_by_id'], ['organization_id', 'id'],
                          ondelete='SET NULL (conflict_resolved_by_id)')
    op.create_check_constraint(op.f('ck_contacts_resolved_needs_conflict'), 'contacts',
                               'conflict_resolved_at IS NULL OR conflict_with_id IS NOT NULL')
    op.create_index('ix_contacts_open_conflicts', 'contacts', ['organization_id', 'id'], unique=False,
                    postgresql_where=sa.text('conflict_with_id IS NOT NULL AND conflict_resolved_at IS NULL'))

    op.create_table('person_contact_details',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('source_pledge_id', sa.BigInteger(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('phone', 'email')", name=op.f('ck_person_contact_details_known_kind')),
    sa.CheckConstraint("source IN ('card', 'on_file', 'manual')", name=op.f('ck_person_contact_details_known_source')),
    sa.ForeignKeyConstraint(['organization_id', 'person_id'], ['people.organization_id', 'people.id'], name='fk_person_contact_details_person_id_people', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id', 'source_pledge_id'], ['pledges.organization_id', 'pledges.id'], name='fk_person_contact_details_source_pledge_id_pledges', ondelete='SET NULL (source_pledge_id)'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_person_contact_details_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_contact_details')),
    sa.UniqueConstraint('organization_id', 'id', name='uq_person_contact_details_organization_id_id')
    )
    op.create_index('ix_person_contact_details_organization_id_person_id', 'person_contact_details', ['organization_id', 'person_id'], unique=False)
    op.create_index('ix_person_contact_details_organization_id_value', 'person_contact_details', ['organization_id', 'value'], unique=False)
    op.create_index('uq_person_contact_details_preferred', 'person_contact_details', ['organization_id', 'person_id', 'kind'], unique=True, postgresql_where=sa.text('consent AND superseded_at IS NULL'))

    op.execute(_contacts_log_function(_NEW_READ))


def downgrade() -> None:
    op.execute(_contacts_log_function(_OLD_READ))
    op.drop_index('uq_person_contact_details_preferred', table_name='person_contact_details', postgresql_where=sa.text('consent AND superseded_at IS NULL'))
    op.drop_index('ix_person_contact_details_organization_id_value', table_name='person_contact_details')
    op.drop_index('ix_person_contact_details_organization_id_person_id', table_name='person_contact_details')
    op.drop_table('person_contact_details')
    op.drop_index('ix_contacts_open_conflicts', table_name='contacts', postgresql_where=sa.text('conflict_with_id IS NOT NULL AND conflict_resolved_at IS NULL'))
    op.drop_constraint(op.f('ck_contacts_resolved_needs_conflict'), 'contacts', type_='check')
    op.drop_constraint('fk_contacts_conflict_resolved_by_id_users', 'contacts', type_='foreignkey')
    op.drop_constraint('fk_contacts_conflict_with_id_contacts', 'contacts', type_='foreignkey')
    op.drop_column('contacts', 'superseded_at')
    op.drop_column('contacts', 'conflict_resolved_by_id')
    op.drop_column('contacts', 'conflict_resolved_at')
    op.drop_column('contacts', 'conflict_with_id')
    op.drop_column('pledges', 'email')
    op.drop_column('pledges', 'phone')
