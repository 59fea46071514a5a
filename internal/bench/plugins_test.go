package bench

import (
	"context"
	"testing"

	"github.com/weftdata/weft/internal/store/dbtest"
)

func TestPluginsSmoke(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			rep, err := Plugins(context.Background(), PluginOpts{DB: dbtest.Open(t, backend), Users: 2500, BatchSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Batches != 3 || rep.Dataset <= 0 || rep.Publish <= 0 {
				t.Fatalf("report %+v", rep)
			}
			t.Log(rep)
		})
	}
}
