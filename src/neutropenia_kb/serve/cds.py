"""The CDS Hooks 2.0 side of `nkb serve`: discovery, the patient-view request, and the cards.

Spec passages relied on (CDS Hooks 2.0, cds-hooks.hl7.org):
- Discovery: "The discovery endpoint SHALL always be available at `{baseUrl}/cds-services`";
  each service has `hook`, `description`, `id` (REQUIRED), `title`, `prefetch` (optional).
- Request: `hook`, `hookInstance` (a UUID) and `context` are REQUIRED; "If fhirAuthorization is
  provided, this field [fhirServer] is REQUIRED". patient-view's context: `userId` and
  `patientId` REQUIRED, `encounterId` OPTIONAL.
- Prefetch: "If the CDS Client has no data to populate a template prefetch key, the prefetch
  template key MUST have a value of null"; a key the client chose not to satisfy is left out.
  "If the CDS Service is unable to obtain required data because it cannot access the FHIR
  server and the request did not contain the necessary prefetch keys, the service SHALL respond
  with an HTTP 412 Precondition Failed status code." This service never calls a FHIR server.
- Cards: `summary` "<140-character", `indicator` one of `info`, `warning`, `critical`, `source`
  with a REQUIRED `label` and OPTIONAL `url`, `icon`, `topic`; `detail` in GitHub Flavored
  Markdown; "If suggestions are present, selectionBehavior MUST also be provided" (we suggest no
  FHIR changes, so neither is sent); links need `label`, `url` and `type` (`absolute`|`smart`).
  "JSON elements SHALL NOT be null ... OPTIONAL JSON attributes are omitted if no value".
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from neutropenia_kb.core.problems import InputError
from neutropenia_kb.kb.text import service_line
from neutropenia_kb.render.leaflet_content import format_count
from neutropenia_kb.render.site import item_pages
from neutropenia_kb.serve.config import ServeConfig
from neutropenia_kb.serve.fhir_input import LOINC, PATIENT_KEY, WANTED, PatientData, read_prefetch

if TYPE_CHECKING:
    from neutropenia_kb.engine.evaluate import Result
    from neutropenia_kb.engine.explain import Finding
    from neutropenia_kb.kb.model import KnowledgeBase

SERVICE_ID = "neutropenia-patient-view"
HOOK = "patient-view"
INDICATOR = {"emergency": "critical", "contact_provider": "warning", "routine": "info"}
SUMMARY_MAX = 139  # "<140-character"
USABLE = "final,amended,corrected"
# The kinds of findings the cards quote; the others (facts, advice, the level) are not worked out.
CARD_FINDINGS = frozenset({"urgency_rule", "band", "scope"})


class PreconditionFailed(Exception):
    """HTTP 412: no prefetched data and no FHIR server this service may call."""


def discovery(kb: "KnowledgeBase") -> dict[str, Any]:
    return {"services": [service(kb)]}


def service(kb: "KnowledgeBase") -> dict[str, Any]:
    return {
        "hook": HOOK,
        "id": SERVICE_ID,
        "title": f"{kb.meta.title}: neutropenia severity and urgency",
        "description": (
            "When a patient's chart is opened: the severity of a low neutrophil count and how "
            "urgently to act, from the newest neutrophil count (or white cell count with the "
            "differential) and body temperature, with the reasons and their sources. "
            f"Knowledge base {kb.meta.id} version {kb.meta.version}."),
        "prefetch": prefetch_templates(kb),
    }


def prefetch_templates(kb: "KnowledgeBase") -> dict[str, str]:
    """The newest final result per input: `_sort=-date&_count=1`, restricted to usable statuses
    (token equality, allowed by "Prefetch query restrictions")."""
    out = {}
    for want in WANTED:
        if want.input in kb.input_by_id:
            codes = ",".join(f"{LOINC}|{c}" for c in want.codes)
            out[want.key] = (f"Observation?patient={{{{context.patientId}}}}&code={codes}"
                             f"&status={USABLE}&_sort=-date&_count=1")
    if "age_years" in kb.input_by_id:
        out[PATIENT_KEY] = "Patient/{{context.patientId}}"
    return out


def read_request(kb: "KnowledgeBase", body: Any, config: ServeConfig, now: dt.datetime,
                 templates: Mapping[str, str] | None = None) -> tuple[str, PatientData]:
    """(patient id, what the prefetch gave). Raises InputError naming the field (HTTP 400) or
    PreconditionFailed (HTTP 412). ``templates``: ``prefetch_templates(kb)``, if worked out
    already (the app does it once)."""
    if not isinstance(body, Mapping):
        raise InputError("request", body, "a JSON object (a CDS Hooks request)")
    if body.get("hook") != HOOK:
        raise InputError("hook", body.get("hook"), f"'{HOOK}' (the only hook of this service)")
    instance = body.get("hookInstance")
    if not isinstance(instance, str) or not instance:
        raise InputError("hookInstance", instance, "a string (a UUID for this call)")
    for name in ("fhirServer",):
        if name in body and not isinstance(body[name], str):
            raise InputError(name, body[name], "the FHIR server's base URL, a string")
    if "fhirAuthorization" in body:
        if not isinstance(body["fhirAuthorization"], Mapping):
            raise InputError("fhirAuthorization", "…", "an object")
        if "fhirServer" not in body:
            raise InputError("fhirServer", None, "required when fhirAuthorization is given")
    context = body.get("context")
    if not isinstance(context, Mapping):
        raise InputError("context", context, "an object with patientId and userId")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not patient_id:
        raise InputError("context.patientId", patient_id, "the FHIR Patient.id, a string")
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, Mapping):
        raise InputError("prefetch", prefetch, "an object of prefetch keys")
    templates = prefetch_templates(kb) if templates is None else templates
    observation_keys = [k for k in templates if k != PATIENT_KEY]
    if prefetch is None or not any(k in prefetch for k in observation_keys):
        raise PreconditionFailed(
            "no prefetched results: send the prefetch keys " + ", ".join(observation_keys)
            + " (null when there is no result); this service does not query FHIR servers")
    wanted = [w for w in WANTED if w.key in templates]
    data = read_prefetch(kb, prefetch, patient_id, now, config.max_age(), wanted)
    return patient_id, data


def page_names(kb: "KnowledgeBase") -> dict[str, str]:
    """The website page of each item id ('help.html'): a function of the knowledge base only,
    so the app works it out once rather than per card."""
    return {i: f"{p[:-3]}.html" for i, p in item_pages(kb).items()}


class KbTexts:
    """What the cards quote that depends on the knowledge base only: worked out once by the
    app, not per card. Bounded by the knowledge base (its items, their lists of sources)."""

    def __init__(self, kb: "KnowledgeBase") -> None:
        self.kb = kb
        self.pages = page_names(kb)
        self.ranks = {rule.id: kb.level(rule.level).rank for rule in kb.urgency_rules}
        self._sources: dict[tuple[tuple[str, str | None], ...], str] = {}

    def sources(self, refs: tuple[tuple[str, str | None], ...]) -> str:
        text = self._sources.get(refs)
        if text is None:
            text = self._sources[refs] = _sources(self.kb, refs)
        return text


def cards(kb: "KnowledgeBase", result: "Result", data: PatientData, config: ServeConfig,
          base_url: str, texts: KbTexts | None = None) -> list[dict[str, Any]]:
    """Urgency first (the action), then severity, then each scope warning."""
    texts = KbTexts(kb) if texts is None else texts
    findings = result.findings_of(CARD_FINDINGS)
    out = [_urgency_card(kb, result, findings, data, config, base_url, texts),
           _severity_card(kb, result, findings, config, texts)]
    for limit in result.scope_warnings:
        out.append(_scope_card(kb, result, findings, limit, config, texts))
    return out


def has_results(data: PatientData) -> bool:
    """Whether any observation was usable. Without one the engine has nothing to decide on
    (an empty patient is refused; an age alone would only make every rule unknown, an alarm
    raised by the absence of data), so the hook answers with `no_results_card` instead."""
    return any(want.input in data.mapping for want in WANTED)


def no_results_card(kb: "KnowledgeBase", data: PatientData,
                    config: ServeConfig) -> dict[str, Any]:
    """One `info` card: nothing was assessed, which results were missing or unusable and why,
    and what would let the service decide. Not an alarm, and not an all-clear either."""
    counts = int(config.max_age_counts.total_seconds() // 3600)
    temperature = int(config.max_age_temperature.total_seconds() // 3600)
    lines = ["No usable neutrophil count or body temperature was found, so the severity of a "
             "low neutrophil count and how urgently to act were not assessed. This is not a "
             "sign that all is well.", ""]
    lines += _data_lines(kb, data)
    lines += [f"**To get an assessment:** record a final (or amended or corrected) neutrophil "
              f"count, or a white cell count with the neutrophil percent from the same sample, "
              f"from the last {counts} hours, and a body temperature from the last "
              f"{temperature} hours; the cards are worked out again when the chart is next "
              "opened."]
    return _card("No usable recent neutrophil count or temperature: not assessed",
                 "\n".join(lines), "info", _source(kb, config, None, None), [])


def _urgency_card(kb: "KnowledgeBase", result: "Result", findings: tuple["Finding", ...],
                  data: PatientData, config: ServeConfig, base_url: str,
                  texts: KbTexts) -> dict[str, Any]:
    pages = texts.pages
    level = kb.level(result.urgency)
    rank = level.rank
    ranks = texts.ranks
    reasons = [f for f in findings if f.kind == "urgency_rule" and f.id in ranks
               and (ranks[f.id] == rank and f.certain or (not f.certain and ranks[f.id] < rank))]
    sure = [f.title for f in reasons if f.certain]
    summary = level.title + (": " + "; ".join(sure) if sure else "")
    if not result.urgency_certain:
        summary = f"{level.title} (not certain: missing {', '.join(result.settle_with)})"
    lines = [f"**{md_plain(level.title)}**" + ("" if result.urgency_certain else
                                               " — not certain"), ""]
    # What to do and whom to call, in the level's own words, as on every other output.
    service = kb.level_service(level.id)
    if level.action:
        lines += [f"**Do now:** {md_plain(level.action)}"
                  + (f" {md_plain(service_line(service))}" if service else ""), ""]
    if not result.urgency_certain:
        asks = [_question(kb, n) for n in result.settle_with]
        lines += ["A more urgent rule may apply. It would be settled by: "
                  + "; ".join(md_plain(a) for a in asks) + ".", ""]
    if reasons:
        lines += ["**Why**", ""]
        for f in reasons:
            mark = "" if f.certain else " _(may apply: not decided)_"
            lines.append(f"- {md_plain(f.title)}{mark}: {md_plain(f.because)}. "
                         f"Sources: {texts.sources(f.sources)}")
        lines.append("")
    lines += _data_lines(kb, data)
    links = []
    if config.site_url:
        links.append(_link("When to get help", f"{config.site_url}/{pages.get(level.id, 'help.html')}"
                           f"#{level.id}"))
    links.append(_link("Personal leaflet (PDF)", leaflet_url(base_url, data.mapping)))
    return _card(summary, "\n".join(lines).strip(), INDICATOR.get(result.urgency, "warning"),
                 _source(kb, config, pages.get(level.id), level.id), links)


def _severity_card(kb: "KnowledgeBase", result: "Result", findings: tuple["Finding", ...],
                   config: ServeConfig, texts: KbTexts) -> dict[str, Any]:
    pages = texts.pages
    count = format_count(kb, result.anc_cells_per_ul)
    band = next((f for f in findings if f.kind == "band"), None)
    if count is None:
        summary = "Neutrophil count not available: severity unknown"
        detail = ("No usable neutrophil count (absolute count, or white cell count with the "
                  "neutrophil percent from the same sample) was found.")
        anchor = None
    elif result.severity == "unknown":
        # The count is known but the severity bands do not apply (an out-of-scope limit holds,
        # e.g. an infant): say so; the scope card that follows says which and why.
        limits = ", ".join(md_plain(s.title) for s in result.scope_warnings)
        summary = f"Neutrophil count {count}: severity not graded (out of scope)"
        detail = (f"The severity levels are not given for this patient: {limits}."
                  if limits else "The severity levels are not given for this patient.")
        anchor = None
    else:
        title = kb.band(result.severity).title
        summary = f"Neutrophil count {count}: {title}"
        detail = md_plain(band.because) + "." if band else md_plain(title)
        if band:
            detail += f"\n\nSources: {texts.sources(band.sources)}"
        anchor = result.severity
    links = []
    if config.site_url and anchor:
        links.append(_link("About the severity levels", f"{config.site_url}/"
                           f"{pages.get(anchor, 'overview.html')}#{anchor}"))
    # Always info: the knowledge base maps only urgency levels to actions; the indicator of the
    # severity card is not a clinical judgement of ours.
    return _card(summary, detail, "info", _source(kb, config, pages.get(anchor or ""), anchor),
                 links)


def _scope_card(kb: "KnowledgeBase", result: "Result", findings: tuple["Finding", ...],
                limit: Any, config: ServeConfig, texts: KbTexts) -> dict[str, Any]:
    pages = texts.pages
    finding = next((f for f in findings if f.id == limit.id), None)
    holds = finding is not None and finding.certain
    summary = f"{limit.title}: the severity levels may not apply" + (
        "" if holds else " (not known)")
    detail = md_plain(finding.because) + "." if finding else ""
    if finding:
        detail += f"\n\nSources: {texts.sources(finding.sources)}"
    links = []
    if config.site_url:
        links.append(_link(limit.title, f"{config.site_url}/{pages.get(limit.id, 'overview.html')}"
                           f"#{limit.id}"))
    return _card(summary, detail, "warning", _source(kb, config, pages.get(limit.id), limit.id),
                 links)


def _data_lines(kb: "KnowledgeBase", data: PatientData) -> list[str]:
    lines = []
    if data.used:
        lines += ["**Results used**", ""]
        lines += [f"- {md_plain(_name(kb, u.input))}: {md_plain(u.value)} ({md_plain(u.when)}"
                  + (f", {md_plain(u.observation)})" if u.observation else ")") for u in data.used]
        lines.append("")
    if data.left_out or data.not_sent:
        lines += ["**Not used (counted as missing)**", ""]
        lines += [f"- {md_plain(why)}" for why in data.left_out]
        if data.not_sent:
            lines.append("- not sent by the record system: " + ", ".join(data.not_sent))
        lines.append("")
    return lines


def _card(summary: str, detail: str, indicator: str, source: dict[str, Any],
          links: list[dict[str, str]]) -> dict[str, Any]:
    card: dict[str, Any] = {"uuid": str(uuid.uuid4()), "summary": clip(summary),
                            "indicator": indicator, "source": source}
    if detail:
        card["detail"] = detail
    if links:
        card["links"] = links
    return card


def _source(kb: "KnowledgeBase", config: ServeConfig, page: str | None,
            anchor: str | None) -> dict[str, Any]:
    source: dict[str, Any] = {"label": f"{kb.meta.title} (version {kb.meta.version})"}
    if config.site_url:
        source["url"] = f"{config.site_url}/{page}#{anchor}" if page and anchor else \
            f"{config.site_url}/"
    return source


def _link(label: str, url: str) -> dict[str, str]:
    return {"label": clip(label), "url": url, "type": "absolute"}


def leaflet_url(base_url: str, mapping: Mapping[str, Any]) -> str:
    """GET /leaflet with the same inputs the card was decided from."""
    params = {}
    for name, raw in mapping.items():
        if isinstance(raw, Mapping):
            params[name] = f"{raw['value']} {raw['unit']}"
        else:
            params[name] = str(raw)
    return f"{base_url}/leaflet" + (f"?{urlencode(params)}" if params else "")


_MD_ESCAPE = {ord(c): "\\" + c for c in "\\`*_[]<>&|~#"}


def md_plain(value: object) -> str:
    """Text shown as itself in GitHub Flavored Markdown: its specials backslash-escaped (GFM
    allows that for any ASCII punctuation), lines joined. Not the site's md_plain, which writes
    HTML entities: a card's detail is also read raw, where '&#95;' would show."""
    if type(value) is str:
        return _md_text(value)
    return " ".join(str(value).split()).translate(_MD_ESCAPE)


@functools.lru_cache(maxsize=4096)
def _md_text(text: str) -> str:
    # Pure, and most of a card's texts recur (titles, actions, services, the reasons' words):
    # about 20 per hook. Bounded: all-distinct texts cost a lookup each, no more memory.
    return " ".join(text.split()).translate(_MD_ESCAPE)


def clip(text: str, limit: int = SUMMARY_MAX) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def _question(kb: "KnowledgeBase", name: str) -> str:
    return _name(kb, name)


def _name(kb: "KnowledgeBase", name: str) -> str:
    inp = kb.input_by_id.get(name)
    title = getattr(inp, "title", "") if inp else ""
    return f"{title} ({name})" if title and title != name else name


def _sources(kb: "KnowledgeBase", refs: tuple[tuple[str, str | None], ...]) -> str:
    """'[Title](url), “Section”; …' — Markdown, each title linked when the source has a URL."""
    out = []
    for source_id, section_id in refs:
        source = kb.source_by_id.get(source_id)
        if source is None:
            out.append(str(md_plain(source_id)))
            continue
        title = str(md_plain(source.title))
        if source.url and source.url.startswith(("https://", "http://")):
            url = source.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
            title = f"[{title}]({url})"
        section = source.section(section_id)
        out.append(title + (f", “{md_plain(section.title)}”" if section else ""))
    return "; ".join(out)
