"""walklist_changes: an append-only log, written by triggers, that versions every walk list

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:00:00

Every write to a row a walk list shows appends a row here, in the same transaction, from a
statement-level trigger: one row per affected scope (a household, a household and campaign, a
turf, a campaign, or the whole organization), carrying a random 63-bit token. A walk list's
version is the XOR of the tokens of the rows in its scopes (canvass/turfs/walklist.py), so it
changes whenever one of its inputs does, whichever code path (or hand-written SQL) wrote it.

Each scope is taken from the written row itself (a person's household_id, a contact's household
and campaign), never looked up through another table at write time: such a lookup could miss a
turf that a concurrent transaction is adding the household to. The reader joins a turf's stops to
the household scopes in its own snapshot instead. Buildings and boundaries, which reach a walk list
only through another table, invalidate their whole organization (they change on imports).

Inserts of households and buildings are not logged: no walk list can show one before a turf stop
points at it (a foreign key), and that stop's insert is logged.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# table -> (its scope: walklist_changes column -> the written row's column; the coarser scope
# logged instead when one statement touches more than _BULK_SCOPES of them, or None; a filter)
_SCOPES = {
    "contacts": ({"household_id": "household_id", "campaign_id": "campaign_id"}, ["campaign_id"], None),
    "people": ({"household_id": "household_id"}, [], "household_id IS NOT NULL"),
    "households": ({"household_id": "id"}, [], None),
    "turf_stops": ({"turf_id": "turf_id"}, None, None),
    "turfs": ({"turf_id": "id"}, None, None),
    "campaigns": ({"campaign_id": "id"}, None, None),
    "questions": ({"campaign_id": "campaign_id"}, None, None),
    "buildings": ({}, None, None),  # the whole organization
    "boundaries": ({}, None, None),  # the whole organization
}
_NOT_ON_INSERT = {"households", "buildings"}
# A bulk write (an import: 100,000 people in ~50,000 households) logs its organization (or, for
# contacts, its campaigns) instead of a row per household: a wider scope is still correct, and a
# first import would otherwise spend 10% of its time here. A synced batch (<= 500) never is bulk.
_BULK_SCOPES = 1000
# An update of contacts is logged only if a column the walk list reads changed: the integrity
# check sets `flags` on every synced batch, which would otherwise log each batch twice.
_CONTACT_COLUMNS_READ = "organization_id, id, household_id, campaign_id, result_code, occurred_at"


def _events(table: str) -> list[str]:
    return ["UPDATE", "DELETE"] if table in _NOT_ON_INSERT else ["INSERT", "UPDATE", "DELETE"]


def _function_body(table: str) -> str:
    scope, coarse, where = _SCOPES[table]
    columns = ["organization_id", *scope]
    picked = ", ".join(["organization_id", *(row if row == col else f"{row} AS {col}" for col, row in scope.items())])
    where = f" WHERE {where}" if where else ""

    def rows(relation: str) -> str:
        return f"SELECT {picked} FROM {relation}{where}"

    def log(scopes_sql: str) -> str:  # scopes_sql: distinct (organization_id, scope columns)
        if coarse is None:
            return (f"INSERT INTO walklist_changes ({', '.join(columns)}, token) "
                    f"SELECT {', '.join(columns)}, walklist_token() FROM ({scopes_sql}) scopes;")
        wide = ["organization_id", *coarse]
        return f"""WITH scopes AS MATERIALIZED ({scopes_sql}),
                 bulk AS (SELECT count(*) > {_BULK_SCOPES} AS yes FROM scopes)
            INSERT INTO walklist_changes ({', '.join(columns)}, token)
            SELECT {', '.join(columns)}, walklist_token() FROM scopes WHERE NOT (SELECT yes FROM bulk)
            UNION ALL
            SELECT {', '.join(c if c in wide else 'NULL' for c in columns)}, walklist_token()
            FROM (SELECT DISTINCT {', '.join(wide)} FROM scopes) wide WHERE (SELECT yes FROM bulk);"""

    if table == "contacts":
        read = _CONTACT_COLUMNS_READ
        changed = (f"(SELECT {read} FROM old_rows EXCEPT SELECT {read} FROM new_rows) UNION ALL "
                   f"(SELECT {read} FROM new_rows EXCEPT SELECT {read} FROM old_rows)")
        on_update = log(f"SELECT DISTINCT {picked} FROM ({changed}) changed")
    else:
        on_update = log(f"{rows('old_rows')} UNION {rows('new_rows')}")
    # Each branch names only the transition tables its event has (a statement is planned when first run).
    return f"""
        IF TG_OP = 'INSERT' THEN
            {log(f"SELECT DISTINCT * FROM ({rows('new_rows')}) r")}
        ELSIF TG_OP = 'DELETE' THEN
            {log(f"SELECT DISTINCT * FROM ({rows('old_rows')}) r")}
        ELSE
            {on_update}
        END IF;"""


def _references(event: str) -> str:
    if event == "INSERT":
        return "REFERENCING NEW TABLE AS new_rows"
    if event == "DELETE":
        return "REFERENCING OLD TABLE AS old_rows"
    return "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"


def upgrade() -> None:
    op.create_table('walklist_changes',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=True),
    sa.Column('turf_id', sa.BigInteger(), nullable=True),
    sa.Column('campaign_id', sa.BigInteger(), nullable=True),
    sa.Column('token', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('household_id IS NOT NULL AND turf_id IS NULL OR num_nonnulls(household_id, turf_id, campaign_id) <= 1', name=op.f('ck_walklist_changes_one_scope')),
    sa.PrimaryKeyConstraint('organization_id', 'id', name=op.f('pk_walklist_changes'))
    )
    op.create_index('ix_walklist_changes_household', 'walklist_changes', ['organization_id', 'household_id'], unique=False, postgresql_include=['campaign_id', 'token'], postgresql_where=sa.text('household_id IS NOT NULL'))
    op.create_index('ix_walklist_changes_turf', 'walklist_changes', ['organization_id', 'turf_id'], unique=False, postgresql_include=['token'], postgresql_where=sa.text('turf_id IS NOT NULL'))
    op.create_index('ix_walklist_changes_campaign', 'walklist_changes', ['organization_id', 'campaign_id'], unique=False, postgresql_include=['token'], postgresql_where=sa.text('campaign_id IS NOT NULL AND household_id IS NULL'))
    op.create_index('ix_walklist_changes_organization', 'walklist_changes', ['organization_id'], unique=False, postgresql_include=['token'], postgresql_where=sa.text('household_id IS NULL AND turf_id IS NULL AND campaign_id IS NULL'))

    # 63 random bits (random() has 52): the chance that a change leaves a version's XOR as it was is 2^-52 at worst.
    op.execute("""
        CREATE FUNCTION walklist_token() RETURNS bigint LANGUAGE sql VOLATILE AS
        $$ SELECT ((random() * 4294967295)::bigint << 31) # (random() * 4294967295)::bigint $$
    """)
    for table in _SCOPES:
        op.execute(f"""
            CREATE FUNCTION walklist_log_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {_function_body(table).strip()}
                RETURN NULL;
            END $$
        """)
        for event in _events(table):
            op.execute(f"""
                CREATE TRIGGER walklist_log_{event.lower()} AFTER {event} ON {table}
                {_references(event)}
                FOR EACH STATEMENT EXECUTE FUNCTION walklist_log_{table}()
            """)


def downgrade() -> None:
    for table in _SCOPES:
        for event in _events(table):
            op.execute(f"DROP TRIGGER walklist_log_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION walklist_log_{table}()")
    op.execute("DROP FUNCTION walklist_token()")
    op.drop_index('ix_walklist_changes_organization', table_name='walklist_changes', postgresql_include=['token'], postgresql_where=sa.text('household_id IS NULL AND turf_id IS NULL AND campaign_id IS NULL'))
    op.drop_index('ix_walklist_changes_campaign', table_name='walklist_changes', postgresql_include=['token'], postgresql_where=sa.text('campaign_id IS NOT NULL AND household_id IS NULL'))
    op.drop_index('ix_walklist_changes_turf', table_name='walklist_changes', postgresql_include=['token'], postgresql_where=sa.text('turf_id IS NOT NULL'))
    op.drop_index('ix_walklist_changes_household', table_name='walklist_changes', postgresql_include=['campaign_id', 'token'], postgresql_where=sa.text('household_id IS NOT NULL'))
    op.drop_table('walklist_changes')
