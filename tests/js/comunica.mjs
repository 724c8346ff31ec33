// A real Linked Data client for the tests: Comunica (@comunica/query-sparql v3).
//   node comunica.mjs <query> <source> [<source> ...]
// A source is a URL to dereference (a document: Comunica asks for N-Quads first) or "sparql@<URL>"
// for a SPARQL endpoint. Prints the bindings as JSON, one object per row ({variable: term value}).
import { QueryEngine } from "@comunica/query-sparql";

const [query, ...sources] = process.argv.slice(2);
const engine = new QueryEngine();
const bindings = await engine.queryBindings(query, {
  sources: sources.map((s) => (s.startsWith("sparql@") ? { type: "sparql", value: s.slice(7) } : s)),
  lenient: false,
});
const rows = [];
for await (const b of bindings) {
  const row = {};
  for (const [variable, term] of b) row[variable.value] = term.value;
  rows.push(row);
}
console.log(JSON.stringify(rows));
