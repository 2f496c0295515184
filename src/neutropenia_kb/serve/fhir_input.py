"""FHIR prefetch (Observation bundles, the Patient) → one patient mapping for the evaluator.

An observation is used only when it is final, recent, for this patient and in a unit we can
convert exactly; anything else counts as missing, so the rules' cautious logic decides, and the
card says what was left out and why. Nothing here guesses a value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from neutropenia_kb import evaluator_for
from neutropenia_kb.core.problems import InputError, show_value
from neutropenia_kb.core.units import find_unit

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# Observation.status values whose result may be acted on (FHIR R4 ObservationStatus):
# preliminary, registered, cancelled, entered-in-error and unknown results are not used.
USABLE_STATUS = frozenset({"final", "amended", "corrected"})
CLOCK_SKEW = dt.timedelta(minutes=5)  # a result dated this far ahead still counts as "now"

# UCUM codes labs send → the unit names of units.py. Only exact equivalences: 10*3/uL is
# 10^3 per µL = 10^9 per L; 10*6/L is 1 per µL. Anything else (K/uL, {cells}, mmol/L, K) is not
# converted and the observation counts as missing.
UCUM_UNITS = {
    "10*3/uL": "10^9/L", "10*9/L": "10^9/L", "10*3/mm3": "10^9/L", "10.3/uL": "10^9/L",
    "/uL": "cells/uL", "/mm3": "cells/uL", "10*6/L": "cells/uL", "{cells}/uL": "cells/uL",
    "Cel": "C", "[degF]": "F",
    "%": "%",
}


@dataclass(frozen=True)
class Wanted:
    """One prefetch key: which LOINC codes give which knowledge-base input."""

    key: str
    input: str
    codes: tuple[str, ...]
    max_age: str  # "counts" or "temperature": which freshness window applies


# LOINC codes (loinc.org): 751-8 Neutrophils [#/volume] in Blood by Automated count; 753-4 ... by
# Manual count; 26499-4 Neutrophils [#/volume] in Blood; 6690-2 Leukocytes [#/volume] in Blood by
# Automated count; 770-8 Neutrophils/100 leukocytes in Blood by Automated count; 764-1 Band form
# neutrophils/100 leukocytes in Blood by Manual count, 26508-2 ... in Blood, 35332-6 ... by
# Automated count; 8310-5 Body temperature.
WANTED: tuple[Wanted, ...] = (
    Wanted("anc", "anc", ("751-8", "26499-4", "753-4"), "counts"),
    Wanted("wbc", "wbc", ("6690-2",), "counts"),
    Wanted("neutrophils", "neutrophils_percent", ("770-8",), "counts"),
    Wanted("bands", "bands_percent", ("764-1", "26508-2", "35332-6"), "counts"),
    Wanted("temperature", "temperature", ("8310-5",), "temperature"),
)
PATIENT_KEY = "patient"


@dataclass(frozen=True)
class Used:
    input: str
    value: str  # as given, with its unit: "0.8 ×10⁹/L"
    when: str  # the observation's effective time as written
    observation: str  # "Observation/abc" or "" when it has no id


@dataclass
class PatientData:
    """What the prefetch gave: the evaluator's mapping, and what was used or left out."""

    mapping: dict[str, Any] = field(default_factory=dict)
    used: list[Used] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # sentences: what was not used and why
    not_sent: list[str] = field(default_factory=list)  # prefetch keys the client did not send
    _times: dict[str, dt.datetime] = field(default_factory=dict)


def read_prefetch(kb: Any, prefetch: Mapping[str, Any], patient_id: str, now: dt.datetime,
                  max_age: Mapping[str, dt.timedelta], wanted: Sequence[Wanted] = WANTED
                  ) -> PatientData:
    """``prefetch`` has been checked to be an object. Raises InputError for a wrongly shaped
    resource (a field of the wrong type), never for a result that is merely unusable."""
    data = PatientData()
    parser = evaluator_for(kb).parser
    for want in wanted:
        if want.key not in prefetch:
            data.not_sent.append(want.key)
            continue
        resource = prefetch[want.key]
        if resource is None:  # CDS Hooks: null = the client has no data for this template
            data.left_out.append(f"{want.input}: no result on record")
            continue
        _take_newest(data, parser, want, resource, patient_id, now, max_age[want.max_age])
    _same_sample(data)
    if PATIENT_KEY in prefetch and prefetch[PATIENT_KEY] is not None:
        _age(data, parser, prefetch[PATIENT_KEY], patient_id, now)
    return data


def _take_newest(data: PatientData, parser: Any, want: Wanted, resource: Any, patient_id: str,
                 now: dt.datetime, window: dt.timedelta) -> None:
    where = f"prefetch.{want.key}"
    best: tuple[dt.datetime, dict[str, Any], Used] | None = None
    reasons: list[str] = []
    for path, obs in _observations(resource, where):
        why, found = _usable(obs, path, want, patient_id, now, window)
        if why:
            reasons.append(why)
            continue
        assert found is not None
        when, raw, used = found
        try:
            parser.parse({want.input: raw})  # the knowledge base's own plausible range
        except InputError as exc:
            reasons.append(f"{used.value} ({used.when}) is outside what is plausible: "
                           f"{exc.allowed}")
            continue
        if best is None or when > best[0]:
            best = (when, raw, used)
    if best is None:
        data.left_out.append(f"{want.input}: " + ("; ".join(reasons) if reasons else
                                                 "no result on record"))
        return
    data.mapping[want.input] = best[1]
    data.used.append(best[2])
    data._times[want.input] = best[0]


def _observations(resource: Any, where: str) -> list[tuple[str, Mapping[str, Any]]]:
    if not isinstance(resource, Mapping):
        raise InputError(where, resource, "a FHIR resource (a Bundle or an Observation) or null")
    kind = resource.get("resourceType")
    if kind == "Observation":
        return [(where, resource)]
    if kind != "Bundle":
        raise InputError(f"{where}.resourceType", kind, "'Bundle' or 'Observation'")
    entries = resource.get("entry", [])
    if not isinstance(entries, list):
        raise InputError(f"{where}.entry", entries, "a list of bundle entries")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InputError(f"{where}.entry[{i}]", entry, "a bundle entry: {\"resource\": {...}}")
        res = entry.get("resource")
        if not isinstance(res, Mapping):
            raise InputError(f"{where}.entry[{i}].resource", res, "a FHIR resource")
        if res.get("resourceType") == "Observation":  # e.g. an OperationOutcome is skipped
            out.append((f"{where}.entry[{i}]", res))
    return out


def _usable(obs: Mapping[str, Any], path: str, want: Wanted, patient_id: str, now: dt.datetime,
            window: dt.timedelta) -> tuple[str, tuple[dt.datetime, dict[str, Any], Used] | None]:
    """('', (time, raw value, Used)) or (why it is not used, None)."""
    # The EHR's texts (id, status, comparator, unit) are quoted through show_value, as in an
    # error: a card must not carry a line break or a bidirectional mark from them.
    ident = f"Observation/{show_value(obs['id'])}" if isinstance(obs.get("id"), str) else ""
    label = ident or path
    if not _has_code(obs.get("code"), want.codes):
        return f"{label} has none of the LOINC codes {', '.join(want.codes)}", None
    subject = obs.get("subject")
    ref = subject.get("reference") if isinstance(subject, Mapping) else None
    if isinstance(ref, str) and ref.startswith("Patient/") and ref != f"Patient/{patient_id}":
        return f"{label} is about another patient", None
    status = obs.get("status")
    if status not in USABLE_STATUS:
        return f"{label} has status '{show_value(status)}' (used: final, amended, corrected)", None
    written = obs.get("effectiveDateTime") or obs.get("effectiveInstant")
    period = obs.get("effectivePeriod")
    if written is None and isinstance(period, Mapping):
        written = period.get("end") or period.get("start")
    when = parse_time(written) if isinstance(written, str) else None
    if when is None:
        return f"{label} has no usable effective date", None
    if when > now + CLOCK_SKEW:
        return f"{label} is dated in the future ({written})", None
    if now - when > window:
        return f"{label} from {written} is older than {_hours(window)}", None
    qty = obs.get("valueQuantity")
    if not isinstance(qty, Mapping) or "value" not in qty:
        return f"{label} has no valueQuantity", None
    if qty.get("comparator") is not None:  # '<0.1': not an exact value to compare
        given = show_value(f"{qty.get('comparator')}{qty.get('value')}")
        return f"{label} is '{given}', not an exact value", None
    value = qty["value"]
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        return f"{label} has a value that is not a number", None
    unit = ucum_unit(qty)
    if unit is None:
        shown = qty.get("code") or qty.get("unit")
        return f"{label} has the unit '{show_value(shown)}', which is not converted", None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    shown_unit = find_unit(unit)
    symbol = shown_unit.symbol if shown_unit else unit
    used = Used(want.input, f"{number}{'' if symbol == '%' else ' '}{symbol}", str(written), ident)
    return "", (when, {"value": number, "unit": unit}, used)


def _has_code(code: Any, codes: Sequence[str]) -> bool:
    codings = code.get("coding") if isinstance(code, Mapping) else None
    if not isinstance(codings, list):
        return False
    return any(isinstance(c, Mapping) and c.get("system") == LOINC and c.get("code") in codes
               for c in codings)


def ucum_unit(qty: Mapping[str, Any]) -> str | None:
    """The units.py name for a Quantity's unit: its UCUM code when the system is UCUM (or not
    given), else None. The human-readable ``unit`` text is not trusted: 'K/uL' is ambiguous."""
    system = qty.get("system")
    code = qty.get("code")
    if system not in (None, UCUM) or not isinstance(code, str):
        return None
    return UCUM_UNITS.get(code.strip())


def _same_sample(data: PatientData) -> None:
    """ANC worked out from WBC × (neutrophils % + bands %) only when the three come from the same
    blood sample (the same effective time): mixing draws of different days gives a count that
    was never measured. A direct ANC older than such a full count gives way to it."""
    times = data._times
    wbc = times.get("wbc")
    for name in ("neutrophils_percent", "bands_percent"):
        if name in times and wbc is not None and times[name] != wbc:
            _drop(data, name, "not from the same blood sample as the white cell count")
    if wbc is not None and "neutrophils_percent" not in times:
        return
    anc = times.get("anc")
    if anc is not None and wbc is not None and anc < wbc:
        _drop(data, "anc", "older than the full blood count it is worked out from")


def _drop(data: PatientData, name: str, why: str) -> None:
    data.mapping.pop(name, None)
    data._times.pop(name, None)
    for used in [u for u in data.used if u.input == name]:
        data.used.remove(used)
        data.left_out.append(f"{name}: {used.value} ({used.when}) {why}")


def _age(data: PatientData, parser: Any, patient: Any, patient_id: str,
         now: dt.datetime) -> None:
    if not isinstance(patient, Mapping) or patient.get("resourceType") != "Patient":
        raise InputError("prefetch.patient", patient, "a FHIR Patient resource or null")
    if "age_years" not in parser.specs:
        return
    if isinstance(patient.get("id"), str) and patient["id"] != patient_id:
        data.left_out.append("age_years: the Patient resource is another patient")
        return
    born = patient.get("birthDate")
    try:
        birth = dt.date.fromisoformat(born) if isinstance(born, str) and len(born) == 10 else None
    except ValueError:
        birth = None
    if birth is None:
        data.left_out.append("age_years: no full birth date (YYYY-MM-DD) on the Patient")
        return
    today = now.date()
    if birth > today:
        data.left_out.append(f"age_years: birth date {born} is in the future")
        return
    years = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    # Under one year: days/366 stays below 1 even across a leap day; cut (never rounded up) to
    # two places so an infant is never shown as one year old.
    age = Fraction(years) if years else Fraction((today - birth).days, 366)
    text = str(years) if years else str(Decimal(int(age * 100)) / 100)
    data.mapping["age_years"] = text
    data.used.append(Used("age_years", f"{text} years", str(born), f"Patient/{patient_id}"))


def parse_time(text: str) -> dt.datetime | None:
    """A FHIR dateTime/instant as an aware datetime; a date alone counts from its start (the
    oldest it may be), and a time without a zone as UTC. Year or year-month only: None."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
        if len(text) < 10:
            return None
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _hours(window: dt.timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} hours"
