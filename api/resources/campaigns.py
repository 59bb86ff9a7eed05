from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.canvassing import CampaignCreate, CampaignListArgs, CampaignOut, CampaignUpdate
from canvass.campaigns import services as campaigns
from canvass.db import transaction

blp = Blueprint(
    "campaigns", __name__, url_prefix="/v1",
    description="Campaigns: the script, survey questions, result codes and pledge types a canvass carries",
)


@blp.route("/campaigns")
class Campaigns(MethodView):
    @requires_roles("organizer", "admin", "field_lead")
    @blp.arguments(CampaignListArgs, location="query")
    @blp.response(200, CampaignOut(many=True))
    def get(self, args):
        """The organization's campaigns, newest first (`?status=active`)."""
        with transaction(db.session) as session:
            return campaigns.list_campaigns(session, organization_id=current_user().organization_id, **args)

    @requires_roles("organizer", "admin")
    @blp.arguments(CampaignCreate)
    @blp.response(201, CampaignOut)
    def post(self, body):
        """Create a campaign with its questions; omitted code lists mean all the standard ones."""
        with transaction(db.session) as session:
            return campaigns.create_campaign(
                session, organization_id=current_user().organization_id, actor=current_user(),
                ip_address=client_ip(), **body,
            )


@blp.route("/campaigns/<int:campaign_id>")
class CampaignItem(MethodView):
    @requires_roles("organizer", "admin", "field_lead")
    @blp.response(200, CampaignOut)
    def get(self, campaign_id):
        with transaction(db.session) as session:
            return campaigns.get_campaign(session, organization_id=current_user().organization_id, campaign_id=campaign_id)

    @requires_roles("organizer", "admin")
    @blp.arguments(CampaignUpdate)
    @blp.response(200, CampaignOut)
    @blp.alt_response(409, description="campaign_in_use: questions already answered")
    def patch(self, body, campaign_id):
        """Change what is given. Questions can be replaced only until contacts answer them."""
        with transaction(db.session) as session:
            return campaigns.update_campaign(
                session, organization_id=current_user().organization_id, campaign_id=campaign_id,
                actor=current_user(), ip_address=client_ip(), **body,
            )
