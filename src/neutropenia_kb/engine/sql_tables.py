"""The cell layers of the SQL backend's query as a step of their own: over the file's rows
(sql_backend._Query.select) or, for DuckDB, over each input's distinct cells (cell_table, read
once into a list the query looks up: engine/sql_lookup.py)."""

from __future__ import annotations

from typing import Sequence

from sqlglot import exp

from neutropenia_kb.engine.program import InputDef
from neutropenia_kb.engine.sql_cells import LOOKED_UP
from neutropenia_kb.engine.sql_conditions import Conditions
from neutropenia_kb.engine.sql_expr import _select, c, case, not_null


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
