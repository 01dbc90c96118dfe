"""The rule engine: rules are data (``rules.yaml``), checks are small functions keyed by rule id.

Each check gets the rule (severity, message, params) and the records, and returns zero or more
:class:`Finding` objects carrying the rule's message, reason context and source citation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from regrow.errors import DataFileError, RuleBlockedError

from ._records import DeviceRecord, DoseRecord, JournalRecords, PlanRecord, SessionRecord
from ._versions import as_versions, next_planned_date, sessions_in_plan

__all__ = [
    "DEFAULT_RULES_PATH",
    "KNOWN_RULE_IDS",
    "SEVERITIES",
    "Finding",
    "Rule",
    "RuleSet",
    "check_device",
    "check_dose",
    "check_journal",
    "check_plan",
    "check_session",
    "load_rules",
    "require_acknowledged",
]

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yaml")
SEVERITIES = ("info", "caution", "stop")
_SCOPES = ("profile", "plan", "session", "dose", "device", "journal")
SCREENING_RULES = {
    "screen.scarring_alopecia": "scarring_alopecia",
    "screen.active_infection": "active_scalp_infection",
    "screen.keloid": "keloid_tendency",
    "screen.bleeding_risk": "bleeding_disorder_or_anticoagulants",
    "screen.pregnancy": "pregnancy",
    "screen.isotretinoin": "isotretinoin",
}


@dataclasses.dataclass(frozen=True)
class Rule:
    """One safety or consistency rule, as data."""

    id: str
    severity: str
    message: str
    source: str
    applies_to: tuple[str, ...]
    params: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Finding:
    """A rule that fired: what, how serious, why (``context``) and the source behind it."""

    rule_id: str
    severity: str
    message: str
    source: str
    context: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings)."""
        ctx = {
            k: v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for k, v in self.context.items()
        }
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
            "context": ctx,
        }


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """The rules in force (bundled, possibly overridden by a clinic file)."""

    rules: Mapping[str, Rule]

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def for_scope(self, scope: str) -> list[Rule]:
        """Rules that apply to ``scope`` (plan, session, dose, device, journal)."""
        return [r for r in self.rules.values() if scope in r.applies_to]


def _parse_rule(raw: Any, path: Path, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise DataFileError(f"{path}: rule {index + 1} must be a mapping.", path=str(path), row=index + 1)
    for key in ("id", "severity", "message", "source", "applies_to"):
        if not raw.get(key):
            raise DataFileError(
                f"{path}: rule {index + 1} has no {key!r}.", path=str(path), row=index + 1, column=key
            )
    if raw["severity"] not in SEVERITIES:
        raise DataFileError(
            f"{path}: rule {raw['id']!r} severity {raw['severity']!r}; "
            f"must be one of {', '.join(SEVERITIES)}.",
            path=str(path),
            row=index + 1,
            column="severity",
        )
    scopes = tuple(raw["applies_to"])
    bad = [s for s in scopes if s not in _SCOPES]
    if bad:
        raise DataFileError(
            f"{path}: rule {raw['id']!r} applies_to {bad[0]!r}; must be among {', '.join(_SCOPES)}.",
            path=str(path),
            row=index + 1,
            column="applies_to",
        )
    return Rule(
        id=str(raw["id"]),
        severity=raw["severity"],
        message=" ".join(str(raw["message"]).split()),
        source=str(raw["source"]),
        applies_to=scopes,
        params=dict(raw.get("params") or {}),
    )


def _read_yaml(path: Path) -> list[Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataFileError(f"Rules file {str(path)!r} does not exist.", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: not a UTF-8 text file (byte {exc.start} cannot be decoded); save it as UTF-8 YAML.",
            path=str(path),
        ) from exc
    except OSError as exc:  # a folder, no permission, ...
        raise DataFileError(f"{path}: cannot read the rules file ({exc.strerror}).", path=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = "" if mark is None else f" at line {mark.line + 1}"
        raise DataFileError(
            f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}.", path=str(path)
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise DataFileError(f"{path}: must hold a top-level 'rules:' list.", path=str(path), column="rules")
    return document["rules"]


def load_rules(override: str | Path | None = None) -> RuleSet:
    """Load the bundled rules, then apply a clinic's override file by rule id.

    Parameters
    ----------
    override : path, optional
        YAML with ``rules: [{id: ..., severity/message/source/params/applies_to: ...}]``; each id must exist
        in the bundled rules (its checks are built in); ``params`` are merged key by key.

    Returns
    -------
    RuleSet

    Raises
    ------
    DataFileError
        A rule is malformed or an override names an unknown id (file, rule and field named).
    """
    rules: dict[str, Rule] = {}
    for index, raw in enumerate(_read_yaml(DEFAULT_RULES_PATH)):
        rule = _parse_rule(raw, DEFAULT_RULES_PATH, index)
        rules[rule.id] = rule
    if override is not None:
        path = Path(override)
        for index, raw in enumerate(_read_yaml(path)):
            rule_id = raw.get("id") if isinstance(raw, dict) else None
            if rule_id not in rules:
                raise DataFileError(
                    f"{path}: rule {index + 1} id {rule_id!r} is not a known rule; must be one of "
                    + ", ".join(sorted(rules)),
                    path=str(path),
                    row=index + 1,
                    column="id",
                )
            base = dataclasses.asdict(rules[rule_id])
            merged = {**base, **{k: v for k, v in raw.items() if k != "params"}}
            merged["params"] = {**base["params"], **(raw.get("params") or {})}
            rules[rule_id] = _parse_rule(merged, path, index)
    if set(rules) != KNOWN_RULE_IDS:  # pragma: no cover - guards the bundled file
        raise DataFileError(f"{DEFAULT_RULES_PATH}: rule ids differ from the built-in checks.")
    return RuleSet(rules)


def _finding(rule: Rule, **context: Any) -> Finding:
    values = {**rule.params, **context}
    if "allowed" in values and isinstance(values["allowed"], list | tuple):
        values["allowed"] = ", ".join(values["allowed"])
    try:
        message = rule.message.format(**values)
    except (KeyError, IndexError, ValueError):
        message = rule.message
    return Finding(rule.id, rule.severity, message, rule.source, context)


# --- the checks ----------------------------------------------------------------------------------------


def _screening(rule: Rule, journal: JournalRecords) -> list[Finding]:
    question = SCREENING_RULES[rule.id]
    if journal.screening.get(question) is True:
        return [_finding(rule, question=question)]
    return []


def _screen_incomplete(rule: Rule, journal: JournalRecords) -> list[Finding]:
    missing = [q for q in SCREENING_RULES.values() if q not in journal.screening]
    return [_finding(rule, missing=", ".join(missing))] if missing else []


def _diagnosis_unconfirmed(rule: Rule, journal: JournalRecords) -> list[Finding]:
    if journal.profile is None or not journal.profile.diagnosis_confirmed_by_clinician:
        return [_finding(rule)]
    return []


def _alopecia_areata(rule: Rule, journal: JournalRecords) -> list[Finding]:
    if journal.profile is not None and journal.profile.diagnosis == "alopecia_areata":
        return [_finding(rule, diagnosis="alopecia_areata")]
    return []


def _clinic_only(rule: Rule, needle_length_mm: float) -> list[Finding]:
    if needle_length_mm > rule.params["max_home_needle_mm"]:
        return [_finding(rule, needle_length_mm=needle_length_mm)]
    return []


def min_interval_days(rule: Rule, needle_length_mm: float) -> int:
    """Minimum days between sessions for a needle length, from the rule's tiers."""
    for longest_mm, days in rule.params["tiers"]:
        if needle_length_mm <= longest_mm:
            return int(days)
    return int(rule.params["tiers"][-1][1])


def hold_applies(rule: Rule, needle_length_mm: float) -> bool:
    """Whether a minoxidil hold follows a session at this needle length."""
    return needle_length_mm >= rule.params["min_needle_mm"]


def _previous_session(journal: JournalRecords, when: dt.datetime) -> SessionRecord | None:
    earlier = [s for s in journal.sessions if s.performed_at < when]
    return max(earlier, key=lambda s: s.performed_at) if earlier else None


def _device_findings(rule: Rule, device: DeviceRecord, when: dt.datetime) -> list[Finding]:
    if rule.id == "device.use_limit" and device.use_count >= rule.params["max_uses"]:
        return [_finding(rule, use_count=device.use_count)]
    if rule.id == "device.age_limit" and device.first_use is not None:
        age_days = (when.date() - device.first_use).days
        if age_days >= rule.params["max_age_days"]:
            return [_finding(rule, age_days=age_days)]
    return []


def _open_serious_events(rule: Rule, journal: JournalRecords, when: dt.datetime) -> list[Finding]:
    out = []
    for event in journal.events:
        open_now = event.resolved_at is None or event.resolved_at > when
        serious = (
            event.kind in rule.params["serious_kinds"] or event.severity in rule.params["serious_severities"]
        )
        if open_now and serious and event.onset_at <= when:
            out.append(
                _finding(rule, kind=event.kind, severity=event.severity, onset=event.onset_at.isoformat())
            )
    return out


def _profile_checks(rules: RuleSet, scope: str, journal: JournalRecords) -> list[Finding]:
    out: list[Finding] = []
    for rule in rules.for_scope(scope):
        if rule.id in SCREENING_RULES:
            out += _screening(rule, journal)
        elif rule.id == "screen.incomplete":
            out += _screen_incomplete(rule, journal)
        elif rule.id == "screen.diagnosis_unconfirmed":
            out += _diagnosis_unconfirmed(rule, journal)
        elif rule.id == "screen.alopecia_areata":
            out += _alopecia_areata(rule, journal)
    return out


def check_plan(plan: PlanRecord, journal: JournalRecords, rules: RuleSet) -> list[Finding]:
    """Check a plan (and the profile and screening it is for).

    Parameters
    ----------
    plan : PlanRecord
    journal : JournalRecords
        Profile and screening answers are read from here.
    rules : RuleSet

    Returns
    -------
    list of Finding
        Sorted stop first, then caution, then info.
    """
    out = _profile_checks(rules, "plan", journal)
    for rule in rules.for_scope("plan"):
        if rule.id == "needle.clinic_only":
            out += _clinic_only(rule, plan.needle_length_mm)
        elif rule.id == "interval.minimum":
            minimum = min_interval_days(rule, plan.needle_length_mm)
            intervals = {plan.maintenance_interval_days}
            if plan.loading_sessions > 0:
                intervals.add(plan.loading_interval_days)
            for days in sorted(intervals):
                if days < minimum:
                    out.append(
                        _finding(
                            rule,
                            interval_days=days,
                            needle_length_mm=plan.needle_length_mm,
                            min_interval_days=minimum,
                        )
                    )
        elif rule.id == "minoxidil.hold":
            short = plan.minoxidil_hold_hours < rule.params["hold_hours"]
            if plan.minoxidil and hold_applies(rule, plan.needle_length_mm) and short:
                out.append(
                    _finding(
                        rule,
                        hours_after=plan.minoxidil_hold_hours,
                        needle_length_mm=plan.needle_length_mm,
                        hold_ends=f"{rule.params['hold_hours']:g} h after each session",
                    )
                )
        elif rule.id == "plan.first_evaluation":
            if min(plan.first_evaluation_week, plan.length_weeks) < rule.params["min_weeks"]:
                out.append(
                    _finding(
                        rule, first_evaluation_week=plan.first_evaluation_week, length_weeks=plan.length_weeks
                    )
                )
        elif rule.id == "plan.decision_point":
            if min(plan.decision_week, plan.length_weeks) < rule.params["min_weeks"]:
                out.append(_finding(rule, decision_week=plan.decision_week, length_weeks=plan.length_weeks))
        elif rule.id == "plan.photo_interval":
            if plan.photo_interval_weeks > rule.params["max_weeks"]:
                out.append(_finding(rule, photo_interval_weeks=plan.photo_interval_weeks))
        elif rule.id == "prp.interval":
            if plan.prp_sessions > 1 and plan.prp_interval_days < rule.params["min_interval_days"]:
                out.append(_finding(rule, prp_interval_days=plan.prp_interval_days))
        elif rule.id == "plan.off_label":
            out.append(_finding(rule))
    return _sorted(out)


def check_session(candidate: SessionRecord, journal: JournalRecords, rules: RuleSet) -> list[Finding]:
    """Check a session about to be logged against the journal so far.

    Parameters
    ----------
    candidate : SessionRecord
        The new session (not yet in ``journal.sessions``).
    journal : JournalRecords
        Profile, screening, devices (``use_count`` = uses before this one), disinfections, earlier sessions,
        doses and adverse events.
    rules : RuleSet

    Returns
    -------
    list of Finding
        Sorted stop first.
    """
    out = _profile_checks(rules, "session", journal)
    when = candidate.performed_at
    device = journal.device(candidate.device_id)
    previous = _previous_session(journal, when)
    for rule in rules.for_scope("session"):
        if rule.id == "needle.clinic_only":
            out += _clinic_only(rule, candidate.needle_length_mm)
        elif rule.id == "interval.minimum" and previous is not None:
            interval_days = (when - previous.performed_at).total_seconds() / 86400
            minimum = min_interval_days(rule, candidate.needle_length_mm)
            if interval_days < minimum:
                out.append(
                    _finding(
                        rule,
                        interval_days=round(interval_days, 2),
                        needle_length_mm=candidate.needle_length_mm,
                        min_interval_days=minimum,
                        previous_session=previous.performed_at,
                    )
                )
        elif rule.id == "minoxidil.hold" and hold_applies(rule, candidate.needle_length_mm):
            after = [p for p in candidate.applied_after if "minoxidil" in p.lower()]
            if after:
                hold_ends = when + dt.timedelta(hours=rule.params["hold_hours"])
                out.append(
                    _finding(
                        rule,
                        hours_after=0,
                        needle_length_mm=candidate.needle_length_mm,
                        hold_ends=hold_ends.isoformat(timespec="minutes"),
                    )
                )
        elif rule.id == "topical.not_approved":
            allowed = {a.lower() for a in rule.params["allowed"]}
            bad = [p for p in candidate.applied_during if p.strip().lower() not in allowed]
            if bad:
                out.append(_finding(rule, products=", ".join(bad)))
        elif rule.id in ("device.use_limit", "device.age_limit") and device is not None:
            out += _device_findings(rule, device, when)
        elif rule.id == "device.not_disinfected" and device is not None:
            uses = [
                s.performed_at for s in journal.sessions if s.device_id == device.id and s.performed_at < when
            ]
            if uses:
                last_use = max(uses)
                cleaned = [
                    d
                    for d in journal.disinfections
                    if d.device_id == device.id and last_use <= d.disinfected_at <= when
                ]
                if not cleaned:
                    out.append(_finding(rule, last_use=last_use.isoformat(timespec="minutes")))
        elif rule.id == "device.single_use" and device is not None:
            if device.use_count >= 1 and candidate.needle_length_mm >= rule.params["min_needle_mm"]:
                out.append(_finding(rule, use_count=device.use_count))
        elif rule.id == "event.open_serious":
            out += _open_serious_events(rule, journal, when)
        elif rule.id == "session.endpoint_exceeded" and candidate.endpoint == "more_bleeding":
            out.append(_finding(rule, endpoint=candidate.endpoint))
    return _sorted(out)


def check_dose(dose: DoseRecord, journal: JournalRecords, rules: RuleSet) -> list[Finding]:
    """Check an adjunct dose (a minoxidil application inside the post-session hold)."""
    out = []
    rule = rules["minoxidil.hold"]
    if "dose" in rule.applies_to and dose.kind == "minoxidil":
        for session in journal.sessions:
            if not hold_applies(rule, session.needle_length_mm):
                continue
            hours_after = (dose.taken_at - session.performed_at).total_seconds() / 3600
            if 0 <= hours_after < rule.params["hold_hours"]:
                hold_ends = session.performed_at + dt.timedelta(hours=rule.params["hold_hours"])
                out.append(
                    _finding(
                        rule,
                        hours_after=round(hours_after, 2),
                        needle_length_mm=session.needle_length_mm,
                        hold_ends=hold_ends.isoformat(timespec="minutes"),
                    )
                )
    return _sorted(out)


def check_device(device: DeviceRecord, rules: RuleSet, *, on: dt.date) -> list[Finding]:
    """Check a device on a day: needle length for home use, use count, age."""
    out: list[Finding] = []
    when = dt.datetime.combine(on, dt.time())
    for rule in rules.for_scope("device"):
        if rule.id == "needle.clinic_only":
            out += _clinic_only(rule, device.needle_length_mm)
        elif rule.id in ("device.use_limit", "device.age_limit"):
            out += _device_findings(rule, device, when)
    return _sorted(out)


def check_journal(journal: JournalRecords, rules: RuleSet, *, now: dt.datetime) -> list[Finding]:
    """Open findings for the whole journal at ``now``: screening, open serious events, gaps, devices."""
    out = _profile_checks(rules, "journal", journal)
    for rule in rules.for_scope("journal"):
        if rule.id == "event.open_serious":
            out += _open_serious_events(rule, journal, now)
        elif rule.id == "journal.adherence_gap" and journal.plan is not None:
            out += _adherence_gap(rule, journal, now)
    for device in journal.devices:
        if device.retired_at is None:
            out += [
                f for f in check_device(device, rules, on=now.date()) if f.rule_id != "needle.clinic_only"
            ]
    return _sorted(out)


def _adherence_gap(rule: Rule, journal: JournalRecords, now: dt.datetime) -> list[Finding]:
    """A gap since the last session longer than ``factor`` times the interval the plan in force set for it."""
    versions = as_versions(journal.versions())
    done = [s for s in sessions_in_plan(versions, journal.sessions) if s.performed_at <= now]
    if not done or now.date() >= versions[-1].end_date:
        return []
    last = done[-1].performed_at
    interval = (next_planned_date(versions, last.date(), len(done)) - last.date()).days
    gap_days = (now - last).days
    if gap_days > rule.params["factor"] * interval:
        return [_finding(rule, gap_days=gap_days, interval_days=interval)]
    return []


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return sorted(findings, key=lambda f: (order[f.severity], f.rule_id))


def require_acknowledged(findings: Iterable[Finding], acknowledged: Mapping[str, str]) -> list[Finding]:
    """Raise unless every ``stop`` finding is acknowledged with a non-empty reason.

    Parameters
    ----------
    findings : iterable of Finding
    acknowledged : mapping of rule id to reason

    Returns
    -------
    list of Finding
        The stop findings that were acknowledged (the caller records them).

    Raises
    ------
    RuleBlockedError
        Naming each unacknowledged stop rule, its message and source, and how to acknowledge it.
    """
    stops = [f for f in findings if f.severity == "stop"]
    missing = [f for f in stops if not str(acknowledged.get(f.rule_id) or "").strip()]
    if missing:
        lines = "; ".join(f"[{f.rule_id}] {f.message} (source: {f.source})" for f in missing)
        first = missing[0].rule_id
        raise RuleBlockedError(
            f"Blocked by {len(missing)} stop finding(s): {lines}. To go ahead anyway, repeat with "
            f"--acknowledge {first} --reason TEXT (one --acknowledge per rule); "
            "the acknowledgement is recorded.",
            field="acknowledge",
            value=None,
            allowed=", ".join(f.rule_id for f in missing),
        )
    return stops


#: Every rule id with a built-in check (the bundled rules.yaml must define exactly these).
KNOWN_RULE_IDS = frozenset(
    [
        *SCREENING_RULES,
        "screen.incomplete",
        "screen.diagnosis_unconfirmed",
        "screen.alopecia_areata",
        "needle.clinic_only",
        "interval.minimum",
        "minoxidil.hold",
        "topical.not_approved",
        "device.use_limit",
        "device.age_limit",
        "device.not_disinfected",
        "device.single_use",
        "event.open_serious",
        "session.endpoint_exceeded",
        "plan.first_evaluation",
        "plan.decision_point",
        "plan.photo_interval",
        "prp.interval",
        "plan.off_label",
        "journal.adherence_gap",
    ]
)
