"""The cell layers of the SQL backend's query as a step of their own: over the file's rows
(sql_backend._Query.select) or, for DuckDB, over each input's distinct cells (cell_table, read
once into a list the query looks up: engine/sql_lookup.py)."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from sqlglot import exp

from neutropenia_kb.engine import sql_settle
from neutropenia_kb.engine.program import InputDef
from neutropenia_kb.engine.sql_cells import LOOKED_UP
from neutropenia_kb.engine.sql_conditions import Conditions
from neutropenia_kb.engine.sql_expr import (
    _FALSE,
    _TRUE,
    _pair,
    _select,
    c,
    case,
    decimal,
    is_null,
    n,
    not_null,
    or_,
    s,
)


class CellTables(Conditions):
    """The layers that read each input's cell, and a table of them per distinct cell."""

    cell_names: list[str]

    def cell_layers(self, keep: Sequence[exp.Expr], table: exp.Expr,
                    only: set[str] | None = None) -> exp.Select:
        """The layers that read each input's cell (its parts, checks, value, unit and kind of
        error), for the inputs in ``only`` (default all): each column reads one input's cell
        alone. Sets self.cell_names to the columns made, in order."""
        inputs = [i for i in self.p.inputs if only is None or i.id in only]
        numeric = [i for i in inputs if i.base_unit is not None or i.type == "number"]
        cells, parts = self.parts(inputs)
        l0 = _select(*keep, *cells).from_(table)
        l1 = _select("*", *parts).from_(self.layer(l0, "l0"), copy=False)
        steps = [l0, l1]
        if numeric:
            l1 = _select("*", *[self.mantissa(i) for i in numeric]).from_(self.layer(l1, "l1"), copy=False)
            l1d = _select("*", *[self.ascii_digits(i) for i in numeric]).from_(self.layer(l1, "l1m"), copy=False)
            steps += [l1, l1d]
            l1 = l1d
        l2 = _select("*", *[e for i in numeric for e in self.number(i)]).from_(self.layer(l1, "l1d"), copy=False)
        l3 = _select("*", *[e for i in numeric for e in self.checks(i)]).from_(self.layer(l2, "l2"), copy=False)
        lv = _select("*", *[e for i in numeric for e in self.value(i)]).from_(self.layer(l3, "l3"), copy=False)
        l4 = _select("*", *[self.error_kind(i).as_(f"{i.id}__ek", copy=False) for i in numeric]).from_(self.layer(lv, "l4k"), copy=False)
        self.cell_names = [e.alias for layer in (*steps, l2, l3, lv, l4)
                           for e in layer.expressions if isinstance(e, exp.Alias)]
        return l4

    def input_error(self, inp: InputDef) -> exp.Expr | None:
        """The error of one input's cell, in patient.py's words (NULL when none); None for
        a type whose cell cannot be wrong."""
        if inp.id in self.numeric:
            return self.error_text(inp)
        if inp.type == "boolean":
            return self.bool_error(inp)
        if inp.type == "symptoms":
            return self.symptom_error(inp)
        return None

    def cell_table(self, only: set[str]) -> tuple[exp.Select, tuple[str, ...]]:
        src = self.src
        keep = [c(src.order), *[c(k) for k in src.passthrough], *[c(k) for k in src.columns]]
        l4 = self.cell_layers(keep, src.table, only)
        names = list(self.cell_names)
        # what the messages quote, worked out once (for a row with an error): each is a few
        # regexes, which DuckDB compiles at every place the query names them
        quoted = [(inp, [case((not_null(c(f"{inp.id}__ek")), e)).as_(f"{inp.id}__q{k}", copy=False)
                         for k, e in enumerate(self.shown(inp))])
                  for inp in self.p.inputs if inp.id in only and inp.id in self.numeric]
        if quoted:
            l4 = _select("*", *[e for _, es in quoted for e in es]).from_(
                self.layer(l4, "quoted"), copy=False)
        regions = sql_settle.region_parts(self.p) or {}
        ranked = [self.region_index(x, part, row=False).as_(f"{x}__rg", copy=False)
                  for x, part in regions.items() if x in only and x not in self.derived]
        if ranked:
            l4 = _select("*", *ranked).from_(self.layer(l4, "ranked"), copy=False)
            names += [e.alias for e in ranked]
        errors = []
        for inp in self.p.inputs:
            error = None
            if inp.id in self.numeric and inp.id in only:
                q = [c(f"{inp.id}__q{k}") for k in range(3)]
                error = self.error_text(inp, (q[0], q[1], q[2]))
            elif inp.id in only:
                error = self.input_error(inp)
            if error is not None:
                errors.append(error.as_(f"{inp.id}__err", copy=False))
                names.append(f"{inp.id}__err")
        # only what the later layers read (the rest are steps of the reading): a smaller list
        # for DuckDB to copy for each chunk
        names = [name for name in names if name.rsplit("__", 1)[1] in LOOKED_UP]
        out = _select(c(src.order), *[c(k) for k in src.passthrough],
                      *[c(name) for name in names if not name.endswith("__err")],
                      *errors).from_(self.layer(l4, "l4"), copy=False)
        for name, select in self.ctes:
            out = out.with_(name, as_=select, copy=False)
        return out, tuple(names)

    def region_index(self, x: str, part: sql_settle.Part, row: bool = True) -> exp.Expr:
        """The index of input ``x``'s region (sql_settle.Part): 0 when missing. ``row``: on a
        row whose cells are read (its known value ``__k``, a derived input's too); else on a
        cell alone (a looked-up cell: its text ``__t``), the error left to the row."""
        missing = is_null(c(f"{x}__k" if row else f"{x}__t"))
        if part.kind == "bool":
            word = c(f"{x}__w")
            index: exp.Expr = case((exp.In(this=word, expressions=[s(w) for w in _TRUE]), n(2)),
                                   (exp.In(this=word, expressions=[s(w) for w in _FALSE]), n(1)),
                                   default=n(0))
        elif part.kind == "symptoms":
            index = n(1)
            for bit, members in enumerate(part.classes):
                hit = or_(*[exp.GT(this=exp.StrPosition(this=c(f"{x}__sy"), substr=s(f",{i},")),
                                   expression=n(0)) for i in sorted(members)])
                index = exp.Add(this=index, expression=case((hit, n(1 << bit)), default=n(0)))
        else:
            index = self.number_region(self.inputs[x], part.cuts, row)
        return case((missing, n(0)), default=index)

    def number_region(self, inp: InputDef, cuts: Sequence[Fraction], row: bool) -> exp.Expr:
        """1 + 2 × (cuts below the value) + (1 on a cut), as regions.py: for each unit the
        value may be in, one chain of exact tests against the cuts in that unit, lowest first
        (unit_compare's units and exactness, once per row rather than once per test)."""
        x = inp.id
        v, d, u = c(f"{x}__v"), c(f"{x}__d"), c(f"{x}__uf" if row else f"{x}__u")
        units = [(unit.name, [unit.from_base(cut) for cut in cuts]) for unit in inp.units] \
            or [("", list(cuts))]
        if inp.type == "percent":
            units.append(("", list(cuts)))
        branches = [(v, d, exp.EQ(this=u, expression=s(name)), consts) for name, consts in units]
        if x in self.derived and row:
            branches.insert(0, (c(f"{x}__dv"), c(f"{x}__dd"), exp.EQ(this=u, expression=s("=")),
                                list(cuts)))
        whens = []
        for value, cut_dir, test, consts in branches:
            if any(a >= b for a, b in zip(consts, consts[1:])):
                raise ValueError(f"{x}: a unit that does not keep the order of the values")
            chain = []
            for i, const in enumerate(consts):
                chain += [(_pair("<", value, cut_dir, decimal(const)), n(1 + 2 * i)),
                          (_pair("==", value, cut_dir, decimal(const)), n(2 + 2 * i))]
            whens.append((test, case(*chain, default=n(1 + 2 * len(consts))) if chain else n(1)))
        return case(*whens)
