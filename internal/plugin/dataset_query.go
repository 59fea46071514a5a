package plugin

import (
	"fmt"
	"strconv"
	"strings"
)

// datasetQuery builds the rows query of a dataset: one row per user
// (live entity), ordered by the random value and the id. Feature ids are
// parameters, never spliced into the SQL.
func datasetQuery(run string, d *Dataset) (string, []any) {
	args := []any{d.Seed, 0.0, 1.0}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var attrCols, valCols, propCols, outCols, attrIDs, propIDs []string
	for i, f := range d.Features {
		col := "f" + strconv.Itoa(i)
		switch {
		case f.Attribute != "" && d.asOf(f.Attribute, false):
			valCols = append(valCols, aggregated(f.Multiple, "v.value", "v.slot = "+strconv.Itoa(i), col))
			outCols = append(outCols, "fv."+col)
		case f.Attribute != "":
			attrCols = append(attrCols, aggregated(f.Multiple, "a.value", "a.attribute_id = "+arg(f.Attribute), col))
			attrIDs = append(attrIDs, f.Attribute)
			outCols = append(outCols, "fa."+col)
		default:
			propCols = append(propCols, aggregated(false, "p.value", "p.property_id = "+arg(f.Property), col))
			propIDs = append(propIDs, f.Property)
			outCols = append(outCols, "fp."+col)
		}
	}
	var b strings.Builder
	if d.cutoff() {
		fmt.Fprintf(&b, `WITH u AS (
  SELECT e.id, e.created_at, weft_unit_hash($1 || e.id) AS r, du.base_at, du.moment_at
  FROM plugin_dataset_users du JOIN entities e ON e.id = du.entity_id AND e.merged_into IS NULL
  WHERE du.run_id = %s AND du.key = %s%s
)`, arg(run), arg(d.Key), d.consented(&args, "e.id"))
	} else {
		fmt.Fprintf(&b, `WITH u AS (
  SELECT e.id, e.created_at, weft_unit_hash($1 || e.id) AS r, e.created_at AS base_at, CAST(%s AS TIMESTAMPTZ) AS moment_at
  FROM entities e WHERE e.merged_into IS NULL%s
)`, arg(d.Now), d.consented(&args, "e.id"))
	}
	goal, goalValue := "CAST(NULL AS TIMESTAMPTZ)", "CAST(NULL AS TEXT)"
	switch g := d.Goal; {
	case g != nil && g.Attribute != "" && d.asOf(g.Attribute, true):
		valCols = append(valCols, aggregated(false, "v.value", "v.slot = "+strconv.Itoa(goalSlot), "g"))
		goalValue = "fv.g"
	case g != nil && g.Attribute != "":
		attrCols = append(attrCols, aggregated(false, "a.value", "a.attribute_id = "+arg(g.Attribute), "g"))
		attrIDs = append(attrIDs, g.Attribute)
		goalValue = "fa.g"
	case g != nil && g.EventType != "":
		ga := d.goalArgs()
		fmt.Fprintf(&b, ", g AS %s", goalTimes(arg(ga[0]), arg(ga[1]), arg(ga[2]), arg(d.Now)))
		goal = "g.t"
	}
	var joins string
	cte := func(name, cols, from string) {
		if cols != "" {
			fmt.Fprintf(&b, ", %s AS (\n  SELECT %s\n  %s\n)", name, cols, from)
			joins += fmt.Sprintf(" LEFT JOIN %s ON %s.entity_id = u.id", name, name)
		}
	}
	if len(attrCols) > 0 {
		cte("fa", "a.entity_id, "+strings.Join(attrCols, ", "), fmt.Sprintf(
			"FROM customer_attributes a WHERE a.attribute_id IN (SELECT unnest(CAST(%s AS TEXT[]))) GROUP BY a.entity_id", arg(attrIDs)))
	}
	if len(valCols) > 0 {
		cte("fv", "v.entity_id, "+strings.Join(valCols, ", "), fmt.Sprintf(
			"FROM plugin_dataset_values v WHERE v.run_id = %s AND v.key = %s GROUP BY v.entity_id", arg(run), arg(d.Key)))
	}
	if len(propCols) > 0 {
		cte("fp", "p.entity_id, "+strings.Join(propCols, ", "), fmt.Sprintf(
			"FROM plugin_property_values p WHERE p.property_id IN (SELECT unnest(CAST(%s AS TEXT[]))) GROUP BY p.entity_id", arg(propIDs)))
	}
	if goal == "g.t" {
		joins = " LEFT JOIN g ON g.entity_id = u.id" + joins
	}
	fmt.Fprintf(&b, "\nSELECT u.id, u.created_at, u.r, u.base_at, u.moment_at, %s, %s", goal, goalValue)
	for _, c := range outCols {
		b.WriteString(", " + c)
	}
	b.WriteString("\nFROM u" + joins + "\nWHERE u.r >= $2 AND u.r < $3\nORDER BY u.r, u.id")
	return b.String(), args
}

// aggregated is the column of one feature in a pivot of (entity, id,
// value) rows: the value, or for several, the sorted values joined by
// chr(31).
func aggregated(multiple bool, value, cond, col string) string {
	if multiple {
		return fmt.Sprintf("string_agg(%s, chr(31) ORDER BY %s) FILTER (WHERE %s) AS %s", value, value, cond, col)
	}
	return fmt.Sprintf("max(%s) FILTER (WHERE %s) AS %s", value, cond, col)
}

// consented is the condition that leaves out the users (entity ids in
// column) without consent for the dataset's purpose, " AND ..." with its
// arguments added to args; empty for a dataset without a consent filter.
func (d *Dataset) consented(args *[]any, column string) string {
	if d.Consent == nil {
		return ""
	}
	cond, more := d.Consent.In(column, len(*args)+1)
	*args = append(*args, more...)
	return " AND " + cond
}
