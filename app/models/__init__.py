"""Every model, so that importing app.models fills the metadata Alembic compares against."""

from app.models.ab_tests import DripAbTest, DripAbVariant, DripVariantAssignment
from app.models.analytics import DripActivityRollup, DripEnrollmentRollup
from app.models.audit import AuditEvent, LoginAttempt
from app.models.base import Base, utcnow
from app.models.campaigns import DripCampaign, DripCampaignStep
from app.models.contacts import Contact, ContactImport, ContactTag, Tag
from app.models.conversions import DripConversion, DripEvent, DripHoldout
from app.models.enrollments import DripEnrollment, DripMessageLog
from app.models.events import (
    InboundMessage,
    JobRun,
    Link,
    LinkClick,
    WebhookEvent,
    WhatsAppStatusEvent,
)
from app.models.orgs import ApiKey, Organization, User, WhatsAppAccount
from app.models.pricing import RateCardEntry
from app.models.sessions import UserSession
from app.models.templates import WhatsAppTemplate

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "Contact",
    "ContactImport",
    "ContactTag",
    "DripAbTest",
    "DripAbVariant",
    "DripActivityRollup",
    "DripCampaign",
    "DripCampaignStep",
    "DripConversion",
    "DripEnrollment",
    "DripEnrollmentRollup",
    "DripEvent",
    "DripHoldout",
    "DripMessageLog",
    "DripVariantAssignment",
    "InboundMessage",
    "JobRun",
    "Link",
    "LinkClick",
    "LoginAttempt",
    "Organization",
    "RateCardEntry",
    "Tag",
    "User",
    "UserSession",
    "WebhookEvent",
    "WhatsAppAccount",
    "WhatsAppStatusEvent",
    "WhatsAppTemplate",
    "utcnow",
]
