"""settle_with for the SQL engines: which missing inputs can change an uncertain level.

The Python engine finds them by a search (questions.Analysis): each candidate is asked only if
some answers to the other missing inputs leave the level depending on it. The search reads each
known input only through its *region* (the values no condition can tell apart), so its answer
is a function of a short key: each read input's region, or '-' when it is missing. The query
builds that key (only for rows with two candidates or more: one candidate needs no search) and
a SQL function ``nkb_settle(key)`` answers it with the Python engine's own search, once per
distinct key. A database without that function (an installed view) lists every candidate.

The DuckDB engine goes one step further (``decide_function``): the key of *every* input the
Python engine's region key reads (engine/regions.py) fixes the whole decision, so the query
builds that key for every good row and a vectorised function answers each distinct key of a
chunk once, with the Python engine's own decision; the rules are not judged row by row.
"""

from __future__ import annotations

import math
import threading
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Protocol, Sequence

from sqlglot import exp

from neutropenia_kb.core.units import simplest
from neutropenia_kb.engine.patient import Patient
from neutropenia_kb.engine.program import Program
from neutropenia_kb.engine.questions import _Input
from neutropenia_kb.engine.regions import _cuts

if TYPE_CHECKING:
    from neutropenia_kb.engine.evaluate import Evaluator

SEP = "|"  # between the key's parts; a symptom list (which may hold '|') comes last
Compare = Callable[[str, str, Fraction], exp.Expr]  # (input, op, value in base units) → tri


class _Spec(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def cuts(self) -> Sequence[Fraction]: ...
    @property
    def opaque(self) -> bool: ...


class Part(NamedTuple):
    """One input of the region key (engine/regions.py): every constant it is compared with,
    or a symptom list's classes (questions._Input: symptoms no condition tells apart)."""

    kind: str
    cuts: list[Fraction]
    classes: tuple[frozenset[str], ...] = ()
    opaque: bool = False

    @property
    def regions(self) -> int:
        """How many regions, the missing value's (0) included."""
        if self.kind == "bool":
            return 3  # missing, false, true
        if self.kind == "symptoms":
            return (1 << len(self.classes)) + 1  # missing, then 1 + the classes hit as bits
        return 2 * len(self.cuts) + 2  # missing, then 1 + 2 × (cuts below) + (1 on a cut)

    def value(self, index: int) -> Any:
        """One value in region ``index`` (not 0)."""
        if self.kind == "bool":
            return index == 2
        if self.kind == "symptoms":
            bits = index - 1
            return frozenset(min(c) for i, c in enumerate(self.classes) if bits >> i & 1)
        return _value(self, str(index - 1))


Specs = Mapping[str, _Spec]
# What nkb_decide gives for a key: the decision columns other than the count and the error.
DECIDED = ("severity", "urgency", "urgency_certain", "settle_with", "fever", "scope_warnings",
           "advice_ids")
_MAX_KEYS = 65_536  # as batch_write._MAX_REGIONS: a feed meets about 10,000
_MAX_DECISIONS = 4096  # as batch_write's: a knowledge base has a few dozen
_MAX_KEY = 1 << 62  # a BIGINT's keys
DENSE = 1 << 22  # keys looked up in an array of this many numbers at most (16 MiB)


def strides(parts: Mapping[str, Part]) -> dict[str, int]:
    """Each part's weight in the key: the product of the counts of the parts before it."""
    out, weight = {}, 1
    for name, part in parts.items():
        out[name] = weight
        weight *= part.regions
    return out


def read_specs(program: Program) -> dict[str, _Input]:
    """The regions of each input a rule reads, as questions.Analysis builds them."""
    read = set().union(*(r.deps for r in program.rules)) if program.rules else set()
    return {name: _Input(program, name) for name in sorted(read)}


def region_parts(program: Program) -> dict[str, Part] | None:
    """The inputs of the Python engine's region key (regions.py), in its order; None when the
    rules read an input otherwise (regions._cuts) or the regions are too many for one BIGINT.
    A row's key is Σ index × stride (``strides``), each index from 0 (missing)."""
    cuts = _cuts(program)
    if cuts is None:
        return None
    kinds = {i.id: i.value_type for i in program.inputs}
    parts = {name: Part(kinds[name], sorted(cuts[name]),
                        tuple(_Input(program, name).classes) if kinds[name] == "symptoms" else ())
             for name in sorted(cuts)}
    if math.prod(part.regions for part in parts.values()) > _MAX_KEY:
        return None
    return parts


def keyable(specs: Specs) -> bool:
    """The key works when no input is compared with another (opaque) and at most one symptom
    list is read (it is the key's last part)."""
    return bool(specs) and not any(s.opaque for s in specs.values()) and \
        sum(s.kind == "symptoms" for s in specs.values()) <= 1


def _order(specs: Specs) -> list[tuple[str, _Spec]]:
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

    def settle(key: str) -> str:
        found = cache.get(key)
        if found is None:
            values = _values(order, plain, key)
            decision = evaluator.compiled.decide(values)
            found = "" if decision.certain else ";".join(analysis.answer(values, decision)[0])
            cache[key] = found
        return found

    return settle


def simplest_value(value: Any) -> Any:
    """A whole Fraction as an int (units.simplest); any other value as it is."""
    return simplest(value) if isinstance(value, Fraction) else value


def _value(spec: _Spec, part: str) -> Any:
    """One value inside the region ``part`` names (settle_key's words for it)."""
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


def _values(order: Sequence[tuple[str, _Spec]], plain: int, key: str) -> dict[str, Any]:
    """A key's values, one in each of its regions (a missing input is left out)."""
    parts = key.split(SEP, plain) if plain < len(order) else key.split(SEP)
    return {name: _value(spec, part) for (name, spec), part in zip(order, parts) if part != "-"}


def decide_function(evaluator: "Evaluator") -> Callable[[Any], Any]:
    """An Arrow function for DuckDB: a chunk of region keys (BIGINT, NULL for a bad row) →
    the DECIDED columns of each (a struct; NULL for an empty cell), as batch.py writes them.
    Each distinct key of a chunk is looked up once; a new key is decided by the Python engine
    on one value of each region, which gives every row of that key the same decision
    (engine/regions.py)."""
    from neutropenia_kb.engine.batch_write import decision_cells

    parts = region_parts(evaluator.program)
    if parts is None:
        raise ValueError("the rules read an input other than by its regions")
    # each part's value in each region, whole ones as ints (as the patient's own values)
    plan = [(name, weight, part.regions, [None] + [simplest_value(part.value(i))
                                                  for i in range(1, part.regions)])
            for (name, part), weight in zip(parts.items(), strides(parts).values())]
    cells: dict[tuple[Any, ...], tuple[list[str], str, str, str]] = {}  # by decision
    names = list(DECIDED)

    def decided(key: int) -> tuple[str | None, ...]:
        values = {}
        for name, weight, count, value_of in plan:
            index = key // weight % count
            if index:
                values[name] = value_of[index]
        result = evaluator.decide(Patient(values, {}, False))
        what = (result.severity, result.urgency, result.urgency_certain, result.fever,
                result.advice_ids, result.decision.scope)
        found = cells.get(what)
        if found is None:
            if len(cells) >= _MAX_DECISIONS:
                cells.clear()
            found = cells[what] = decision_cells(result)
        head, fever, scope, advice = found
        settle = "" if result.urgency_certain else ";".join(result.settle_with)
        return tuple(x or None for x in (*head, settle, fever, scope, advice))

    # Each key's decision is a number: its place in a table of the distinct decisions (a few
    # dozen), so a chunk's answer is two vectorised lookups: key → number → decision. Keys
    # below DENSE (every key of rules 1.2.0: 221,952) find their number in an array by key
    # (-1: not decided yet); others in a dict.
    size = math.prod(count for _n, _w, count, _t in plan)
    dense = bytearray(b"\xff" * 4 * size) if size <= DENSE else None
    numbers = memoryview(dense).cast("i") if dense is not None else None
    by_key: dict[int, int] = {}
    rows: list[tuple[str | None, ...]] = []
    row_of: dict[tuple[str | None, ...], int] = {}
    table: list[Any] = [None]  # the decisions as a StructArray, rebuilt when one is added

    def number(key: int) -> int:
        found = by_key.get(key)
        if found is None:
            row = decided(key)
            found = row_of.get(row)
            if found is None:
                found = row_of[row] = len(rows)
                rows.append(row)
                table[0] = None
            if numbers is not None:
                numbers[key] = found
            else:
                if len(by_key) >= _MAX_KEYS:
                    by_key.clear()
                by_key[key] = found
        return found

    lock = threading.Lock()  # DuckDB's threads call it (one at a time, as Python runs)

    def decide(keys: Any) -> Any:
        with lock:
            return decide_chunk(keys)

    def decide_chunk(keys: Any) -> Any:
        # imported at the first chunk, not when the function is made: scale.run_duckdb
        # imports pyarrow (~0.2 s) on a thread of its own while DuckDB reads the file
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        if isinstance(keys, pa.ChunkedArray):
            keys = keys.combine_chunks()
        if dense is not None:
            view = pa.Array.from_buffers(pa.int32(), size, [None, pa.py_buffer(dense)])
            picked = view.take(keys)
            new = pc.unique(pc.filter(keys, pc.equal(picked, -1)))
            if len(new):
                for key in new.to_pylist():
                    number(key)
                view = pa.Array.from_buffers(pa.int32(), size, [None, pa.py_buffer(dense)])
                picked = view.take(keys)
        else:
            codes = pc.dictionary_encode(keys)
            picked = pa.array([number(k) for k in codes.dictionary.to_pylist()],
                              pa.int32()).take(codes.indices)
        if table[0] is None:
            table[0] = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(names))]
        # each column dictionary-encoded by the decision's number: DuckDB takes the texts of
        # the few dozen decisions once a chunk, not 2,048 copies
        if isinstance(picked, pa.ChunkedArray):
            picked = picked.combine_chunks()
        return pa.StructArray.from_arrays(
            [pa.DictionaryArray.from_arrays(picked, column) for column in table[0]], names=names)

    return decide
