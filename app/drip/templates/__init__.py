"""The WhatsApp template catalog: Meta's template objects read into rows, the sync (from the
account's WhatsApp Business Account, or the built-in sandbox catalog), and the listing."""

from app.drip.templates.catalog import TemplatePage, list_templates
from app.drip.templates.components import build_components
from app.drip.templates.holds import hold_enrollments, release_holds, release_step_holds
from app.drip.templates.holds_report import (
    NOT_IN_CATALOG,
    Hold,
    campaign_holds,
    low_quality_among,
    low_quality_templates,
    organization_holds,
)
from app.drip.templates.lookup import (
    REFUSED_AT_SAVE,
    SENDABLE_STATUSES,
    find_template,
    is_sendable,
)
from app.drip.templates.parsing import parse_template
from app.drip.templates.sandbox import SANDBOX_TEMPLATES, sandbox_pages
from app.drip.templates.sync import (
    NO_BUSINESS_ACCOUNT,
    SyncCounts,
    SyncFailed,
    ensure_sandbox_catalog,
    organizations_to_sync,
    sync_organization,
    sync_templates,
)
from app.drip.templates.updates import (
    STATUS_FOR_EVENT,
    accounts_for_business,
    apply_delivery,
    apply_recorded,
    apply_template_updates,
    apply_update,
)

__all__ = [
    "NOT_IN_CATALOG",
    "NO_BUSINESS_ACCOUNT",
    "REFUSED_AT_SAVE",
    "SANDBOX_TEMPLATES",
    "SENDABLE_STATUSES",
    "STATUS_FOR_EVENT",
    "Hold",
    "SyncCounts",
    "SyncFailed",
    "TemplatePage",
    "accounts_for_business",
    "apply_delivery",
    "apply_recorded",
    "apply_template_updates",
    "apply_update",
    "build_components",
    "campaign_holds",
    "ensure_sandbox_catalog",
    "find_template",
    "hold_enrollments",
    "is_sendable",
    "list_templates",
    "low_quality_among",
    "low_quality_templates",
    "organization_holds",
    "organizations_to_sync",
    "parse_template",
    "release_holds",
    "release_step_holds",
    "sandbox_pages",
    "sync_organization",
    "sync_templates",
]
