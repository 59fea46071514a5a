package object_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/object"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
	"github.com/weftdata/weft/job"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var ctx = context.Background()

// stores is the type most tests use.
var stores = object.Type{Name: "stores", DisplayName: "Stores", Fields: []object.Field{
	{Name: "store_id", Type: object.FieldString, Primary: true},
	{Name: "name", Type: object.FieldString},
	{Name: "size", Type: object.FieldNumber},
	{Name: "opened", Type: object.FieldTimestamp},
	{Name: "active", Type: object.FieldBoolean},
}}

// visits has a primary key of two fields.
var visits = object.Type{Name: "visits", Fields: []object.Field{
	{Name: "store", Type: object.FieldString, Primary: true},
	{Name: "day", Type: object.FieldString, Primary: true},
	{Name: "count", Type: object.FieldNumber},
}}

// fixture is a Store whose types tests change through apply, as the
// pipeline does.
type fixture struct {
	*object.Store
	db  *store.DB
	sch atomic.Pointer[object.Schema]
	now time.Time
}

func newFixture(t *testing.T, backend string, types ...object.Type) *fixture {
	t.Helper()
	f := &fixture{db: dbtest.Open(t, backend), now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.Store = object.NewStore(f.db, func(context.Context) (*object.Schema, error) { return f.sch.Load(), nil },
		&object.Options{Now: func() time.Time { return f.now }})
	if err := f.apply(types...); err != nil {
		t.Fatal(err)
	}
	return f
}

// apply validates types, syncs the tables and puts the types in force.
func (f *fixture) apply(types ...object.Type) error {
	sch, err := object.NewSchema(types)
	if err != nil {
		return err
	}
	if err := f.Sync(ctx, sch); err != nil {
		return err
	}
	f.sch.Store(sch)
	return nil
}

func (f *fixture) upsertJSON(t *testing.T, typ string, records ...string) *object.UpsertResult {
	t.Helper()
	raw := make([]json.RawMessage, len(records))
	for i, r := range records {
		raw[i] = json.RawMessage(r)
	}
	res, err := f.UpsertJSON(ctx, typ, raw)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// all reads every record of a type as JSON lines, in key order.
func (f *fixture) all(t *testing.T, typ string) []string {
	t.Helper()
	page, err := f.List(ctx, typ, object.ListParams{First: object.FirstMax})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range page.Records {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUpsertValidatesEachRecord(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, stores)
			res := f.upsertJSON(t, "stores",
				`{"store_id":" s1 ","name":"  Prague ","size":12.5,"opened":"2024-01-02T03:04:05.123456789+01:00","active":true}`,
				`{"store_id":"s2","nme":"typo"}`,
				`{"store_id":"s3","size":"big"}`,
				`{"name":"no key"}`,
				`{"store_id":"   ","name":"blank key"}`,
				`{"store_id":"s4","name":"","size":"7","opened":1700000000,"active":"0"}`,
				`["not","an","object"]`,
				`{"store_id":"s5","name":{"nested":1}}`,
				`{"store_id":"s6","opened":1767323045000}`,
				`{"store_id":"s7","active":2}`,
				`{"store_id":"s8","opened":"yesterday"}`,
				`{"store_id":42,"active":"TRUE","size":-1e3}`,
				`{"store_id":"s9","name":"`+strings.Repeat("é", object.StringMaxChars+1)+`"}`,
				`{"store_id":"s10","name":"nul\u0000byte"}`,
			)
			type rej struct {
				index       int
				field, part string
			}
			want := []rej{
				{1, "nme", "unknown field of stores (fields: store_id, name, size, opened, active)"},
				{2, "size", `want a number, got "big"`},
				{3, "store_id", "primary field is missing"},
				{4, "store_id", "primary field is missing"},
				{6, "", "a record must be a JSON object, got an array"},
				{7, "name", "nested objects and arrays are not allowed"},
				{8, "opened", "outside years 1 to 9999 (milliseconds? divide by 1000)"},
				{9, "active", "want true, false, 1 or 0, got 2"},
				{10, "opened", `want an ISO-8601 timestamp (2006-01-02T15:04:05Z) or epoch seconds, got "yesterday"`},
				{12, "name", "is 1025 characters long, more than the 1024 allowed"},
				{13, "name", "contains a NUL character"},
			}
			if res.Accepted != 3 || len(res.Rejected) != len(want) {
				t.Fatalf("accepted %d, rejected %+v", res.Accepted, res.Rejected)
			}
			for i, w := range want {
				got := res.Rejected[i]
				if got.Index != w.index || got.Field != w.field || !strings.Contains(got.Error, w.part) {
					t.Errorf("rejection %d: %+v, want index %d field %q error with %q", i, got, w.index, w.field, w.part)
				}
			}
			equalLines(t, f.all(t, "stores"), []string{
				`{"store_id":"42","name":null,"size":-1000,"opened":null,"active":true}`,
				`{"store_id":"s1","name":"Prague","size":12.5,"opened":"2024-01-02T02:04:05.123456Z","active":true}`,
				`{"store_id":"s4","name":null,"size":7,"opened":"2023-11-14T22:13:20Z","active":false}`,
			})
		})
	}
}

func TestUpsertKeepsFieldsNotSent(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, stores)
			f.upsertJSON(t, "stores", `{"store_id":"s1","name":"Prague","size":10,"active":true}`,
				`{"store_id":"s2","name":"Brno"}`)
			// null, blank and absent fields keep their values; sent ones change.
			res := f.upsertJSON(t, "stores", `{"store_id":"s1","name":"  ","size":null,"opened":"2025-05-06"}`,
				`{"store_id":"s2","active":false}`, `{"store_id":"s3"}`)
			if res.Accepted != 3 || len(res.Rejected) != 0 {
				t.Fatalf("%+v", res)
			}
			equalLines(t, f.all(t, "stores"), []string{
				`{"store_id":"s1","name":"Prague","size":10,"opened":"2025-05-06T00:00:00Z","active":true}`,
				`{"store_id":"s2","name":"Brno","size":null,"opened":null,"active":false}`,
				`{"store_id":"s3","name":null,"size":null,"opened":null,"active":null}`,
			})
			// A key repeated within a batch: later values win, earlier ones stay.
			res = f.upsertJSON(t, "stores", `{"store_id":"s4","name":"first","size":1}`, `{"store_id":"s4","name":"second"}`,
				`{"store_id":" s4","active":true}`)
			if res.Accepted != 3 {
				t.Fatalf("%+v", res)
			}
			got := f.all(t, "stores")
			if got[3] != `{"store_id":"s4","name":"second","size":1,"opened":null,"active":true}` {
				t.Errorf("merged key: %s", got[3])
			}
			var at time.Time
			if err := f.db.QueryRowContext(ctx, `SELECT max(_updated_at) FROM objects.stores`).Scan(&at); err != nil || !at.Equal(f.now) {
				t.Errorf("_updated_at %v (%v), want %v", at, err, f.now)
			}
		})
	}
}

// The job runtime writes Go values through job.Objects.
func TestUpsertGoValues(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, stores)
			var objs job.Objects = f.Store
			opened := time.Date(2020, 2, 3, 4, 5, 6, 7000, time.FixedZone("x", 3600))
			rej, err := objs.Upsert(ctx, "stores", []job.Record{
				{"store_id": "a", "size": 3, "opened": opened, "active": 1},
				{"store_id": "b", "size": int64(1) << 40, "opened": 1.5},
				{"store_id": "c", "size": []int{1}},
				nil,
			})
			if err != nil {
				t.Fatal(err)
			}
			want := []job.Rejection{
				{Index: 2, Field: "size", Reason: "want a number, got a []int"},
				{Index: 3, Field: "store_id", Reason: "primary field is missing (null and blank strings count as missing)"},
			}
			if fmt.Sprint(rej) != fmt.Sprint(want) {
				t.Errorf("rejections %+v, want %+v", rej, want)
			}
			equalLines(t, f.all(t, "stores"), []string{
				`{"store_id":"a","name":null,"size":3,"opened":"2020-02-03T03:05:06.000007Z","active":true}`,
				`{"store_id":"b","name":null,"size":1099511627776,"opened":"1970-01-01T00:00:01.5Z","active":null}`,
			})
			if _, err := objs.Upsert(ctx, "nope", []job.Record{{"a": 1}}); !errors.Is(err, store.ErrNotFound) ||
				err.Error() != `unknown object type "nope" (declared: stores)` {
				t.Errorf("unknown type: %v", err)
			}
			// A store failure is an error, not a rejection.
			if _, err := f.db.ExecContext(ctx, `DROP TABLE objects.stores`); err != nil {
				t.Fatal(err)
			}
			if rej, err := objs.Upsert(ctx, "stores", []job.Record{{"store_id": "a"}}); err == nil || errors.Is(err, store.ErrNotFound) || rej != nil {
				t.Errorf("upsert into a dropped table: %v %v", rej, err)
			}
		})
	}
}

// Batches beyond one statement's rows are split, in one transaction.
func TestUpsertLargeBatch(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, visits)
			const n = 12000 // three statements
			recs := make([]job.Record, n)
			for i := range recs {
				recs[i] = job.Record{"store": fmt.Sprintf("s%d", i%7), "day": fmt.Sprintf("d%04d", i), "count": i}
			}
			start := time.Now()
			if rej, err := f.Upsert(ctx, "visits", recs); err != nil || len(rej) > 0 {
				t.Fatal(rej, err)
			}
			t.Logf("%d records in %v", n, time.Since(start))
			var count int
			var sum float64
			if err := f.db.QueryRowContext(ctx, `SELECT count(*), sum(count) FROM objects.visits`).Scan(&count, &sum); err != nil {
				t.Fatal(err)
			}
			if count != n || sum != n*(n-1)/2 {
				t.Errorf("%d rows summing to %v", count, sum)
			}
		})
	}
}

func TestListPages(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, stores, visits)
			var recs []job.Record
			for _, s := range []string{"a", "b", "c"} {
				for d := 1; d <= 4; d++ {
					recs = append(recs, job.Record{"store": s, "day": fmt.Sprintf("d%d", d), "count": d})
				}
			}
			if _, err := f.Upsert(ctx, "visits", recs); err != nil {
				t.Fatal(err)
			}
			// Page through everything, five at a time.
			var keys []string
			after := ""
			for pages := 0; ; pages++ {
				page, err := f.List(ctx, "visits", object.ListParams{First: 5, After: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Records {
					keys = append(keys, r.Get("store").(string)+"/"+r.Get("day").(string))
				}
				if !page.HasNextPage {
					if pages != 2 || len(page.Records) != 2 {
						t.Errorf("last page %d has %d records", pages, len(page.Records))
					}
					break
				}
				after = page.EndCursor
			}
			if got := strings.Join(keys, " "); got != "a/d1 a/d2 a/d3 a/d4 b/d1 b/d2 b/d3 b/d4 c/d1 c/d2 c/d3 c/d4" {
				t.Errorf("paged keys %s", got)
			}
			// Filters on primary fields, with a cursor.
			page, err := f.List(ctx, "visits", object.ListParams{First: 2, Equal: map[string]string{"store": "b"}})
			if err != nil || len(page.Records) != 2 || !page.HasNextPage {
				t.Fatalf("%+v %v", page, err)
			}
			page, err = f.List(ctx, "visits", object.ListParams{First: 10, After: page.EndCursor, Equal: map[string]string{"store": "b"}})
			if err != nil || len(page.Records) != 2 || page.HasNextPage || page.Records[0].Get("day") != "d3" {
				t.Fatalf("%+v %v", page, err)
			}
			page, err = f.List(ctx, "visits", object.ListParams{First: 10, Equal: map[string]string{"store": "c", "day": "d2"}})
			if err != nil || len(page.Records) != 1 || page.Records[0].Get("count") != 2.0 {
				t.Fatalf("%+v %v", page, err)
			}
			// first 0 says whether there is anything.
			page, err = f.List(ctx, "visits", object.ListParams{First: 0})
			if err != nil || len(page.Records) != 0 || !page.HasNextPage || page.EndCursor != "" {
				t.Fatalf("%+v %v", page, err)
			}
			storesCursor := ""
			if _, err := f.Upsert(ctx, "stores", []job.Record{{"store_id": "x"}}); err == nil {
				p, _ := f.List(ctx, "stores", object.ListParams{First: 1})
				storesCursor = p.EndCursor
			}
			for _, c := range []struct {
				p    object.ListParams
				want string
			}{
				{object.ListParams{First: 1001}, "first must be from 0 to 1000, got 1001"},
				{object.ListParams{First: 1, After: "garbage"}, `after "garbage" is not a cursor of visits`},
				{object.ListParams{First: 1, After: storesCursor}, "is not a cursor of visits"},
				{object.ListParams{First: 1, Equal: map[string]string{"count": "1"}}, "count is not a primary field of visits: filters are on the primary fields (store, day)"},
				{object.ListParams{First: 1, Equal: map[string]string{"store": " "}}, "the filter on store is empty"},
			} {
				_, err := f.List(ctx, "visits", c.p)
				var in *object.InputError
				if !errors.As(err, &in) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%+v: %v, want an InputError with %q", c.p, err, c.want)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	withField := func(f object.Field) object.Type {
		t := stores
		t.Fields = append(append([]object.Field{}, stores.Fields...), f)
		return t
	}
	for _, c := range []struct {
		name  string
		types []object.Type
		want  string
	}{
		{"bad type name", []object.Type{{Name: "Stores", Fields: stores.Fields}}, `objects[0] (Stores): name "Stores" must be 2 to 62 lower case letters`},
		{"one letter", []object.Type{{Name: "s", Fields: stores.Fields}}, `name "s" must be 2 to 62`},
		{"too long", []object.Type{{Name: strings.Repeat("a", 63), Fields: stores.Fields}}, "must be 2 to 62"},
		{"twice", []object.Type{stores, visits, stores}, `objects[2] (stores): type "stores" is declared twice`},
		{"no fields", []object.Type{{Name: "empty"}}, "objects[0] (empty): has no fields"},
		{"no primary", []object.Type{{Name: "loose", Fields: []object.Field{{Name: "aa", Type: "string"}}}}, "objects[0] (loose): has no primary field: mark one or more string fields primary: true"},
		{"bad field name", []object.Type{withField(object.Field{Name: "Bad-name", Type: "string"})}, `objects[0].fields[5] (Bad-name): name "Bad-name" must be`},
		{"duplicate field", []object.Type{withField(object.Field{Name: "size", Type: "number"})}, `objects[0].fields[5] (size): field "size" is declared twice`},
		{"unknown type", []object.Type{withField(object.Field{Name: "price", Type: "money"})}, `objects[0].fields[5] (price): type "money" is not one of string, number, timestamp, boolean`},
		{"vector", []object.Type{withField(object.Field{Name: "emb", Type: "vector"})}, "objects[0].fields[5] (emb): type vector is not supported"},
		{"primary number", []object.Type{visits, withField(object.Field{Name: "code", Type: "number", Primary: true})}, "objects[1].fields[5] (code): a primary field must be of type string, not number"},
		{"primary named first", []object.Type{withField(object.Field{Name: "first", Type: "string", Primary: true})}, `a primary field cannot be named "first"`},
		{"customer on a number", []object.Type{withField(object.Field{Name: "buyer", Type: "number", Customer: "email"})},
			"objects[0].fields[5] (buyer): a field referencing customers (customer: email) must be of type string, not number"},
		{"customer field taken", []object.Type{{Name: "orders", Fields: []object.Field{{Name: "order_id", Type: "string", Primary: true},
			{Name: "buyer", Type: "string", Customer: "email"}, {Name: "buyer_customer", Type: "string"}}}},
			`objects[0].fields[1] (buyer): references customers, and GraphQL resolves it in a field "buyer_customer", which is also the name of a declared field`},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			_, err := object.NewSchema(c.types)
			var de *object.DefinitionError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want a DefinitionError with %q", err, want)
			}
		})
	}
	// Categories are checked against the stitching rules' (package config
	// passes them).
	refs := []object.Type{withField(object.Field{Name: "buyer", Type: "string", Customer: "emial"})}
	if err := object.ValidateReferences(refs, []string{"cookie", "email"}); err == nil ||
		err.Error() != `objects[0].fields[5] (buyer): customer "emial" is not an identifier category (the stitching rules read cookie, email)` {
		t.Errorf("unknown category: %v", err)
	}
	if err := object.ValidateReferences(refs, nil); err == nil || !strings.HasSuffix(err.Error(), "(no stitching rule reads any)") {
		t.Errorf("no categories: %v", err)
	}
	refs[0].Fields[5].Customer = "email"
	if err := object.ValidateReferences(refs, []string{"cookie", "email"}); err != nil {
		t.Error(err)
	}
	// A field that is not primary may be called first.
	if _, err := object.NewSchema([]object.Type{withField(object.Field{Name: "first", Type: "string"})}); err != nil {
		t.Error(err)
	}
}

// columns lists a table's columns with their types.
func (f *fixture) columns(t *testing.T, table string) string {
	t.Helper()
	rows, err := f.db.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'objects' AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c, typ string
		if err := rows.Scan(&c, &typ); err != nil {
			t.Fatal(err)
		}
		out = append(out, c+" "+strings.ToLower(typ))
	}
	return strings.Join(out, ", ")
}

func TestSchemaChanges(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, backend, stores)
			f.upsertJSON(t, "stores", `{"store_id":"s1","name":"Prague","size":3}`)

			// A new field adds a column; a new type its table; data stays.
			grown := stores
			grown.Fields = append(append([]object.Field{}, stores.Fields...), object.Field{Name: "city", Type: object.FieldString})
			if err := f.apply(grown, visits); err != nil {
				t.Fatal(err)
			}
			if res := f.upsertJSON(t, "stores", `{"store_id":"s1","city":"Praha"}`); res.Accepted != 1 {
				t.Fatalf("%+v", res)
			}
			equalLines(t, f.all(t, "stores"), []string{`{"store_id":"s1","name":"Prague","size":3,"opened":null,"active":null,"city":"Praha"}`})

			// Refused changes name the field and change nothing, not even the
			// valid parts of the same config.
			before := f.columns(t, "stores")
			changedType := grown
			changedType.Fields = append([]object.Field{}, grown.Fields...)
			changedType.Fields[2].Type = object.FieldString
			newKey := grown
			newKey.Fields = append([]object.Field{}, grown.Fields...)
			newKey.Fields[5].Primary = true
			newPrimary := grown
			newPrimary.Fields = append(append([]object.Field{}, grown.Fields...), object.Field{Name: "region", Type: object.FieldString, Primary: true})
			noDay := visits
			noDay.Fields = []object.Field{visits.Fields[0], visits.Fields[2]}
			newType := object.Type{Name: "brand_new", Fields: visits.Fields}
			for _, c := range []struct {
				types []object.Type
				want  string
			}{
				{[]object.Type{newType, changedType}, "objects[1].fields[2] (size): the type changed from number to string, but the column objects.stores.size holds the old type"},
				{[]object.Type{newType, newKey}, `objects[1].fields[5] (city): primary changed to true, but the table objects.stores has the primary key (store_id)`},
				{[]object.Type{newType, newPrimary}, `objects[1].fields[6] (region): a new primary field: the table objects.stores has the primary key (store_id)`},
				{[]object.Type{newType, grown, noDay}, `objects[2] (visits): the primary field day is gone, but the table objects.visits has the primary key (store, day)`},
			} {
				err := f.apply(c.types...)
				var de *object.DefinitionError
				if !errors.As(err, &de) || err.Error()[:min(len(c.want), len(err.Error()))] != c.want {
					t.Errorf("error %v\nwant %s...", err, c.want)
				}
			}
			if got := f.columns(t, "stores"); got != before {
				t.Errorf("refused changes altered the table: %s, was %s", got, before)
			}
			if got := f.columns(t, "brand_new"); got != "" {
				t.Errorf("a refused config created a table: %s", got)
			}

			// Removing a field or a type keeps the data; declaring them
			// again brings it back.
			if err := f.apply(stores); err != nil {
				t.Fatal(err)
			}
			equalLines(t, f.all(t, "stores"), []string{`{"store_id":"s1","name":"Prague","size":3,"opened":null,"active":null}`})
			if _, err := f.List(ctx, "visits", object.ListParams{}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("removed type: %v", err)
			}
			if res := f.upsertJSON(t, "stores", `{"store_id":"s2","city":"Brno"}`); len(res.Rejected) != 1 || res.Rejected[0].Field != "city" {
				t.Errorf("a removed field is still written: %+v", res)
			}
			if err := f.apply(grown, visits); err != nil {
				t.Fatal(err)
			}
			equalLines(t, f.all(t, "stores"), []string{`{"store_id":"s1","name":"Prague","size":3,"opened":null,"active":null,"city":"Praha"}`})
			if got, want := f.columns(t, "stores"), "store_id varchar, name varchar, size double, opened timestamp with time zone, active boolean, _updated_at timestamp with time zone, city varchar"; backend == "duckdb" && got != want {
				t.Errorf("columns %s", got)
			}
			if got, want := f.columns(t, "stores"), "store_id text, name text, size double precision, opened timestamp with time zone, active boolean, _updated_at timestamp with time zone, city text"; backend == "postgres" && got != want {
				t.Errorf("columns %s", got)
			}
		})
	}
}
