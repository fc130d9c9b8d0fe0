"""Enrollment: enroll / pause / resume / stop, re-enrollment rules, triggers.

Interface used by other modules (filled in by the enrollment work of issue 3):
- on_contacts_created(session, organization_id, contact_ids): contact-created triggers
- on_tags_added(session, organization_id, tag_id, contact_ids): tag-added triggers
- on_step_deleted(session, step): move enrollments waiting on a deleted step forward
"""

from __future__ import annotations
