"""sign_in_failures: failed sign-ins of unknown e-mails leave audit_events, whose key becomes (organization_id, id)

audit_events was the one tenant table whose primary key was (id) alone (migration 0011): a failed
sign-in with an e-mail no user has was recorded there with organization_id null. Such events belong
to no organization (no admin's audit log listed them), so they get a global table of their own.

- sign_in_failures (id, occurred_at, email, ip_address, reason) is created.
- Every audit event without an organization moves there, in id order: occurred_at is its
  created_at, email its details' e-mail (trimmed, lower case, cut to 254 characters), ip_address
  kept, reason its details' reason (bad_credentials if it had none). What is not kept: its id
  (the new table numbers its own rows), its action (always auth.login_failed), target and actor
  (always none: no user was found), and any other details (authenticate recorded only those two).
  The upgrade refuses (and changes nothing) if an organization-less event is anything else.
- The moved events are deleted; audit_events.organization_id becomes NOT NULL; its primary key
  pk_audit_events becomes (organization_id, id), as migration 0011 swapped the others (foreign keys
  to it, none today, are dropped and re-added by name from the catalog); the check
  ck_audit_events_actor_has_organization (an actor implies an organization) is dropped, now implied.

Downgrading moves the rows back as auth.login_failed events without an organization (details
{"email", "reason"}, target_type user, as authenticate recorded them), restores (id), the nullable
column and the check, and drops sign_in_failures.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ACTOR_CHECK = "ck_audit_events_actor_has_organization"


def _referencing_foreign_keys() -> list[tuple[str, str, str]]:
    """(table, name, definition) of every foreign key to audit_events (0011's approach)."""
    rows = op.get_bind().execute(text("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = CAST('audit_events' AS regclass)
        ORDER BY 1, 2
    """)).all()
    return [tuple(row) for row in rows]


def _swap_primary_key(columns: str) -> None:
    foreign_keys = _referencing_foreign_keys()
    for table, name, _ in foreign_keys:
        op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    op.execute(f'ALTER TABLE audit_events DROP CONSTRAINT pk_audit_events, '
               f'ADD CONSTRAINT pk_audit_events PRIMARY KEY ({columns})')
    for table, name, definition in foreign_keys:
        op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def upgrade() -> None:
    other = op.get_bind().execute(text(
        "SELECT count(*) FROM audit_events WHERE organization_id IS NULL"
        " AND (action <> 'auth.login_failed' OR actor_user_id IS NOT NULL OR target_id IS NOT NULL)")).scalar_one()
    if other:
        raise RuntimeError(
            f"{other} audit event(s) without an organization are not failed sign-ins of an unknown e-mail:"
            " there is nowhere honest to move them; nothing was changed")
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('ip_address', postgresql.INET(), nullable=True),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures')),
    )
    op.create_index('ix_sign_in_failures_occurred_at', 'sign_in_failures', ['occurred_at'], unique=False)
    op.execute("""
        INSERT INTO sign_in_failures (occurred_at, email, ip_address, reason)
        SELECT created_at, left(lower(btrim(coalesce(details->>'email', ''))), 254), ip_address,
               left(coalesce(details->>'reason', 'bad_credentials'), 32)
        FROM audit_events WHERE organization_id IS NULL ORDER BY id
    """)
    op.execute("DELETE FROM audit_events WHERE organization_id IS NULL")
    op.execute(f"ALTER TABLE audit_events DROP CONSTRAINT {ACTOR_CHECK}, ALTER COLUMN organization_id SET NOT NULL")
    _swap_primary_key("organization_id, id")


def downgrade() -> None:
    _swap_primary_key("id")
    op.execute("ALTER TABLE audit_events ALTER COLUMN organization_id DROP NOT NULL, "
               f"ADD CONSTRAINT {ACTOR_CHECK} CHECK (actor_user_id IS NULL OR organization_id IS NOT NULL)")
    op.execute("""
        INSERT INTO audit_events (organization_id, action, target_type, details, ip_address, created_at)
        SELECT NULL, 'auth.login_failed', 'user', jsonb_build_object('email', email, 'reason', reason),
               ip_address, occurred_at
        FROM sign_in_failures ORDER BY id
    """)
    op.drop_index('ix_sign_in_failures_occurred_at', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
