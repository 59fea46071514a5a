// Package sqlrewrite rewrites user-written SQL of attribute definitions into
// statements that return the same rows faster. It is pure: text in, text
// out, no database. Which rewrites a backend uses is its choice
// (store.Capabilities); the differential fuzz test
// (sqlrewrite_test.FuzzRewrites) runs original and rewritten statements on
// DuckDB and PostgreSQL and compares their rows.
//
// # Why
//
// Attribute calculation is set-based SQL over every event of the due
// entities, and what dominates it on DuckDB is parsing JSON payloads:
//
//   - ExtractOnce and ParseOnce: payload->>'key' parses the document once
//     per key; json_transform to a struct of text fields parses it once for
//     all keys (a third less time than json_extract_string with a list of
//     keys, which builds a list per row).
//   - ArrayElementsOnce: jsonb_array_elements(payload->'key') parses the
//     payload, then the array taken out of it, then each element;
//     unnest(json_extract(payload, '$.key[*]')) parses it once (the
//     purchases' staging statement, 2.5 to 2.9 s, takes 2.1 s).
//   - GroupedForm and Grouped: a custom query of the shape
//     SELECT <aggregate> AS value FROM base [WHERE ...] runs as one GROUP BY
//     over every entity instead of once per entity in a LATERAL join (on
//     both engines).
//
// SafeCasts is of another kind: it does not make a statement faster but
// lets it finish. A cast the user wrote (x::numeric, CAST(x AS DATE))
// becomes the backend's safe form (store.Capabilities.SafeCast), NULL for
// a value that does not convert, and the conditions it returns find the
// rows where that happened. The attribute engine uses it only after a
// statement failed on a conversion, so the fast path is as written.
//
// Each rewrite recognises its pattern conservatively: anything it does not
// read with certainty is left as written.
package sqlrewrite
