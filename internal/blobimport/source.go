package blobimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/job"
)

// File is a file of the source, named by its key in the bucket.
type File struct {
	Name    string    `json:"name"`
	ModTime time.Time `json:"mod_time"`
	Size    int64     `json:"size"`
}

// Cursor is the newest file imported: files are imported in the order of
// (ModTime, Name), so every file at or before the cursor is done.
type Cursor struct {
	ModTime time.Time `json:"mod_time"`
	Name    string    `json:"name"`
}

// Before reports whether the cursor is before f in import order, that is
// whether f is still to import.
func (c Cursor) Before(f File) bool {
	if !f.ModTime.Equal(c.ModTime) {
		return c.ModTime.Before(f.ModTime)
	}
	return c.Name < f.Name
}

// openBucket opens the source's bucket.
func openBucket(ctx context.Context, p *Params) (*blob.Bucket, error) {
	b, err := bucket.OpenBucket(ctx, p.bucketURL)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", p.Source, err)
	}
	return b, nil
}

// listFiles returns the files after the cursor, oldest first, ties in the
// order of their names. Hidden files (a name starting with a dot, as
// editors' and uploaders' temporary files do) are left out.
func listFiles(ctx context.Context, b *blob.Bucket, prefix string, after Cursor) ([]File, error) {
	var files []File
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if obj.IsDir || strings.HasPrefix(path.Base(obj.Key), ".") {
			continue
		}
		f := File{Name: obj.Key, ModTime: obj.ModTime.UTC(), Size: obj.Size}
		if after.Before(f) {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b File) int {
		if c := a.ModTime.Compare(b.ModTime); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return files, nil
}

// readCursor reads the stored cursor; a missing one is the zero Cursor,
// before every file.
func readCursor(ctx context.Context, kv job.KV, key string) (Cursor, error) {
	rec, err := kv.Get(ctx, key)
	if err != nil {
		return Cursor{}, fmt.Errorf("read cursor %s: %w", key, err)
	}
	return cursorOf(rec)
}

func cursorOf(rec job.Record) (Cursor, error) {
	var c Cursor
	if len(rec) == 0 {
		return c, nil
	}
	ts, _ := rec["mod_time"].(string)
	name, _ := rec["name"].(string)
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return c, fmt.Errorf("stored cursor %v: bad mod_time: %w", rec, err)
	}
	return Cursor{ModTime: t.UTC(), Name: name}, nil
}

// advanceCursor stores f as the cursor unless the stored one is already
// at or past it: the cursor never moves backwards, whatever order runs
// finish in.
func advanceCursor(ctx context.Context, kv job.KV, key string, p *Params, f File) error {
	_, err := kv.Patch(ctx, key, func(prev job.Record) (job.Record, error) {
		cur, err := cursorOf(prev)
		if err != nil {
			return nil, err
		}
		if len(prev) > 0 && !cur.Before(f) {
			return prev, nil
		}
		return job.Record{
			"mod_time": f.ModTime.UTC().Format(time.RFC3339Nano),
			"name":     f.Name,
			"source":   p.Source,
			"target":   p.Target,
		}, nil
	})
	if err != nil {
		return fmt.Errorf("store cursor %s: %w", key, err)
	}
	return nil
}
