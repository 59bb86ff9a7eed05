from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.pipeline import FunnelArgs, FunnelOut, RebuildOut, SupportQuestion, SupportQuestionOut
from canvass.db import transaction
from canvass.jobs import request_rebuild
from canvass.pipeline import funnels, stages

blp = Blueprint("funnels", __name__, url_prefix="/v1",
                description="Ward funnels: contacted -> supporter -> pledged -> volunteer -> member -> leader")


@blp.route("/funnels")
class Funnels(MethodView):
    @requires_roles("admin", "organizer", "field_lead")
    @blp.arguments(FunnelArgs, location="query")
    @blp.response(200, FunnelOut)
    def get(self, args):
        """Per stage: people there now, people who reached it and moved on in the range, conversion to
        the next stage and days spent in it; per day: people reaching each stage. Read from the
        precomputed tables (see `refreshed_at`)."""
        with transaction(db.session) as session:
            return funnels.get_funnel(session, organization_id=current_user().organization_id, **args)


@blp.route("/campaigns/<int:campaign_id>/support-question")
class CampaignSupportQuestion(MethodView):
    @requires_roles("admin", "organizer")
    @blp.arguments(SupportQuestion)
    @blp.response(200, SupportQuestionOut)
    def put(self, body, campaign_id):
        """Which question tells a supporter (4-5 on a scale, or yes). Without one, the campaign's
        first scale question. Changing it rebuilds the pipeline."""
        with transaction(db.session) as session:
            return stages.set_support_question(session, organization_id=current_user().organization_id,
                                               campaign_id=campaign_id, question_id=body["question_id"],
                                               actor_user_id=current_user().id)


@blp.route("/pipeline/rebuilds")
class PipelineRebuilds(MethodView):
    @requires_roles("admin")
    @blp.response(202, RebuildOut)
    def post(self):
        """Ask for a full rebuild of the organization's pipeline (it also runs every night)."""
        with transaction(db.session) as session:
            request_rebuild(session, organization_id=current_user().organization_id)
        return {"status": "requested"}
