"""The campaign page (the editor) as it renders: its reads, each once for the whole page, and
the step form's catalog. The routes are app.web.campaigns."""

from __future__ import annotations

from typing import NamedTuple

from flask import render_template
from sqlalchemy import bindparam, select

from app.drip import campaigns
from app.drip.campaigns import FREE_TEXT_WARNING
from app.extensions import db
from app.models import Contact, DripCampaign
from app.web.campaign_flow import (
    BADGE_OF_STATUS,
    ActionForm,
    activity,
    page_zones,
    step_boxes,
    template_warnings,
    undo_offer,
)
from app.web.campaign_forms import CampaignForm, StepForm

ACTIVITY_SHOWN = 20  # on the campaign page; the activity page has them all


# Built once, and only the columns the picker shows: 50 whole contacts loaded as objects
# cost more CPU than the rest of the page's reads (issue 21).
_PREVIEW_CONTACTS = (
    select(
        Contact.id, Contact.first_name, Contact.last_name, Contact.phone, Contact.whatsapp_user_id
    )
    .where(Contact.organization_id == bindparam("organization_id"))
    .order_by(Contact.first_name, Contact.id)
    .limit(50)
)


class PreviewContact(NamedTuple):
    id: int
    label: str  # "First Last · phone", what the picker shows


def preview_contacts(organization_id: int) -> list[PreviewContact]:
    """The contacts the live preview offers to render a message for, named by what they have
    (a name, then the phone or else the WhatsApp id)."""
    rows = db.session.execute(_PREVIEW_CONTACTS, {"organization_id": organization_id})
    contacts = []
    for id_, first_name, last_name, phone, whatsapp_user_id in rows:
        name = " ".join(part for part in (first_name, last_name) if part)
        # As Jinja printed it before: a contact with neither shows "None".
        label = f"{name + ' · ' if name else ''}{phone or whatsapp_user_id}"
        contacts.append(PreviewContact(id_, label))
    return contacts


def render_editor(campaign, settings_form=None, step_form=None, status=200):
    if settings_form is None:
        settings_form = CampaignForm(formdata=None)
        settings_form.load(campaign)
    # Each read once for the whole page: the flow, the tiles, the warnings and the activity
    # share them (issue 21: the page ran 39 statements, several of them twice).
    graph = campaigns.campaign_graph(db.session, campaign)
    tally = campaigns.enrollment_tally(db.session, campaign.id)
    catalog = campaigns.step_templates(db.session, campaign.organization_id, graph.steps)
    organization_clock, viewer_clock = page_zones(campaign)
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        steps=graph.steps,  # the live steps, as the graph read them
        boxes=step_boxes(campaign, graph, tally=tally, catalog=catalog),
        graph_warnings=graph.warnings,
        undo=undo_offer(campaign) if campaign.status != "archived" else None,
        template_badge=BADGE_OF_STATUS,
        counts=tally.by_status,
        settings_form=settings_form,
        step_form=with_catalog(step_form or StepForm(formdata=None), campaign),
        action_form=ActionForm(),
        preview_contacts=preview_contacts(campaign.organization_id),
        free_text_warning=FREE_TEXT_WARNING,
        **template_warnings(campaign, catalog, viewer_clock),
        **activity(campaign, ACTIVITY_SHOWN, zone=organization_clock),
    ), status


def with_catalog(form: StepForm, campaign: DripCampaign) -> StepForm:
    """The step form with the catalog its template pickers offer (a sandbox organization that
    never synced gets the built-in catalog here, committed)."""
    form.catalog, synced = campaigns.picker_catalog(db.session, campaign.organization_id)
    if synced:
        db.session.commit()
    form.catalog_by_key = {entry["key"]: entry for entry in form.catalog}
    form.chosen_key = campaigns.template_key(*form.chosen_template())
    form.chosen_fallback_key = campaigns.template_key(*form.chosen_fallback())
    return form
