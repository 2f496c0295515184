// Runs an ELM library (nkb export fhir) on patients with the reference engine, cql-execution.
//
//   node tests/fhir/run_elm.js LIBRARY.json < patients.json > results.json
//
// patients.json: a list of parameter maps, one per patient, named after the library's
// parameters: a Quantity as {"value": "0.8", "unit": "10*9/L"}, a Decimal as its decimal text,
// Boolean and List<String> as JSON. Each is read as cql-execution reads a CQL literal
// (parseFloat), and run with no data source: the library takes everything from parameters.
// Prints a list of {define name: value}, one per patient; null for unknown.
'use strict';
const fs = require('fs');
const cql = require('cql-execution');

const SYSTEM = '{urn:hl7-org:elm-types:r1}';

function toCql(type, raw) {
  if (raw === null || raw === undefined) return null;
  if (type === SYSTEM + 'Quantity') return new cql.Quantity(parseFloat(raw.value), raw.unit);
  if (type === SYSTEM + 'Decimal') return parseFloat(raw);
  return raw;
}

function toJson(value) {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map(toJson);
  if (value.isQuantity) return { value: value.value, unit: value.unit };
  return value;
}

async function main() {
  const elm = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const patients = JSON.parse(fs.readFileSync(0, 'utf8'));
  const types = {};
  for (const def of elm.library.parameters.def) {
    types[def.name] = def.parameterTypeSpecifier.name; // undefined for a list
  }
  const library = new cql.Library(elm);
  const out = [];
  for (const given of patients) {
    // Every parameter is passed, null when not given: cql-execution 3 answers an omitted
    // parameter that has no default with its definition object, not with null.
    const params = Object.fromEntries(Object.keys(types).map(name => [name, null]));
    for (const [name, raw] of Object.entries(given)) {
      if (!(name in types)) throw new Error(`no parameter '${name}' in the library`);
      params[name] = toCql(types[name], raw);
    }
    const executor = new cql.Executor(library, undefined, params);
    const results = await executor.exec(new cql.PatientSource([]));
    const row = {};
    for (const [name, value] of Object.entries(results.unfilteredResults)) {
      row[name] = toJson(value);
    }
    out.push(row);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch(err => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
