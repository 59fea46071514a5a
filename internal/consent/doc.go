// Package consent says which customers gave consent for a purpose of
// processing: weft.yaml's consent section names, per purpose
// (personalization, marketing, analytics, or any other), the attribute
// that holds it, and the stages that process profiles for a purpose leave
// out those without it.
//
// # Values
//
// The attribute is a single-valued bool attribute. A value that reads as
// true (true, t, 1, yes, any case, as the attribute engine reads bools)
// is consent given; any other value (false, or text that is no bool) is
// consent not given. A profile without a value has not given consent,
// unless the purpose says missing: granted (for a purpose whose legal
// basis is not consent, such as a legitimate interest the customer can
// object to: then only a value that is not true withdraws it). Consent is
// opt-in by default because that is what the GDPR asks of consent: silence
// is no consent.
//
// A purpose the section does not name restricts nothing: every profile is
// processed for it, as before the section existed.
//
// # The one place that answers
//
// Which entities have consent for a purpose is answered in SQL, for a set
// of entities at once, by the table function weft_consenting(attribute,
// missing_granted) of both backends (a DuckDB table macro, a PostgreSQL SQL
// function): the live entities that have it. Filter.In embeds it in a
// statement; delivery ranking, plugin datasets and (later) destinations
// all use it.
package consent
