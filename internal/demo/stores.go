package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

var storeCities = []struct{ city, country string }{
	{"Prague", "CZ"}, {"Brno", "CZ"}, {"Vienna", "AT"}, {"Graz", "AT"}, {"Berlin", "DE"},
	{"Munich", "DE"}, {"Bratislava", "SK"}, {"Warsaw", "PL"}, {"Krakow", "PL"}, {"Budapest", "HU"},
}

// StoreFiles writes the CRM's store exports into dir, as the quickstart's
// blob import reads them: files JSON files of perFile stores each, modified
// one day apart (the oldest first), later files updating some stores of
// earlier ones. The last file holds one store whose opened_at is not a date,
// which the import must report and skip. It returns the file names in the
// order they were modified and the number of distinct good stores.
func StoreFiles(dir string, files, perFile int, seed uint64) ([]string, int, error) {
	rng := rand.New(rand.NewPCG(seed, 0x5707e5))
	base := time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)
	var names []string
	ids := map[string]bool{}
	for f := range files {
		var stores []map[string]any
		for i := range perFile {
			n := f*perFile/2 + i // half of each file updates the previous one
			c := storeCities[n%len(storeCities)]
			stores = append(stores, map[string]any{
				"store_id":  fmt.Sprintf("st-%04d", n),
				"name":      fmt.Sprintf("  %s %d  ", c.city, n/len(storeCities)+1), // the CRM pads names
				"city":      c.city,
				"country":   c.country,
				"opened_at": base.AddDate(0, -rng.IntN(120), -rng.IntN(28)).Format(time.RFC3339),
				"size_m2":   float64(80 + rng.IntN(900)),
				"open":      rng.IntN(10) > 0,
			})
			ids[fmt.Sprintf("st-%04d", n)] = true
		}
		if f == files-1 {
			stores = append(stores, map[string]any{"store_id": "st-broken", "name": "Broken", "opened_at": "soon"})
		}
		name := fmt.Sprintf("stores-%s.json", base.AddDate(0, 0, f).Format("2006-01-02"))
		path := filepath.Join(dir, name)
		data, err := json.MarshalIndent(stores, "", "  ")
		if err != nil {
			return nil, 0, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, 0, err
		}
		mod := base.AddDate(0, 0, f)
		if err := os.Chtimes(path, mod, mod); err != nil {
			return nil, 0, err
		}
		names = append(names, name)
	}
	return names, len(ids), nil
}
