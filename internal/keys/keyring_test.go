package keys_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/keys"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestKeyring(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, backend)
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			ring := keys.New(db, &keys.Options{Bootstrap: []string{"boot-1"}, Now: func() time.Time { return now }})

			k, secret, err := ring.Create(ctx, keys.CreateParams{Name: " web shop ", Scopes: []string{"ingest", "read", "ingest"}, Sources: []string{"web", "app", "web"}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, keys.Prefix) || len(secret) < 40 || !strings.HasPrefix(secret, k.Prefix) || len(k.Prefix) >= len(secret)/2 {
				t.Errorf("key %q with prefix %q: want weft_ and a short prefix of it", secret, k.Prefix)
			}
			if k.Name != "web shop" || !slices.Equal(k.Scopes, []string{"ingest", "read"}) || !slices.Equal(k.Sources, []string{"app", "web"}) || k.ID == "" {
				t.Errorf("created %+v: want the name trimmed, scopes and sources sorted without repeats", k)
			}

			got, err := ring.Check(ctx, secret)
			if err != nil || got == nil || got.ID != k.ID || got.Name != "web shop" || !got.Allows("ingest") || got.Allows("admin") || got.Allows("jobs") {
				t.Fatalf("check of the new key: %+v, %v", got, err)
			}
			for _, wrong := range []string{"", secret[:len(secret)-1], secret + "x", strings.ToUpper(secret), "boot-", "boot-11"} {
				if got, err := ring.Check(ctx, wrong); got != nil || err != nil {
					t.Errorf("check of %q: %+v, %v; want no key", wrong, got, err)
				}
			}
			boot, err := ring.Check(ctx, "boot-1")
			if err != nil || boot == nil || boot.Name != keys.NameBootstrap || !boot.Allows("jobs") || boot.ID != "" {
				t.Errorf("bootstrap key: %+v, %v", boot, err)
			}

			// Last use: written on the first check, then at most once per
			// TouchDefault.
			list, err := ring.List(ctx)
			if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(now) {
				t.Fatalf("list after a check: %+v, %v", list, err)
			}
			first := *list[0].LastUsedAt
			now = now.Add(30 * time.Second)
			if _, err := ring.Check(ctx, secret); err != nil {
				t.Fatal(err)
			}
			if list, _ = ring.List(ctx); !list[0].LastUsedAt.Equal(first) {
				t.Errorf("last use rewritten within a minute: %v", list[0].LastUsedAt)
			}
			now = now.Add(31 * time.Second)
			if _, err := ring.Check(ctx, secret); err != nil {
				t.Fatal(err)
			}
			if list, _ = ring.List(ctx); !list[0].LastUsedAt.Equal(now) {
				t.Errorf("last use %v after a minute, want %v", list[0].LastUsedAt, now)
			}

			// A name is unique among live keys.
			if _, _, err := ring.Create(ctx, keys.CreateParams{Name: "web shop", Scopes: []string{"read"}}); !errors.Is(err, keys.ErrNameTaken) {
				t.Errorf("duplicate name: %v, want ErrNameTaken", err)
			}

			// Revoked: refused at once, gone from the list, its name free.
			revoked, err := ring.Revoke(ctx, k.ID)
			if err != nil || revoked.Name != "web shop" {
				t.Fatalf("revoke: %+v, %v", revoked, err)
			}
			if got, err := ring.Check(ctx, secret); got != nil || err != nil {
				t.Errorf("revoked key still checks: %+v, %v", got, err)
			}
			if _, err := ring.Revoke(ctx, k.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second revoke: %v, want ErrNotFound", err)
			}
			if _, err := ring.Revoke(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("revoke of an unknown id: %v, want ErrNotFound", err)
			}
			if list, err := ring.List(ctx); err != nil || len(list) != 0 {
				t.Errorf("list after revoke: %+v, %v", list, err)
			}
			again, secret2, err := ring.Create(ctx, keys.CreateParams{Name: "web shop", Scopes: []string{"admin"}})
			if err != nil || again.ID == k.ID || secret2 == secret {
				t.Fatalf("the name of a revoked key: %+v, %v", again, err)
			}
			if got, _ := ring.Check(ctx, secret2); got == nil || !got.Allows("jobs") || !got.Allows("delivery") {
				t.Errorf("admin key %+v: want every scope", got)
			}
		})
	}
}

// TestKeyringOtherProcess: a key created or revoked through another
// keyring over the same database (another process) counts within the
// refresh interval.
func TestKeyringOtherProcess(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, "postgres")
	now := time.Now()
	ours := keys.New(db, &keys.Options{Now: func() time.Time { return now }})
	theirs := keys.New(db, nil)
	if ok, err := ours.Configured(ctx); ok || err != nil {
		t.Fatalf("configured with no key: %v, %v", ok, err)
	}
	k, secret, err := theirs.Create(ctx, keys.CreateParams{Name: "ci", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(keys.RefreshDefault)
	if ok, err := ours.Configured(ctx); !ok || err != nil {
		t.Errorf("configured after another process created a key: %v, %v", ok, err)
	}
	if got, _ := ours.Check(ctx, secret); got == nil {
		t.Fatal("a key created by another process is not accepted after the refresh")
	}
	if _, err := theirs.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(keys.RefreshDefault)
	if got, _ := ours.Check(ctx, secret); got != nil {
		t.Error("a key revoked by another process is accepted after the refresh")
	}
}

func TestCreateRefusesBadParams(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ring := keys.New(dbtest.Open(t, backend), nil)
			for _, c := range []struct {
				name string
				p    keys.CreateParams
				msg  string
			}{
				{"empty name", keys.CreateParams{Name: "  ", Scopes: []string{"read"}}, "name is empty"},
				{"long name", keys.CreateParams{Name: strings.Repeat("n", 101), Scopes: []string{"read"}}, "over 100"},
				{"reserved name", keys.CreateParams{Name: "bootstrap", Scopes: []string{"read"}}, "reserved"},
				{"no scopes", keys.CreateParams{Name: "a"}, "scopes is empty"},
				{"unknown scope", keys.CreateParams{Name: "a", Scopes: []string{"read", "write"}}, `unknown scope "write": the scopes are ingest, read, delivery, jobs, admin`},
				{"sources without ingest", keys.CreateParams{Name: "a", Scopes: []string{"read"}, Sources: []string{"web"}}, "sources limit the ingest scope"},
				{"sources with admin", keys.CreateParams{Name: "a", Scopes: []string{"ingest", "admin"}, Sources: []string{"web"}}, "admin key ingests every source"},
				{"empty source", keys.CreateParams{Name: "a", Scopes: []string{"ingest"}, Sources: []string{"web", ""}}, "empty source"},
			} {
				_, _, err := ring.Create(context.Background(), c.p)
				if !errors.Is(err, keys.ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
					t.Errorf("%s: %v, want ErrInvalid with %q", c.name, err, c.msg)
				}
			}
			if list, err := ring.List(context.Background()); err != nil || len(list) != 0 {
				t.Errorf("refused keys stored: %+v, %v", list, err)
			}
		})
	}
}

// TestBootstrapOnly is a keyring without a database: bootstrap keys, no
// store.
func TestBootstrapOnly(t *testing.T) {
	ctx := context.Background()
	ring := keys.New(nil, &keys.Options{Bootstrap: []string{"k1", "k2"}})
	for _, c := range []struct {
		key  string
		want bool
	}{{"k1", true}, {"k2", true}, {"k", false}, {"k12", false}, {"", false}} {
		got, err := ring.Check(ctx, c.key)
		if err != nil || (got != nil) != c.want {
			t.Errorf("check %q: %+v, %v; want found=%v", c.key, got, err, c.want)
		}
	}
	if ok, _ := keys.New(nil, nil).Configured(ctx); ok {
		t.Error("a keyring without keys says it is configured")
	}
	if _, _, err := ring.Create(ctx, keys.CreateParams{Name: "a", Scopes: []string{"read"}}); err == nil {
		t.Error("create without a store succeeded")
	}
}

func TestMatchAny(t *testing.T) {
	cands := []string{"dk-1", "a much longer delivery key than the other"}
	for _, c := range []struct {
		key  string
		want bool
	}{{"dk-1", true}, {cands[1], true}, {"dk-", false}, {"dk-12", false}, {"", false}, {"DK-1", false}} {
		if got := keys.MatchAny(c.key, cands); got != c.want {
			t.Errorf("MatchAny(%q) = %v, want %v", c.key, got, c.want)
		}
	}
	if keys.MatchAny("x", nil) {
		t.Error("MatchAny of no candidates is true")
	}
}

// TestCheckAllocatesNothing: refusing a key allocates nothing, whatever
// its length (accepting one returns the caller's own copy). A copy of the key to the heap for keys
// over 32 bytes (and to the stack below) made long wrong keys about 30%
// slower to refuse under load, which TestCheckTimeIgnoresLength caught
// only now and then; this finds it every time.
func TestCheckAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	stored := strings.Repeat("s", 48)
	ring := keys.New(nil, &keys.Options{Bootstrap: []string{stored}})
	for _, n := range []int{0, 1, 20, 32, 33, 48, 55, 56, 200} {
		wrong := strings.Repeat("w", n)
		if a := testing.AllocsPerRun(200, func() { _, _ = ring.Check(ctx, wrong) }); a != 0 {
			t.Errorf("checking a wrong key of %d bytes allocates %v times; want 0", n, a)
		}
	}
}

// TestCheckTimeIgnoresLength: a wrong key of the stored key's length takes
// as long to refuse as wrong keys of other lengths (comparing the raw keys
// returned early on a different length, which told the length). Keys up
// to 55 bytes hash in one SHA-256 block, so the hashing costs the same.
func TestCheckTimeIgnoresLength(t *testing.T) {
	ctx := context.Background()
	stored := strings.Repeat("s", 48)
	ring := keys.New(nil, &keys.Options{Bootstrap: []string{stored, "another bootstrap key"}})
	lengths := []int{1, 20, 48, 55}
	measure := func() []time.Duration {
		const rounds, per = 15, 2000
		samples := make([][]time.Duration, len(lengths))
		for range rounds {
			for i, n := range lengths {
				wrong := strings.Repeat("w", n)
				start := time.Now()
				for range per {
					_, _ = ring.Check(ctx, wrong)
				}
				samples[i] = append(samples[i], time.Since(start))
			}
		}
		med := make([]time.Duration, len(lengths))
		for i, s := range samples {
			slices.Sort(s)
			med[i] = s[len(s)/2]
		}
		return med
	}
	// A shared machine is noisy: the test passes when one of a few
	// measurements shows every length within 30% of the others.
	var med []time.Duration
	for range 5 {
		med = measure()
		lo, hi := slices.Min(med), slices.Max(med)
		if float64(hi) <= 1.3*float64(lo) {
			return
		}
	}
	t.Errorf("median times of refusing wrong keys of lengths %v: %v; want them within 30%%", lengths, med)
}
