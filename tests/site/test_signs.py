"""Signs and what to do about each (render/site_signs.py), derived from the urgency rules."""

from __future__ import annotations

from pathlib import Path

from neutropenia_kb import load
from neutropenia_kb.kb.model import KnowledgeBase
from neutropenia_kb.kb.text import value_of
from neutropenia_kb.lang.parse import Call, parse, walk
from neutropenia_kb.render.site_signs import signs


def _direct(kb: KnowledgeBase) -> set[tuple[str, str]]:
    """(symptom id, rule id) for every rule that names the symptom in its own condition."""
    out = set()
    for rule in kb.urgency_rules:
        for node in walk(parse(rule.when)):
            if isinstance(node, Call) and node.func == "symptom":
                out.update((arg.name, rule.id) for arg in node.args)
    return out


def test_every_rule_that_names_a_symptom_is_under_that_sign(kb: KnowledgeBase) -> None:
    listed = {(s.id, r.id) for s in signs(kb) for a in s.actions for r in a.rules}
    direct = _direct(kb)
    assert direct and direct <= listed
    for sign in signs(kb):
        for action in sign.actions:
            assert {r.level for r in action.rules} == {action.level.id}, sign.id


def test_signs_come_most_urgent_first_in_the_levels_own_distinct_words(kb: KnowledgeBase) -> None:
    found = signs(kb)
    assert {s.id for s in kb.symptoms} <= {s.id for s in found}
    assert [s.rank for s in found] == sorted(s.rank for s in found)
    for sign in found:
        ranks = [a.level.rank for a in sign.actions]
        assert ranks == sorted(set(ranks)), sign.id
    words = [lv.action for lv in kb.levels]
    assert len(set(words)) == len(words)


def test_a_level_that_holds_on_the_sign_alone_hides_the_lower_ones(kb: KnowledgeBase) -> None:
    # confusion is an emergency whatever else is known (rule confusion_sign_of_sepsis), so
    # "contact your provider" is never its answer; a sore throat has no emergency rule.
    by_id = {s.id: s for s in signs(kb)}
    assert [a.level.id for a in by_id["confusion"].actions] == ["emergency"]
    assert [a.level.id for a in by_id["sore_throat"].actions] == ["contact_provider"]
    assert [a.level.id for a in by_id["fever"].actions] == ["emergency", "contact_provider"]


def test_thermometer_readings_print_the_thresholds(kb: KnowledgeBase) -> None:
    by_id = {s.id: s for s in signs(kb)}
    fever = value_of(kb, "fever_temperature", None)
    low = value_of(kb, "low_temperature", None)
    assert by_id["fever"].reading == f"a temperature of {fever} or higher"  # temperature >= t
    assert by_id["has_low_temperature"].reading == f"a temperature below {low}"  # temperature < t
    assert by_id["has_low_temperature"].item is None
    assert by_id["cough"].reading is None


def test_a_new_rule_shows_under_its_sign(rules_copy: Path) -> None:
    urgency = rules_copy / "urgency.yaml"
    text = urgency.read_text(encoding="utf-8")
    marker = "  # --- contact your provider"
    assert text.count(marker) == 1
    rule = ("  - id: cough_on_chemotherapy_test\n    level: emergency\n"
            "    when: on_chemotherapy and symptom(cough)\n    title: Cough during chemotherapy\n"
            "    text: >-\n      Get medical help right away.\n    sources:\n"
            "      - {source: ezhilarasan_2025, section: ez_when_to_see}\n\n")
    urgency.write_text(text.replace(marker, rule + marker), encoding="utf-8")
    by_id = {s.id: s for s in signs(load(rules_copy))}
    cough = by_id["cough"]
    assert cough.rank == 0
    assert [r.id for r in cough.actions[0].rules] == ["cough_on_chemotherapy_test"]
