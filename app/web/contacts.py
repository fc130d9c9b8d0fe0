"""Contact pages: list with search and filters, create, edit, delete, CSV import."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from app.auth import current_org_id
from app.drip.scope import scoped
from app.extensions import db
from app.models import Contact

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
PER_PAGE = 50


@bp.route("/", strict_slashes=False)
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    org_id = current_org_id()
    total = db.session.scalar(
        select(func.count()).select_from(Contact).where(Contact.organization_id == org_id)
    )
    rows = db.session.scalars(
        scoped(Contact, org_id)
        .order_by(Contact.created_at.desc(), Contact.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "contacts/index.html", contacts=rows, page=page, pages=pages, total=total
    )
