"""Contact pages: list with search and filters, create, edit, delete, CSV import."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import current_org_id
from app.drip import contacts
from app.drip.contacts import list_tags
from app.drip.errors import Conflict, DripError
from app.extensions import db
from app.reports import write_csv
from app.tasks import enqueue, run_contact_import
from app.web.contact_forms import ColumnChoices, ContactForm, ImportForm
from app.web.forms import EmptyForm, local_time, page_arg, viewer_zone

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
PER_PAGE = 50
TIMELINE_PER_PAGE = 50
# ?status= on the list page -> the opted_out filter.
STATUS_FILTERS = {"": None, "subscribed": False, "opted_out": True}


@bp.route("/", strict_slashes=False)
def index():
    filters = {
        "q": request.args.get("q", "").strip(),
        "tag": request.args.get("tag", "").strip(),
        "status": request.args.get("status", ""),
    }
    if filters["status"] not in STATUS_FILTERS:
        filters["status"] = ""
    page = page_arg()
    result = contacts.list_contacts(
        db.session,
        current_org_id(),
        q=filters["q"],
        tag=filters["tag"],
        opted_out=STATUS_FILTERS[filters["status"]],
        page=page,
        per_page=PER_PAGE,
    )
    return render_template(
        "contacts/index.html",
        result=result,
        filters=filters,
        active_filters={name: value for name, value in filters.items() if value},
        tags=list_tags(db.session, current_org_id()),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = contacts.create_contact(db.session, current_org_id(), **form.changes())
        except DripError as exc:
            return _form_error(form, exc, "contacts/form.html", contact=None)
        db.session.commit()
        flash(f"Contact {contact.phone or contact.whatsapp_user_id} added.", "info")
        return redirect(url_for("contacts.index"))
    status = 400 if form.errors else 200
    return render_template("contacts/form.html", form=form, contact=None), status


@bp.route("/<int:contact_id>")
def show(contact_id: int):
    """One contact: who they are and, below, what happened to them."""
    org_id = current_org_id()
    contact = contacts.get_contact(db.session, org_id, contact_id)
    zone = viewer_zone()
    return render_template(
        "contacts/show.html",
        contact=contact,
        tags=contacts.contact_tags(db.session, org_id, contact.id),
        timeline=contacts.contact_timeline(
            db.session, org_id, contact.id, page_arg(), TIMELINE_PER_PAGE
        ),
        zone=zone,
        local=lambda value: local_time(value, zone),
    )


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int):
    org_id = current_org_id()
    contact = contacts.get_contact(db.session, org_id, contact_id)
    if request.method == "GET":
        form = ContactForm.for_contact(
            contact, contacts.contact_tags(db.session, org_id, contact.id)
        )
        return render_template("contacts/form.html", form=form, contact=contact)
    form = ContactForm()
    if not form.validate_on_submit():
        return render_template("contacts/form.html", form=form, contact=contact), 400
    try:
        contacts.update_contact(db.session, org_id, contact_id, form.changes())
    except DripError as exc:
        return _form_error(form, exc, "contacts/form.html", contact=contact)
    db.session.commit()
    flash("Contact saved.", "info")
    return redirect(url_for("contacts.index"))


def _form_error(form, exc: DripError, template: str, **context):
    db.session.rollback()
    form.show_errors(exc)
    flash(exc.message, "error")
    return render_template(template, form=form, **context), exc.status


@bp.route("/<int:contact_id>/delete", methods=["GET", "POST"])
def delete(contact_id: int):
    """GET asks for confirmation; the confirmation page's POST (confirm=yes) deletes."""
    contact = contacts.get_contact(db.session, current_org_id(), contact_id)
    form = EmptyForm()
    confirmed = request.form.get("confirm") == "yes"
    if request.method == "GET" or not (confirmed and form.validate_on_submit()):
        return render_template("contacts/delete.html", contact=contact, form=form)
    label = contact.phone or contact.whatsapp_user_id
    contacts.delete_contact(db.session, current_org_id(), contact_id)
    db.session.commit()
    flash(f"Contact {label} deleted.", "info")
    return redirect(url_for("contacts.index"))


@bp.route("/import", methods=["GET", "POST"])
def import_page():
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form, 400 if form.errors else 200)
    upload = form.file.data
    try:
        imp = contacts.create_import(
            db.session,
            current_org_id(),
            upload.filename,
            upload.read(),
            user_id=current_user.id,
            ask_mapping=True,
        )
    except DripError as exc:
        db.session.rollback()
        form.file.errors = [exc.message]
        return _import_page(form, exc.status)
    db.session.commit()
    if contacts.awaits_mapping(imp):
        return redirect(url_for("contacts.import_columns", import_id=imp.id))
    return _run_import(imp)


def _run_import(imp):
    """Run a small import now, queue a large one; then its status page."""
    import_id = imp.id
    if contacts.runs_in_background(imp):
        enqueue(run_contact_import, import_id)
    else:
        run_contact_import(import_id)
    return redirect(url_for("contacts.import_status", import_id=import_id))


def _import_page(form: ImportForm, status: int):
    recent = contacts.recent_imports(db.session, current_org_id())
    zone = viewer_zone()
    return render_template(
        "contacts/import.html",
        form=form,
        imports=recent,
        awaiting={imp.id for imp in recent if contacts.awaits_mapping(imp)},
        local=lambda value: local_time(value, zone),
    ), status


@bp.route("/imports/<int:import_id>/columns", methods=["GET", "POST"])
def import_columns(import_id: int):
    """The column step of a file whose header is not exactly the documented names: each
    column to a field, an attribute, or nothing; then the import runs."""
    org_id = current_org_id()
    imp = contacts.get_import(db.session, org_id, import_id)
    if not contacts.awaits_mapping(imp):
        return redirect(url_for("contacts.import_status", import_id=import_id))
    columns = contacts.import_report(imp).columns
    form = EmptyForm()
    choices = ColumnChoices.guessed(columns)
    problems: list[tuple[str | None, str]] = []
    status = 200
    if request.method == "POST":
        choices = ColumnChoices.from_form(columns, request.form)
        if not form.validate_on_submit():
            problems = [(None, "Your form expired. Please try again.")]
            status = 400
        else:
            try:
                contacts.set_mapping(db.session, org_id, import_id, choices.mapping())
            except DripError as exc:
                db.session.rollback()
                problems = getattr(exc, "problems", None) or [(None, exc.message)]
                status = exc.status
            else:
                db.session.commit()
                return _run_import(imp)
    return render_template(
        "contacts/import_columns.html",
        imp=imp,
        form=form,
        choices=choices,
        samples=contacts.sample_rows(db.session, org_id, import_id),
        problems=problems,
        column_problems={label: text for label, text in problems if label},
        fields=contacts.FIELD_LABELS,
        duplicate_rule=contacts.DUPLICATE_POLICY,
    ), status


@bp.route("/imports/<int:import_id>/cancel", methods=["POST"])
def cancel_import(import_id: int):
    contacts.get_import(db.session, current_org_id(), import_id)  # 404 for another organization's
    if not EmptyForm().validate_on_submit():
        flash("Your form expired. Please try again.", "error")
        return redirect(url_for("contacts.import_columns", import_id=import_id))
    try:
        contacts.cancel_import(db.session, current_org_id(), import_id)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("contacts.import_status", import_id=import_id))
    db.session.commit()
    flash("Import cancelled: the file is deleted.", "info")
    return redirect(url_for("contacts.import_page"))


@bp.route("/imports/<int:import_id>")
def import_status(import_id: int):
    imp = contacts.get_import(db.session, current_org_id(), import_id)
    if contacts.awaits_mapping(imp):
        return redirect(url_for("contacts.import_columns", import_id=import_id))
    zone = viewer_zone()
    return render_template(
        "contacts/import_status.html",
        imp=imp,
        report=contacts.import_report(imp),
        duplicate_rule=contacts.DUPLICATE_POLICY,
        form=EmptyForm(),
        local=lambda value: local_time(value, zone),
    )


@bp.route("/imports/<int:import_id>/failed-rows.csv")
def import_failed_rows(import_id: int):
    """The refused rows and those with a warning, as the file had them, plus row and error;
    cells a spreadsheet would run as formulas are neutralised (app.reports.write_csv)."""
    name, header, rows = contacts.failed_rows_table(db.session, current_org_id(), import_id)
    return Response(
        write_csv(header, rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/imports/<int:import_id>/retry", methods=["POST"])
def retry_import(import_id: int):
    imp = contacts.get_import(db.session, current_org_id(), import_id)
    if not EmptyForm().validate_on_submit():
        flash("Your form expired. Please try again.", "error")
    elif contacts.retry(db.session, imp):
        db.session.commit()
        enqueue(run_contact_import, import_id)
        flash("Import restarted where it stopped.", "info")
    else:
        flash("Only a failed import can be restarted.", "error")
    return redirect(url_for("contacts.import_status", import_id=import_id))
