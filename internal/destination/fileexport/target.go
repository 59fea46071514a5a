package fileexport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"

	"github.com/weftdata/weft/internal/bucket"
)

// target is the folder files are written to.
type target interface {
	// create starts the file key (a path below the folder, / separated);
	// it is not visible under that name until committed.
	create(ctx context.Context, key, contentType string) (file, error)
	// clean removes what killed runs left under dir (a folder key).
	clean(dir string) error
	close() error
}

// file is a file being written.
type file interface {
	io.Writer
	// commit makes the whole file appear under its name.
	commit() error
	// abort drops it; the name keeps what it had.
	abort()
}

// openTarget opens a target folder URL: a local directory is written by
// localTarget, S3 and Azure through package bucket.
func openTarget(ctx context.Context, folder string) (target, error) {
	if _, _, err := bucket.Parse(folder); err != nil {
		return nil, err
	}
	if dir, ok := bucket.LocalDir(folder); ok {
		return localTarget(dir), nil
	}
	b, err := bucket.Open(ctx, folder)
	if err != nil {
		return nil, err
	}
	return &blobTarget{b: b}, nil
}

// localTarget writes files itself rather than through gocloud's fileblob,
// whose writer keeps its temporary file in the system's temporary
// directory (perhaps another file system, where the rename fails),
// syncs nothing before renaming and writes .attrs files beside each file.
type localTarget string

// partialSuffix ends the hidden name a file is written under.
const partialSuffix = ".partial"

func (t localTarget) create(_ context.Context, key, _ string) (file, error) {
	final := filepath.Join(string(t), filepath.FromSlash(key))
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	tmp := filepath.Join(dir, "."+filepath.Base(final)+partialSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	return &localFile{File: f, final: final}, nil
}

// clean removes the hidden partial files of dir.
func (t localTarget) clean(dir string) error {
	full := filepath.Join(string(t), filepath.FromSlash(dir))
	entries, err := os.ReadDir(full)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.HasSuffix(n, partialSuffix) {
			if err := os.Remove(filepath.Join(full, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func (t localTarget) close() error { return nil }

type localFile struct {
	*os.File
	final string
}

// commit syncs the file, renames it to its name and syncs the directory,
// so that after a crash the name holds the whole file or nothing.
func (f *localFile) commit() error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.final)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	if d, err := os.Open(filepath.Dir(f.final)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("sync %s: %w", filepath.Dir(f.final), err)
		}
	}
	return nil
}

func (f *localFile) abort() {
	f.Close()
	os.Remove(f.Name())
}

// blobTarget writes to S3 or Azure Blob Storage: an upload becomes the
// object when its writer closes (S3's multipart upload is completed,
// Azure's blocks are committed) and is dropped when its context is
// cancelled first, so readers never see part of a file.
type blobTarget struct{ b *blob.Bucket }

func (t *blobTarget) create(ctx context.Context, key, contentType string) (file, error) {
	wctx, cancel := context.WithCancel(ctx)
	w, err := t.b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("write %s: %w", key, err)
	}
	return &blobFile{Writer: w, key: key, cancel: cancel}, nil
}

// clean has nothing to do: an upload that was not committed is not an
// object (S3 keeps its parts until a lifecycle rule removes incomplete
// uploads; Azure drops uncommitted blocks after a week).
func (t *blobTarget) clean(string) error { return nil }

func (t *blobTarget) close() error { return t.b.Close() }

type blobFile struct {
	*blob.Writer
	key    string
	cancel context.CancelFunc
}

func (f *blobFile) commit() error {
	defer f.cancel()
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.key, err)
	}
	return nil
}

func (f *blobFile) abort() {
	f.cancel()
	f.Close()
}

// fileKey is where a run's file goes below the target: the destination's
// folder, the run's UTC time and id, the format's extension.
func fileKey(destination, stamp, runID, format string) string {
	return path.Join(destination, stamp+"-"+runID+"."+extensions[format])
}
