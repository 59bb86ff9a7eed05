"""membership standing history: each person's member spells under each version of the
membership rule (issue 14)

- membership_standing_spells: (organization, person, rule version, since, until) rows, rewritten
  by the pipeline rollup from the facts like membership_periods (no foreign keys, for the same
  reason: bulk rewrites). A version's spells lie inside the span it was in force, so after a rule
  change the old version's history stays readable.
- Backfill: an organization whose rule has at most one version gets its spells from its member
  periods now (they are the same thing then); one with several versions gets them from the next
  rebuild (nightly, or after the rule change that made the second version).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-04 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('membership_standing_spells',
    sa.Column('organization_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('rule_version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('until IS NULL OR until > since', name=op.f('ck_membership_standing_spells_until_after_since')),
    sa.PrimaryKeyConstraint('organization_id', 'person_id', 'rule_version', 'since',
                            name=op.f('pk_membership_standing_spells'))
    )
    op.execute("""
        INSERT INTO membership_standing_spells (organization_id, person_id, rule_version, since, until)
        SELECT mp.organization_id, mp.person_id,
               coalesce((SELECT max(r.version) FROM membership_rules r WHERE r.organization_id = mp.organization_id), 0),
               mp.since, mp.until
        FROM membership_periods mp
        WHERE mp.status = 'member'
          AND (SELECT count(*) FROM membership_rules r WHERE r.organization_id = mp.organization_id) <= 1
    """)


def downgrade() -> None:
    op.drop_table('membership_standing_spells')
