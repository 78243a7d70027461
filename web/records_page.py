"""The records-retention page `/records`: an agency's Form 1-2 of revoked accounts and evidence files with their
retention dates and legal holds (set or cleared here by the agency admin or audit teams, R7.2-R7.4), and the
disposition record (what, when, who, SHA-256). Routes on the pages blueprint."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from engine.assignment import visible_agencies
from engine.models import EvidenceFile, User
from web.extensions import get_db
from web.pages import bp
from workflows.models import AccountApplication
from workflows.models_disposition import DispositionItem, RecordKind
from workflows.records_disposition import DispositionError, may_hold, set_legal_hold

LIMIT = 300
MODELS = {RecordKind.APPLICATION_FORM: AccountApplication, RecordKind.EVIDENCE_FILE: EvidenceFile}


def _agency(session, code: str | None):
    """The chosen agency among those the user may see (404 for others), default their own."""
    agencies = visible_agencies(session, session.get(User, current_user.id))
    chosen = next((a for a in agencies if a.code == (code or "").upper()), None) if code else \
        next((a for a in agencies if a.code == current_user.agency_code), agencies[0] if agencies else None)
    if chosen is None:
        abort(404)
    return chosen, agencies


@bp.get("/records")
@login_required
def records():
    """Retention, legal holds and disposition records of one agency."""
    with get_db().sessions() as session:
        agency, agencies = _agency(session, request.args.get("agency"))
        forms = session.execute(
            select(AccountApplication, User.username).join(User, User.id == AccountApplication.user_id)
            .where(AccountApplication.agency_id == agency.id, AccountApplication.revoked_on.is_not(None))
            .order_by(AccountApplication.destroy_not_before, AccountApplication.id).limit(LIMIT)).all()
        files = session.scalars(select(EvidenceFile).where(EvidenceFile.agency_id == agency.id)
                                .order_by(EvidenceFile.destroyed_at.is_not(None), EvidenceFile.retain_until,
                                          EvidenceFile.id).limit(LIMIT)).all()
        items = session.scalars(select(DispositionItem).where(DispositionItem.agency_id == agency.id)
                                .order_by(DispositionItem.id.desc()).limit(LIMIT)).all()
        return render_template("pages/records.html", agency=agency, agencies=agencies, forms=forms, files=files,
                               items=items, may_hold=may_hold(session, current_user.id, agency.id))


@bp.post("/records/hold")
@login_required
def records_hold():
    """Set or clear a legal hold from the page (CSRF-protected form); back to the page with the outcome."""
    kind, hold = request.form.get("kind", ""), request.form.get("hold") == "1"
    if kind not in MODELS or not request.form.get("record_id", "").isdigit():
        abort(400)
    with get_db().transaction() as session:
        record = session.get(MODELS[kind], int(request.form["record_id"]))
        visible = {a.id: a.code for a in visible_agencies(session, session.get(User, current_user.id))}
        if record is None or record.agency_id not in visible:
            abort(404)
        if not may_hold(session, current_user.id, record.agency_id):
            abort(403)
        code = visible[record.agency_id]
        try:
            set_legal_hold(session, kind, record, hold, request.form.get("reason", ""), current_user.username)
        except DispositionError as exc:
            flash(str(exc), "error")
        else:
            flash("已設定法律保全 Legal hold set" if hold else "已解除法律保全 Legal hold cleared", "success")
    return redirect(url_for("pages.records", agency=code, _anchor=f"{kind}-{record.id}"), code=303)
