package bucket_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/blobimport/blobtest"
	"github.com/weftdata/weft/internal/bucket"
)

func TestMain(m *testing.M) {
	blobtest.SetEnv()
	os.Exit(m.Run())
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, bucketURL, prefix, err string }{
		{in: "file:///var/lib/imports", bucketURL: "file:///var/lib/imports"},
		{in: "s3://b/exports/2024?region=eu-west-1", bucketURL: "s3://b?region=eu-west-1", prefix: "exports/2024/"},
		{in: "azblob://c", bucketURL: "azblob://c"},
		{in: "file:///", err: "needs a directory"},
		{in: "s3:///x", err: "needs a bucket"},
		{in: "s3://key:secret@b/x", err: "credentials in the URL are not supported"},
		{in: "/var/lib/imports", err: "has no scheme"},
		{in: "gs://b/x", err: `unsupported scheme "gs"`},
	} {
		u, p, err := bucket.Parse(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("Parse(%q): error %v, want one containing %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || u != tc.bucketURL || p != tc.prefix):
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tc.in, u, p, err, tc.bucketURL, tc.prefix)
		}
	}
}

// TestOpenFile: a file folder's keys are paths under the directory.
func TestOpenFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := bucket.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, "run/stage/model.pkl", []byte("m"), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "run", "stage", "model.pkl")); err != nil || string(got) != "m" {
		t.Fatalf("file %q, %v", got, err)
	}
	if _, err := bucket.Open(ctx, "s3://key:secret@b/x"); err == nil {
		t.Fatal("a URL with credentials opened")
	}
}

// TestOpenPrefix: Open's keys are relative to the folder, OpenBucket's
// keep the prefix, on a real S3 server.
func TestOpenPrefix(t *testing.T) {
	ctx := context.Background()
	s := blobtest.S3(t)
	s.Bucket(t, "plugins")
	folder, err := bucket.Open(ctx, s.SourceURL("plugins", "weft/files"))
	if err != nil {
		t.Fatal(err)
	}
	defer folder.Close()
	if err := folder.WriteAll(ctx, "run/a.txt", []byte("a"), nil); err != nil {
		t.Fatal(err)
	}
	bucketURL, prefix, err := bucket.Parse(s.SourceURL("plugins", "weft/files"))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := bucket.OpenBucket(ctx, bucketURL)
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	if got, err := whole.ReadAll(ctx, prefix+"run/a.txt"); err != nil || string(got) != "a" {
		t.Fatalf("%sa.txt in the whole bucket: %q, %v", prefix, got, err)
	}
}
