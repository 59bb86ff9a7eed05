"""tenant primary keys: (organization_id, id) instead of (id) on the tenant tables (issue 16, item 4)

Citus, distributed by organization_id, needs the distribution column in every primary key.

- The 25 tables of WIDENED: their primary key pk_<table> becomes (organization_id, id). The
  UNIQUE (organization_id, id) beside it (uq_<table>_organization_id_id; api_tokens had none) is
  dropped: the primary key is now the target of the tenant foreign keys, which are dropped and
  re-added with the same names and definitions (read from the catalog), so they bind to it.
- api_tokens.user_id and audit_events.actor_user_id referenced users (id) alone; they become tenant
  foreign keys (organization_id, x) -> users (organization_id, id) with the same names and ON DELETE
  actions. The upgrade refuses (and changes nothing) if a token or an audit event names a user of
  another organization. An audit event with an actor must now name its organization
  (ck_audit_events_actor_has_organization), so the composite key is always checked for it.
- audit_events keeps its primary key (id): organization_id is null for events that belong to no
  organization (a failed sign-in with an unknown e-mail), and a primary key column cannot be null.

Downgrading restores (id) primary keys, the UNIQUE (organization_id, id) keys and the two
single-column foreign keys to users.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
from sqlalchemy import text

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# Explicit on purpose: the tables this revision widens, not "whatever is narrow" when it runs.
WIDENED = (
    "api_tokens", "assignment_members", "assignments", "ballots", "boundaries", "buildings", "campaigns",
    "contacts", "dues_payments", "event_attendance", "events", "households", "membership_attestations",
    "membership_rules", "people", "person_contact_details", "pledges", "questions", "teams", "turf_cuts",
    "turf_events", "turfs", "users", "vote_options", "votes",
)
# Tables that never had UNIQUE (organization_id, id) (nothing referenced them by it).
WITHOUT_TENANT_UNIQUE = ("api_tokens",)

# The two foreign keys to users (id) alone, as they were and as they become.
USER_FKS = {
    "fk_api_tokens_user_id_users": (
        "api_tokens",
        "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
        "FOREIGN KEY (organization_id, user_id) REFERENCES users(organization_id, id) ON DELETE CASCADE",
    ),
    "fk_audit_events_actor_user_id_users": (
        "audit_events",
        "FOREIGN KEY (actor_user_id) REFERENCES users(id) ON DELETE SET NULL",
        "FOREIGN KEY (organization_id, actor_user_id) REFERENCES users(organization_id, id)"
        " ON DELETE SET NULL (actor_user_id)",
    ),
}
ACTOR_CHECK = "ck_audit_events_actor_has_organization"


def _referencing_foreign_keys(tables) -> list[tuple[str, str, str]]:
    """(table, name, definition) of every foreign key whose target is one of `tables`."""
    rows = op.get_bind().execute(text("""
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid = ANY(CAST(:tables AS regclass[]))
        ORDER BY 1, 2
    """), {"tables": list(tables)}).all()
    return [tuple(row) for row in rows]


def _rekey(widen: bool) -> None:
    foreign_keys = [fk for fk in _referencing_foreign_keys(WIDENED) if fk[1] not in USER_FKS]
    for table, name, _ in foreign_keys:
        op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, (table, _, _) in USER_FKS.items():
        op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for table in WIDENED:
        if widen:
            drop_unique = "" if table in WITHOUT_TENANT_UNIQUE else f'DROP CONSTRAINT "uq_{table}_organization_id_id", '
            op.execute(f'ALTER TABLE "{table}" {drop_unique}DROP CONSTRAINT "pk_{table}", '
                       f'ADD CONSTRAINT "pk_{table}" PRIMARY KEY (organization_id, id)')
        else:
            add_unique = ("" if table in WITHOUT_TENANT_UNIQUE else
                          f', ADD CONSTRAINT "uq_{table}_organization_id_id" UNIQUE (organization_id, id)')
            op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "pk_{table}", '
                       f'ADD CONSTRAINT "pk_{table}" PRIMARY KEY (id){add_unique}')
    # Same names and definitions: they now bind to the new key.
    for table, name, definition in foreign_keys:
        op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for name, (table, narrow, wide) in USER_FKS.items():
        op.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {wide if widen else narrow}')


def upgrade() -> None:
    bind = op.get_bind()
    foreign = bind.execute(text("""
        SELECT (SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE u.organization_id <> t.organization_id),
               (SELECT count(*) FROM audit_events e JOIN users u ON u.id = e.actor_user_id
                WHERE e.organization_id IS DISTINCT FROM u.organization_id)
    """)).one()
    if any(foreign):
        raise RuntimeError(
            f"{foreign[0]} api token(s) and {foreign[1]} audit event(s) name a user of another organization"
            " (or, for an audit event, no organization): they cannot reference users (organization_id, id);"
            " nothing was changed")
    op.execute(f"ALTER TABLE audit_events ADD CONSTRAINT {ACTOR_CHECK}"
               " CHECK (actor_user_id IS NULL OR organization_id IS NOT NULL)")
    _rekey(widen=True)


def downgrade() -> None:
    _rekey(widen=False)
    op.execute(f"ALTER TABLE audit_events DROP CONSTRAINT {ACTOR_CHECK}")
