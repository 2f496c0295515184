"""settle_with for the SQL engines: which missing inputs can change an uncertain level.

The Python engine finds them by a search (questions.Analysis): each candidate is asked only if
some answers to the other missing inputs leave the level depending on it. The search reads each
known input only through its *region* (the values no condition can tell apart), so its answer
is a function of a short key: each read input's region, or '-' when it is missing. The query
builds that key (only for rows with two candidates or more: one candidate needs no search) and
a SQL function ``nkb_settle(key)`` answers it with the Python engine's own search, once per
distinct key. A database without that function (an installed view) lists every candidate.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Mapping

from sqlglot import exp

from neutropenia_kb.engine.program import Program
from neutropenia_kb.engine.questions import _Input

if TYPE_CHECKING:
    from neutropenia_kb.engine.evaluate import Evaluator

SEP = "|"  # between the key's parts; a symptom list (which may hold '|') comes last
Compare = Callable[[str, str, Fraction], exp.Expr]  # (input, op, value in base units) → tri


Specs = Mapping[str, _Input]


def read_specs(program: Program) -> dict[str, _Input]:
    """The regions of each input a rule reads, as questions.Analysis builds them."""
    read = set().union(*(r.deps for r in program.rules)) if program.rules else set()
    return {name: _Input(program, name) for name in sorted(read)}


def keyable(specs: Specs) -> bool:
    """The key works when no input is compared with another (opaque) and at most one symptom
    list is read (it is the key's last part)."""
    return bool(specs) and not any(s.opaque for s in specs.values()) and \
        sum(s.kind == "symptoms" for s in specs.values()) <= 1


def _order(specs: Specs) -> list[tuple[str, _Input]]:
    return sorted(specs.items(), key=lambda item: item[1].kind == "symptoms")


def settle_key(specs: Specs, compare: Compare, known: Callable[[str], exp.Expr],
               flag: Callable[[str], exp.Expr]) -> exp.Expr:
    """The key of a row as SQL text: ``known(name)`` is the input's known cell (NULL when
    missing), ``flag(name)`` a yes/no input's value, ``compare`` an exact comparison."""
    parts: list[exp.Expr] = []
    for name, spec in _order(specs):
        if spec.kind == "symptoms":
            part: exp.Expr = known(name)
        elif spec.kind == "bool":
            part = exp.Case().when(flag(name), exp.Literal.string("t"), copy=False).else_(
                exp.Literal.string("f"), copy=False)
        else:  # questions._Input.region_of: 2 × (cuts below the value) + (1 on a cut)
            index: exp.Expr = exp.Literal.number(0)
            for cut in spec.cuts:
                for op, weight in ((">", 2), ("==", 1)):
                    hit = exp.Case().when(exp.Coalesce(this=compare(name, op, cut),
                                                       expressions=[exp.false()]),
                                          exp.Literal.number(weight), copy=False)
                    index = exp.Add(this=index, expression=hit.else_(exp.Literal.number(0),
                                                                     copy=False))
            part = exp.Cast(this=index, to=exp.DataType.build("VARCHAR"))
        missing = exp.Is(this=known(name), expression=exp.Null())
        parts.append(exp.Case().when(missing, exp.Literal.string("-"), copy=False)
                     .else_(part, copy=False))
    out = parts[0]
    for item in parts[1:]:
        out = exp.DPipe(this=exp.DPipe(this=out, expression=exp.Literal.string(SEP), safe=True),
                        expression=item, safe=True)
    return out


def settle_function(evaluator: "Evaluator") -> Callable[[str], str]:
    """key → settle_with as batch.py writes it (ids joined by ';'), by the Python engine's
    search on one value of each region; cached by key (a few hundred keys in practice)."""
    analysis = evaluator.analysis
    order = _order(analysis.inputs)
    plain = sum(spec.kind != "symptoms" for _name, spec in order)
    cache: dict[str, str] = {}

    def value(spec: _Input, part: str) -> Any:
        if spec.kind == "bool":
            return part == "t"
        if spec.kind == "symptoms":
            items = part.replace(";", ",").replace("|", ",").split(",")
            return frozenset(i.strip() for i in items if i.strip())
        i, on = divmod(int(part), 2)
        cuts = spec.cuts
        if not cuts:
            return Fraction(0)
        if on:
            return cuts[i]
        if i == 0:
            return cuts[0] - 1
        if i == len(cuts):
            return cuts[-1] + 1
        return (cuts[i - 1] + cuts[i]) / 2

    def settle(key: str) -> str:
        found = cache.get(key)
        if found is None:
            parts = key.split(SEP, plain) if plain < len(order) else key.split(SEP)
            values = {name: value(spec, part) for (name, spec), part in zip(order, parts)
                      if part != "-"}
            decision = evaluator.compiled.decide(values)
            found = "" if decision.certain else ";".join(analysis.answer(values, decision)[0])
            cache[key] = found
        return found

    return settle
