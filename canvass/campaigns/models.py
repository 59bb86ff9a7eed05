"""Campaigns and their survey questions (what a canvass asks at the door).

Contacts and pledge cards (what comes back from the field) live in
canvass/canvassing/records.py.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from canvass.db import Base, tenant_fk, tenant_key

CAMPAIGN_KINDS = ("electoral", "issue")
QUESTION_KINDS = ("choice", "scale", "yes_no", "text")
SCALE = (1, 5)  # a "scale" question's answers: whole numbers from 1 to 5
# Unsuccessful door attempts; a conversation is "canvassed" (implied by responses).
RESULT_CODES = {
    "not_home": "Not home",
    "refused": "Refused",
    "moved": "Moved",
    "inaccessible": "Inaccessible",
    "deceased": "Deceased",
    "wrong_address": "Wrong address",
    "language_barrier": "Language barrier",
    "come_back": "Come back later",
}
# Unsuccessful phone attempts (pledge follow-up calls); a reached call is a conversation.
PHONE_RESULT_CODES = {
    "no_answer": "No answer",
    "left_message": "Left a message",
    "busy": "Busy",
    "wrong_number": "Wrong number",
    "call_back": "Call back later",
    "refused": "Refused",
    "language_barrier": "Language barrier",
}
PLEDGE_TYPES = {
    "vote": "Pledge to vote",
    "member": "Pledge to join",
    "dues": "Pledge to pay dues",
    "volunteer": "Pledge to volunteer",
    "issue": "Back the issue campaign",
}


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        tenant_key("campaigns"),
        tenant_fk("campaigns", "created_by_id", "users", ondelete="SET NULL"),
        CheckConstraint("kind IN ('electoral', 'issue')", name="known_kind"),
        CheckConstraint("status IN ('active', 'archived')", name="known_status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    script: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The door result codes the walk list offers, and the phone ones follow-up calls may log.
    result_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    phone_result_codes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=lambda: list(PHONE_RESULT_CODES), server_default="{" + ",".join(PHONE_RESULT_CODES) + "}"
    )
    pledge_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # Recontact rules and other knobs (e.g. {"recontact_refused": true}), see campaigns/services.py.
    settings: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    # The script and questions in other languages: {tag: {script?, questions?: [{prompt, choices?}]}},
    # questions by position; answers are still recorded in the campaign's own choices.
    translations: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    # Read-only: questions are written as rows (campaigns/services.py), in position order.
    questions: Mapped[list[Question]] = relationship(
        primaryjoin="and_(Campaign.organization_id == foreign(Question.organization_id), "
        "Campaign.id == foreign(Question.campaign_id))",
        order_by="Question.position",
        viewonly=True,
        lazy="selectin",
    )


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        tenant_key("questions"),
        tenant_fk("questions", "campaign_id", "campaigns", ondelete="CASCADE"),
        UniqueConstraint("organization_id", "campaign_id", "position", name="uq_questions_campaign_position"),
        CheckConstraint("kind IN ('choice', 'scale', 'yes_no', 'text')", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
