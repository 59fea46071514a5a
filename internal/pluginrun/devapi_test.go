package pluginrun

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/plugin"
	"github.com/weftdata/weft/internal/store/dbtest"
)

// TestDevPreparing holds the making of a development dataset (the real
// one, after a gate) to see the answers while it is made: preparing, a
// repeat that starts nothing, a manifest refused as preparing; then
// ready, and a manifest.
func TestDevPreparing(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			r := newRunner(t, backend)
			cfg, err := config.Parse([]byte(pluginsYAML))
			if err != nil {
				t.Fatal(err)
			}
			d := NewDev(r.svc)
			gate := make(chan struct{})
			var builds atomic.Int32
			d.build = func(ctx context.Context, ds *plugin.Dataset) error {
				builds.Add(1)
				<-gate
				return d.make(ctx, ds)
			}
			if st, err := d.PrepareInitial(ctx, cfg, "flow", "latest"); err != nil || st.Status != DevPreparing {
				t.Fatalf("first: %+v %v", st, err)
			}
			if st, err := d.PrepareInitial(ctx, cfg, "flow", "0_sec"); err != nil || st.Status != DevPreparing || st.Moment != "latest" {
				t.Fatalf("while preparing: %+v %v", st, err)
			}
			var nr *DevNotReadyError
			if _, err := d.Manifest(ctx, cfg, "flow", "initial"); !errors.As(err, &nr) || nr.Status != DevPreparing || nr.Message != "Dataset is still being prepared" {
				t.Fatalf("manifest while preparing: %v", err)
			}
			close(gate)
			d.Wait()
			if n := builds.Load(); n != 1 {
				t.Fatalf("%d builds, want 1", n)
			}
			if st, err := d.PrepareInitial(ctx, cfg, "flow", "latest"); err != nil || st.Status != DevReady {
				t.Fatalf("after: %+v %v", st, err)
			}
			m, err := d.Manifest(ctx, cfg, "flow", "initial")
			if err != nil || m.Stage != "initial" || m.DataURLs["initial"] == "" {
				t.Fatalf("manifest: %+v %v", m, err)
			}
			if _, err := d.PrepareInitial(ctx, cfg, "nope", "latest"); !errors.Is(err, ErrUnknownPlugin) {
				t.Fatalf("unknown plugin: %v", err)
			}
		})
	}
}
