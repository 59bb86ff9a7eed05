"""languages as data: a person's preferred language, the languages a canvasser speaks, a campaign's
script and questions in other languages (issue 13)

- people.language: a BCP 47 tag in canonical case (es, pl, zh-Hans), null when unknown.
- users.languages: the tags a user speaks, strongest first (empty: not said).
- campaigns.translations: {tag: {script?, questions?: [{prompt, choices?}]}}, questions by position.

Downgrading drops the three columns.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 14:45:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('people', sa.Column('language', sa.String(length=35), nullable=True))
    op.add_column('users', sa.Column('languages', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False))
    op.add_column('campaigns', sa.Column('translations', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))


def downgrade() -> None:
    op.drop_column('campaigns', 'translations')
    op.drop_column('users', 'languages')
    op.drop_column('people', 'language')
