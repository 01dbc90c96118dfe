"""Journal commands: ``regrow profile``, ``device``, ``plan``, ``log``, ``today``, ``schedule``, ``export``,
``import``. Thin: parse, call :mod:`regrow.journal` (storage) and :mod:`regrow.protocol` (rules), print."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import DATABASE_URL_ENV, emit_json, lazy_module
from regrow.cli._options import PhotosDirOption
from regrow.errors import InputError

__all__ = ["register"]

wire = lazy_module("regrow._wiring")
jr = lazy_module("regrow.journal")
pr = lazy_module("regrow.protocol")

DB_HELP = "Journal database URL (SQLite or postgresql+psycopg://); default: SQLite in your user data folder."
DbOption = typer.Option(None, "--db", envvar=DATABASE_URL_ENV, help=DB_HELP)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")
RulesOption = typer.Option(None, "--rules", help="A clinic's YAML rule overrides (by rule id).")
AtOption = typer.Option(None, help="When (ISO 8601); now when omitted.")
NotesOption = typer.Option(None, help="Notes.")
AcknowledgeOption = typer.Option(None, help="Rule id of a stop finding you acknowledge.")
ReasonOption = typer.Option(None, help="Your reason for the acknowledgement.")
NeedleLengthOption = typer.Option(None, help="Needle length in mm; default: the device's.")
AllowDuplicateOption = typer.Option(
    False, "--allow-duplicate", help="Store it although one like it is already logged (same kind and day)."
)


# --- glue ------------------------------------------------------------------------------------------------


@contextmanager
def _session(db: str | None) -> Iterator[Any]:
    """One transaction on the journal at ``db``; the engine is disposed afterwards (no pooled leftovers)."""
    engine = jr.open_journal(db)
    try:
        with jr.session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _journal(db: str | None, photos_dir: Path | None) -> Iterator[tuple[Any, Any]]:
    """The journal at ``db`` and its photo folder, swept of leftovers from interrupted writes."""
    engine = jr.open_journal(db)
    try:
        store = jr.PhotoStore(jr.default_photos_dir(str(engine.url), photos_dir))
        jr.sweep_photos(engine, store)
        yield engine, store
    finally:
        engine.dispose()


@contextmanager
def _my_journal(db: str | None) -> Iterator[tuple[Any, int]]:
    """One transaction on the journal at ``db`` and the id of its (default) person."""
    with _session(db) as session:
        yield session, jr.get_or_create_default_person(session).id


def _active_plan(session: Any, me: int) -> tuple[Any, pr.PlanRecord]:
    """The active plan's row and record; an error says to create one first."""
    row = jr.get_active_plan(session, person_id=me)
    if row is None:
        raise InputError.invalid("plan", None, "created first with `regrow plan create`")
    return row, wire.record(pr.PlanRecord, row)


def _row(obj: Any) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in obj.as_dict().items()}


def _acks(acknowledge: list[str], reason: list[str]) -> dict[str, str]:
    if acknowledge and not reason:
        raise InputError.invalid("reason", None, "a --reason TEXT for each --acknowledge RULE_ID")
    if len(reason) not in (0, 1, len(acknowledge)):
        raise InputError.invalid("reason", reason, "one --reason, or one per --acknowledge")
    reasons = reason * len(acknowledge) if len(reason) == 1 else reason
    return dict(zip(acknowledge, reasons, strict=False))


def _print_findings(findings: list[pr.Finding]) -> None:
    if not findings:
        typer.echo("No findings.")
    for f in findings:
        typer.echo(f"[{f.severity}] {f.rule_id}: {f.message}\n    source: {f.source}")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _yes_no(field: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("yes", "y", "true"):
        return True
    if lowered in ("no", "n", "false"):
        return False
    raise InputError.invalid(field, value, "yes or no")


# --- profile ---------------------------------------------------------------------------------------------

profile_app = typer.Typer(
    help="Your profile, screening answers, and deleting all your data.", no_args_is_help=False
)


def _show_profile(db: str | None, as_json: bool) -> None:
    with _my_journal(db) as (session, me):
        profile = jr.get_profile(session, person_id=me)
        body = {
            "person_id": me,
            "profile": None if profile is None else _row(profile),
            "screening": jr.list_screening(session, person_id=me),
        }
    if as_json:
        emit_json(body)
        return
    for key, value in (body["profile"] or {}).items():
        typer.echo(f"{key}: {value}")
    for key, value in body["screening"].items():
        typer.echo(f"screening {key}: {'yes' if value else 'no'}")
    if body["profile"] is None:
        typer.echo("No profile yet; set one with `regrow profile set`.")


@profile_app.callback(invoke_without_command=True)
def profile_root(ctx: typer.Context, db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Show your profile (or use a subcommand)."""
    if ctx.invoked_subcommand is None:
        _show_profile(db, as_json)


@profile_app.command("show")
def profile_show(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Show your profile and screening answers."""
    _show_profile(db, as_json)


@profile_app.command("set")
def profile_set(
    sex: str | None = typer.Option(None, help="female, male or other."),
    birth_year: int | None = typer.Option(None, help="Year of birth."),
    diagnosis: str | None = typer.Option(None, help="AGA, FPHL, alopecia_areata or other."),
    confirmed: bool | None = typer.Option(
        None, "--confirmed/--unconfirmed", help="A clinician confirmed a non-scarring diagnosis."
    ),
    grade_scale: str | None = typer.Option(None, help="norwood_hamilton, ludwig, sinclair or basp."),
    grade: str | None = typer.Option(None, help="Grade on that scale, e.g. III-vertex."),
    hair_colour: str | None = typer.Option(None, help="Hair colour."),
    fitzpatrick: int | None = typer.Option(None, help="Fitzpatrick skin type 1-6."),
    medication: list[str] | None = typer.Option(None, help="A medication (repeat for several)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Set profile fields (only those given change)."""
    fields: dict[str, Any] = {
        "sex": sex,
        "birth_year": birth_year,
        "diagnosis": diagnosis,
        "diagnosis_confirmed_by_clinician": confirmed,
        "grade_scale": grade_scale,
        "grade": grade,
        "hair_colour": hair_colour,
        "fitzpatrick_skin_type": fitzpatrick,
        "medications": medication or None,
    }
    with _my_journal(db) as (session, me):
        profile = jr.set_profile(session, person_id=me, **{k: v for k, v in fields.items() if v is not None})
        body = _row(profile)
    emit_json(body) if as_json else typer.echo("Profile saved.")


@profile_app.command("screen")
def profile_screen(
    scarring_alopecia: str | None = typer.Option(
        None, help="yes/no: lichen planopilaris, FFA or other scarring."
    ),
    active_scalp_infection: str | None = typer.Option(None, help="yes/no: infection, HSV, fungal."),
    keloid_tendency: str | None = typer.Option(None, help="yes/no: keloid or hypertrophic scars."),
    bleeding_disorder_or_anticoagulants: str | None = typer.Option(None, help="yes/no."),
    pregnancy: str | None = typer.Option(None, help="yes/no: pregnant or breastfeeding."),
    isotretinoin: str | None = typer.Option(None, help="yes/no: isotretinoin now or in the last 6 months."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Answer the screening questions (each yes or no)."""
    raw = {
        "scarring_alopecia": scarring_alopecia,
        "active_scalp_infection": active_scalp_infection,
        "keloid_tendency": keloid_tendency,
        "bleeding_disorder_or_anticoagulants": bleeding_disorder_or_anticoagulants,
        "pregnancy": pregnancy,
        "isotretinoin": isotretinoin,
    }
    answers = {k: _yes_no(k, v) for k, v in raw.items() if v is not None}
    with _my_journal(db) as (session, me):
        stored = jr.set_screening(session, person_id=me, answers=answers)
        findings = [
            f
            for f in pr.check_journal(
                wire.journal_records(session, person_id=me), pr.load_rules(), now=_now()
            )
        ]
    if as_json:
        emit_json({"screening": stored, "findings": [f.to_dict() for f in findings]})
    else:
        _print_findings([f for f in findings if f.rule_id.startswith("screen.")])


@profile_app.command("delete")
def profile_delete(
    yes: bool = typer.Option(False, "--yes", help="Really delete everything about you (no undo)."),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete all of your data: profile, devices, plans, sessions, doses, events, photos, measurements."""
    if not yes:
        raise InputError.invalid(
            "--yes", False, "given to confirm deleting all of your data (export it first)"
        )
    with _journal(db, photos_dir) as (engine, store):
        with jr.session_scope(engine) as session:
            me = jr.get_or_create_default_person(session).id
        result = jr.delete_everything(engine, store, person_id=me)
    if as_json:
        emit_json(result)
    else:
        typer.echo(
            f"Deleted {sum(result['deleted'].values())} records and {result['photo_files_removed']} photo files."
        )


# --- devices ---------------------------------------------------------------------------------------------

device_app = typer.Typer(help="Your rollers, pens and stamps.", no_args_is_help=True)


@device_app.command("add")
def device_add(
    name: str = typer.Option(..., help="A name you recognise, e.g. 'Dermaroller 1.5'."),
    kind: str = typer.Option(..., help="roller, pen or stamp."),
    needle_length_mm: float = typer.Option(..., help="Needle length in mm, in (0, 3.0]."),
    needle_count: int | None = typer.Option(None, help="Number of needles."),
    lot: str | None = typer.Option(None, help="Lot number or UDI."),
    first_use: str | None = typer.Option(None, help="First use date (ISO 8601)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Register a device."""
    with _my_journal(db) as (session, me):
        device = jr.add_device(
            session,
            person_id=me,
            name=name,
            kind=kind,
            needle_length_mm=needle_length_mm,
            needle_count=needle_count,
            lot=lot,
            first_use=first_use,
        )
        body = _row(device)
        findings = pr.check_device(
            pr.DeviceRecord.from_mapping(device.as_dict()), pr.load_rules(), on=dt.date.today()
        )
    if as_json:
        emit_json({"device": body, "findings": [f.to_dict() for f in findings]})
    else:
        typer.echo(f"Device {body['id']} added.")
        if findings:
            _print_findings(findings)


@device_app.command("list")
def device_list(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """List devices with use counts and last disinfection."""
    with _my_journal(db) as (session, me):
        rows = []
        for device in jr.list_devices(session, person_id=me):
            cleaned = jr.list_disinfections(session, person_id=me, device_id=device.id)
            rows.append(
                {
                    **_row(device),
                    "last_disinfected_at": cleaned[-1].disinfected_at.isoformat() if cleaned else None,
                }
            )
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        status = "retired" if r["retired_at"] else "in use"
        typer.echo(
            f"{r['id']}: {r['name']} ({r['kind']}, {r['needle_length_mm']:g} mm) uses={r['use_count']} "
            f"first_use={r['first_use']} disinfected={r['last_disinfected_at']} [{status}]"
        )


@device_app.command("disinfect")
def device_disinfect(
    device_id: int = typer.Argument(..., help="Device id (see `regrow device list`)."),
    method: str = typer.Option("70% isopropyl alcohol soak", help="How it was disinfected."),
    at: str | None = AtOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Record a disinfection of a device."""
    with _my_journal(db) as (session, me):
        row = jr.record_disinfection(
            session, person_id=me, device_id=device_id, disinfected_at=at or _now(), method=method
        )
        body = _row(row)
    emit_json(body) if as_json else typer.echo(f"Disinfection of device {device_id} recorded.")


@device_app.command("retire")
def device_retire(
    device_id: int = typer.Argument(..., help="Device id."),
    reason: str | None = typer.Option(None, help="Why (blunt, lost, replaced...)."),
    at: str | None = AtOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Retire a device (it stays in your history)."""
    with _my_journal(db) as (session, me):
        body = _row(
            jr.retire_device(
                session, person_id=me, device_id=device_id, retired_at=at or _now(), reason=reason
            )
        )
    emit_json(body) if as_json else typer.echo(f"Device {device_id} retired.")


# --- plans -----------------------------------------------------------------------------------------------

plan_app = typer.Typer(help="Create, show and check your treatment plan.", no_args_is_help=True)


@plan_app.command("create")
def plan_create(
    start: str = typer.Option(..., help="Start date (ISO 8601)."),
    needle_length_mm: float | None = NeedleLengthOption,
    device: int | None = typer.Option(None, help="Device id to use."),
    name: str | None = typer.Option(None, help="Plan name."),
    weeks: int | None = typer.Option(None, help="Length in weeks (default 24)."),
    loading_interval_days: int | None = typer.Option(None, help="Days between loading sessions (default 7)."),
    loading_sessions: int | None = typer.Option(None, help="Number of loading sessions (default 4)."),
    maintenance_interval_days: int | None = typer.Option(
        None, help="Days between later sessions (default 14)."
    ),
    minoxidil: bool = typer.Option(False, "--minoxidil/--no-minoxidil", help="Plan minoxidil doses."),
    minoxidil_strength_pct: float | None = typer.Option(None, help="Minoxidil strength in % (default 5)."),
    minoxidil_times: str | None = typer.Option(None, help="Dose times, e.g. 08:00,20:00."),
    minoxidil_hold_hours: float | None = typer.Option(
        None, help="Hold after sessions in hours (default 24)."
    ),
    prp_sessions: int | None = typer.Option(None, help="PRP series length (default 0)."),
    prp_interval_days: int | None = typer.Option(None, help="Days between PRP sessions (default 28)."),
    prp_maintenance_months: int | None = typer.Option(None, help="PRP maintenance after the series, months."),
    photo_interval_weeks: int | None = typer.Option(
        None, help="Photo checkpoints every N weeks (default 4)."
    ),
    first_evaluation_week: int | None = typer.Option(None, help="First evaluation week (default 12)."),
    decision_week: int | None = typer.Option(None, help="Decision week (default 24)."),
    acknowledge: list[str] | None = AcknowledgeOption,
    reason: list[str] | None = ReasonOption,
    rules_file: Path | None = RulesOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a plan (it becomes the active one); stop findings must be acknowledged."""
    rules = pr.load_rules(rules_file)
    acks = _acks(acknowledge or [], reason or [])
    times = None if minoxidil_times is None else [t.strip() for t in minoxidil_times.split(",") if t.strip()]
    with _my_journal(db) as (session, me):
        plan = wire.draft_plan(
            session,
            person_id=me,
            rules=rules,
            fields={
                "start_date": start,
                "needle_length_mm": needle_length_mm,
                "device_id": device,
                "name": name,
                "length_weeks": weeks,
                "loading_interval_days": loading_interval_days,
                "loading_sessions": loading_sessions,
                "maintenance_interval_days": maintenance_interval_days,
                "minoxidil": minoxidil,
                "minoxidil_strength_pct": minoxidil_strength_pct,
                "minoxidil_times": times,
                "minoxidil_hold_hours": minoxidil_hold_hours,
                "prp_sessions": prp_sessions,
                "prp_interval_days": prp_interval_days,
                "prp_maintenance_months": prp_maintenance_months,
                "photo_interval_weeks": photo_interval_weeks,
                "first_evaluation_week": first_evaluation_week,
                "decision_week": decision_week,
            },
            length_allowed="given with --needle-length-mm or --device",
        )
        row, findings = wire.store_plan(session, person_id=me, plan=plan, rules=rules, acknowledge=acks)
        body = {"plan": _row(row), "findings": [f.to_dict() for f in findings]}
    if as_json:
        emit_json(body)
    else:
        typer.echo(f"Plan {body['plan']['id']} created, starting {body['plan']['start_date']}.")
        _print_findings(findings)


@plan_app.command("show")
def plan_show(db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Show the active plan, its planned sessions and adherence so far."""
    with _my_journal(db) as (session, me):
        row, _ = _active_plan(session, me)
        records = wire.journal_records(session, person_id=me)
    # every version of the plan, each in force from its date: the past is scored by the plan of its day
    versions, sessions = records.versions(), records.sessions
    body = {
        "plan": _row(row),
        "versions": [
            {"id": v.id, "effective_from": _iso(v.effective_from or v.start_date)} for v in versions
        ],
        "planned_sessions": [d.isoformat() for d in pr.planned_session_dates(versions)],
        "next_session_due": (lambda d: d and d.isoformat())(pr.next_session_due(versions, sessions)),
        "adherence": pr.adherence(versions, sessions, as_of=dt.date.today()).to_dict(),
    }
    if as_json:
        emit_json(body)
        return
    for key, value in body["plan"].items():
        typer.echo(f"{key}: {value}")
    typer.echo(f"planned sessions: {len(body['planned_sessions'])}; next due: {body['next_session_due']}")
    typer.echo(_adherence_line(body["adherence"]))


@plan_app.command("check")
def plan_check(
    rules_file: Path | None = RulesOption, db: str | None = DbOption, as_json: bool = JsonOption
) -> None:
    """Check the active plan and the journal against the safety rules."""
    rules = pr.load_rules(rules_file)
    with _my_journal(db) as (session, me):
        records = wire.journal_records(session, person_id=me)
    findings = pr.check_journal(records, rules, now=_now())
    if records.plan is not None:
        findings = pr.check_plan(records.plan, records, rules) + [
            f for f in findings if not f.rule_id.startswith("screen.")
        ]
    if as_json:
        emit_json({"findings": [f.to_dict() for f in findings]})
    else:
        _print_findings(findings)


# --- logging ---------------------------------------------------------------------------------------------

log_app = typer.Typer(
    help="Log a needling session, an adjunct dose or an adverse event.", no_args_is_help=True
)


@log_app.command("session")
def log_session(
    device: int = typer.Option(..., help="Device id (see `regrow device list`)."),
    at: str | None = AtOption,
    needle_length_mm: float | None = NeedleLengthOption,
    passes: int | None = typer.Option(None, help="Number of passes."),
    area: str | None = typer.Option(None, help="Scalp area, e.g. vertex."),
    area_cm2: float | None = typer.Option(None, help="Area treated in cm²."),
    endpoint: str | None = typer.Option(None, help="none, erythema, pinpoint_bleeding or more_bleeding."),
    pain: int | None = typer.Option(None, help="Pain 0-10."),
    applied_during: list[str] | None = typer.Option(None, help="On the skin during needling (repeat)."),
    applied_after: list[str] | None = typer.Option(None, help="Applied afterwards (repeat)."),
    notes: str | None = NotesOption,
    acknowledge: list[str] | None = AcknowledgeOption,
    reason: list[str] | None = ReasonOption,
    rules_file: Path | None = RulesOption,
    allow_duplicate: bool = AllowDuplicateOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Log a needling session; a stop finding blocks it until acknowledged with a reason."""
    rules = pr.load_rules(rules_file)
    acks = _acks(acknowledge or [], reason or [])
    when = jr.parse_datetime("performed_at", at) if at else _now()
    with _my_journal(db) as (session, me):
        row, findings = wire.log_session(
            session,
            person_id=me,
            rules=rules,
            acknowledge=acks,
            device_id=device,
            performed_at=when,
            needle_length_mm=needle_length_mm,
            passes=passes,
            area=area,
            area_cm2=area_cm2,
            endpoint=endpoint,
            pain_0_10=pain,
            applied_during=applied_during,
            applied_after=applied_after,
            notes=notes,
            allow_duplicate=allow_duplicate,
        )
        body = {"session": _row(row), "findings": [f.to_dict() for f in findings]}
    if as_json:
        emit_json(body)
    else:
        typer.echo(f"Session {body['session']['id']} logged.")
        _print_findings(findings)


@log_app.command("dose")
def log_dose(
    kind: str = typer.Option(..., help="minoxidil, prp, finasteride or other."),
    at: str | None = AtOption,
    strength: str | None = typer.Option(None, help="Strength, e.g. 5%."),
    amount: str | None = typer.Option(None, help="Amount, e.g. 1 mL."),
    notes: str | None = NotesOption,
    allow_duplicate: bool = AllowDuplicateOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Log an adjunct dose (warns when minoxidil falls inside a post-session hold)."""
    with _my_journal(db) as (session, me):
        row, findings = wire.log_dose(
            session,
            person_id=me,
            rules=pr.load_rules(),
            kind=kind,
            taken_at=at or _now(),
            strength=strength,
            amount=amount,
            notes=notes,
            allow_duplicate=allow_duplicate,
        )
        body = {"dose": _row(row), "findings": [f.to_dict() for f in findings]}
    if as_json:
        emit_json(body)
    else:
        typer.echo(f"Dose {body['dose']['id']} logged.")
        if findings:
            _print_findings(findings)


@log_app.command("event")
def log_event(
    kind: str = typer.Option(
        ..., help="e.g. erythema, pain, pruritus, headache, infection, granuloma, scarring."
    ),
    severity: str = typer.Option(..., help="mild, moderate or severe."),
    onset: str | None = typer.Option(None, help="Onset (ISO 8601); now when omitted."),
    resolved: str | None = typer.Option(None, help="Resolution (ISO 8601), if resolved."),
    session_id: int | None = typer.Option(None, "--session", help="The session it followed."),
    notes: str | None = NotesOption,
    allow_duplicate: bool = AllowDuplicateOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Log an adverse event."""
    with _my_journal(db) as (session, me):
        row = jr.add_event(
            session,
            person_id=me,
            kind=kind,
            severity=severity,
            onset_at=onset or _now(),
            resolved_at=resolved,
            session_id=session_id,
            notes=notes,
            allow_duplicate=allow_duplicate,
        )
        body = _row(row)
    emit_json(body) if as_json else typer.echo(f"Adverse event {body['id']} logged.")


# --- today, schedule, export, import -----------------------------------------------------------------------


def today(
    at: str | None = typer.Option(None, help="Pretend it is this time (ISO 8601); now when omitted."),
    rules_file: Path | None = RulesOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """What is due today, minoxidil holds in force (and when they end), and open findings."""
    now = jr.parse_datetime("at", at) if at else _now()
    rules = pr.load_rules(rules_file)
    with _my_journal(db) as (session, me):
        records = wire.journal_records(session, person_id=me)
    plan = records.plan
    versions = records.versions()
    due = [] if plan is None else pr.due_today(versions, records.sessions, records.doses, today=now.date())
    hold_hours = None if plan is None else plan.minoxidil_hold_hours
    holds = pr.active_holds(records.sessions, rules, now=now, hold_hours=hold_hours)
    findings = pr.check_journal(records, rules, now=now)
    body = {
        "now": now.isoformat(timespec="minutes"),
        "plan_id": None if plan is None else plan.id,
        "due": due,
        "holds": [h.to_dict() for h in holds],
        "findings": [f.to_dict() for f in findings],
    }
    if plan is not None:
        body["adherence"] = pr.adherence(versions, records.sessions, as_of=now.date()).to_dict()
    if as_json:
        emit_json(body)
        return
    if plan is None:
        typer.echo("No plan yet; create one with `regrow plan create`.")
    for item in due:
        typer.echo(f"due: {_describe_due(item)}")
    if plan is not None and not due:
        typer.echo("Nothing is due today.")
    if plan is not None:
        typer.echo(_adherence_line(body["adherence"]))
    for hold in holds:
        typer.echo(f"hold: no minoxidil until {hold.end.isoformat(timespec='minutes')}")
    _print_findings(findings)


def _adherence_line(a: dict) -> str:
    """Adherence in words: sessions done of those planned, the intervals kept and the share on time."""
    line = f"adherence: {a['done_to_date']} of {a['planned_to_date']} planned sessions done so far"
    if a.get("mean_interval_days") is not None:
        sd = a.get("sd_interval_days")
        line += f"; {a['mean_interval_days']:.1f} days between sessions on average"
        line += "" if sd is None else f" (SD {sd:.1f})"
    if a.get("on_time_fraction") is not None:
        line += f"; {100 * a['on_time_fraction']:.0f}% on time"
    return line


def _describe_due(item: dict) -> str:
    """One readable line for an item of ``due_today``."""
    kind = item.get("kind")
    if kind == "session":
        late = item.get("overdue_days", 0)
        return f"micro-needling session (planned {item['due']}" + (f", {late} days overdue)" if late else ")")
    if kind == "minoxidil":
        return f"minoxidil at {item['time']}" + (" (done)" if item.get("done") else "")
    return str(item.get("title") or kind)


def schedule(
    ics: Path | None = typer.Option(None, "--ics", help="Write the plan as an iCalendar file here."),
    rules_file: Path | None = RulesOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """The active plan's calendar: sessions, minoxidil doses, PRP and checkpoints (optionally as .ics)."""
    rules = pr.load_rules(rules_file)
    with _my_journal(db) as (session, me):
        _, plan = _active_plan(session, me)
        versions = wire.journal_records(session, person_id=me).versions()
    items = pr.plan_schedule(versions, rules=rules)
    if ics is not None:
        try:
            ics.parent.mkdir(parents=True, exist_ok=True)
            ics.write_bytes(pr.schedule_to_ical(items, plan_id=plan.id))
        except OSError as exc:  # a folder given as the file, a file in the way, no permission
            raise InputError.invalid("--ics", str(ics), f"a writable file path ({exc.strerror})") from exc
    if as_json:
        emit_json(
            {
                "plan_id": plan.id,
                "ics": None if ics is None else str(ics),
                "items": [i.to_dict() for i in items],
            }
        )
        return
    for item in items:
        typer.echo(f"{item.to_dict()['start']}  {item.title}")
    if ics is not None:
        typer.echo(f"Wrote {ics}")


def export(
    out: Path = typer.Option(Path("."), "--out", help="Folder to write into."),
    fmt: str = typer.Option(
        "archive",
        "--format",
        help="archive: one .zip with every record and photo file (restores exactly); csv: one file per "
        "table + manifest.json, for spreadsheets (no photo files).",
    ),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Export everything in the journal: one archive (default) or CSV tables."""
    if fmt not in ("archive", "csv"):
        raise InputError.invalid("--format", fmt, "archive or csv")
    if out.exists() and not out.is_dir():
        raise InputError.invalid("--out", str(out), "a folder (this is a file)")
    with _journal(db, photos_dir) as (engine, store):
        try:
            if fmt == "archive":
                summary = jr.export_archive(engine, store, out / jr.archive_name())
                body = {"format": fmt, **summary.to_dict()}
            else:
                with jr.session_scope(engine) as session:
                    files = jr.export_csv(session, out)
                body = {"format": fmt, "files": [str(f) for f in files]}
        except OSError as exc:  # no permission, disk full, a file in the way
            raise InputError.invalid("--out", str(out), f"a writable folder ({exc.strerror})") from exc
    if as_json:
        emit_json(body)
        return
    if fmt == "csv":
        typer.echo(f"Wrote {len(body['files'])} files into {out}")
        return
    typer.echo(
        f"Wrote {body['file']} ({sum(body['rows'].values())} records, {body['photo_files']} photo files)"
    )
    for name in body["missing_photo_files"]:
        typer.echo(
            f"warning: photo file {name} is missing from the photo folder; its record is exported", err=True
        )


def import_(
    file: Path = typer.Argument(
        ..., help="An export archive (.zip), or an older JSON export / CSV export folder."
    ),
    replace: bool = typer.Option(False, "--replace", help="Delete everything in the journal first."),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Restore an export exactly (into an empty journal, or with --replace)."""
    with _journal(db, photos_dir) as (engine, store):
        result = jr.import_journal(engine, store, file, replace=replace)
    if as_json:
        emit_json(result)
        return
    typer.echo(
        f"Restored {sum(result['restored'].values())} records and {result['photo_files_restored']} photo file(s)."
    )
    if result["photos_without_files"]:
        typer.echo(
            f"warning: {len(result['photos_without_files'])} photo(s) had no file in the export (exports of "
            "regrow 0.1 carried none); their measurements were restored without the photo.",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Mount the journal commands on the root ``regrow`` app."""
    app.add_typer(profile_app, name="profile")
    app.add_typer(device_app, name="device")
    app.add_typer(plan_app, name="plan")
    app.add_typer(log_app, name="log")
    app.command("today")(today)
    app.command("schedule")(schedule)
    app.command("export")(export)
    app.command("import")(import_)
