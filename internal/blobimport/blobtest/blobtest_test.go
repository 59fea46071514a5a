package blobtest_test

import (
	"context"
	"os"
	"testing"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/blobimport/blobtest"
)

func TestMain(m *testing.M) {
	blobtest.SetEnv()
	os.Exit(m.Run())
}

// TestServers writes and lists a blob on each server.
func TestServers(t *testing.T) {
	for name, start := range map[string]func(testing.TB) *blobtest.Server{"azurite": blobtest.Azurite, "s3": blobtest.S3} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := start(t)
			b := s.Bucket(t, "things")
			if err := b.WriteAll(ctx, "in/a.json", []byte("[]"), nil); err != nil {
				t.Fatal(err)
			}
			it := b.List(&blob.ListOptions{Prefix: "in/"})
			obj, err := it.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if obj.Key != "in/a.json" || obj.Size != 2 || obj.ModTime.IsZero() {
				t.Fatalf("listed %+v", obj)
			}
		})
	}
}
