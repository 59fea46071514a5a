package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"unicode/utf8"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/weftdata/weft/internal/store"
)

// MaxFileBytesDefault is the largest file a plugin may upload, as S3's
// single PUT allows.
const MaxFileBytesDefault int64 = 5 << 30

// maxPathBytes bounds a file path.
const maxPathBytes = 1024

// PathError is a file path a plugin may not use.
type PathError struct {
	Path   string
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("file path %q: %s (paths are relative to the stage, as in model.pkl or models/v1.pkl)", e.Path, e.Reason)
}

// attrsSuffix ends the names fileblob keeps file metadata in.
const attrsSuffix = ".attrs"

// ValidatePath checks a plugin file path: relative, with no empty, "." or
// ".." segments nor segments ending in .attrs, no backslashes or control
// characters, at most 1024 bytes.
func ValidatePath(p string) error {
	switch {
	case p == "":
		return &PathError{p, "is empty: append /<file name> to the URL"}
	case len(p) > maxPathBytes:
		return &PathError{p[:64] + "...", fmt.Sprintf("is longer than %d bytes", maxPathBytes)}
	case !utf8.ValidString(p):
		return &PathError{p, "is not valid UTF-8"}
	case strings.HasPrefix(p, "/"):
		return &PathError{p, "is absolute"}
	case strings.ContainsRune(p, '\\'):
		return &PathError{p, `contains a backslash`}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return &PathError{p, "contains a control character"}
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return &PathError{p, "has an empty segment (// or a trailing /)"}
		case ".", "..":
			return &PathError{p, fmt.Sprintf("has a %q segment", seg)}
		}
		// The file storage (gocloud's fileblob) keeps each file's metadata
		// beside it in <name>.attrs and refuses such names; refused on
		// every storage, so paths mean the same wherever files are kept.
		if strings.HasSuffix(seg, attrsSuffix) {
			return &PathError{p, fmt.Sprintf("has a segment ending in %s, which the file storage keeps for its own use", attrsSuffix)}
		}
	}
	return nil
}

// TooLargeError is an upload over the per-file limit.
type TooLargeError struct{ Limit int64 }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("file is larger than the limit of %d bytes per file", e.Limit)
}

// objectKey is where a stage's file lives in the bucket.
func objectKey(run, stage, path string) string { return run + "/" + stage + "/" + path }

// put stores body as the stage's file, replacing an earlier one; a body
// over limit leaves nothing behind.
func put(ctx context.Context, b *blob.Bucket, key string, body io.Reader, limit int64) (int64, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return 0, fmt.Errorf("open %s for writing: %w", key, err)
	}
	n, err := io.Copy(w, io.LimitReader(body, limit+1))
	if err == nil && n > limit {
		err = &TooLargeError{Limit: limit}
	}
	if err != nil {
		cancel() // discards what was written
		_ = w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return n, nil
}

// open reads a stage's file.
func open(ctx context.Context, b *blob.Bucket, key string) (*blob.Reader, error) {
	r, err := b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound || pathConflict(err) { // a/b when a is a file
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return r, nil
}

var errNoBucket = errors.New("plugin storage is not configured")

// UploadURL answers GET {getUploadUrls[stage]}/<path>: a presigned PUT
// URL for the path, valid as long as the URL it was asked with.
func (s *Service) UploadURL(ctx context.Context, t Token, path string) (string, error) {
	if err := s.requireRunning(ctx, t); err != nil {
		return "", err
	}
	put := Token{Kind: KindPut, Run: t.Run, Scope: t.Scope, Expires: t.Expires}
	return s.base + s.sign.path(put, path), nil
}

// Put stores an uploaded file. size is the request's Content-Length (-1
// when unknown); a body over MaxFileBytes is refused.
func (s *Service) Put(ctx context.Context, t Token, path string, body io.Reader, size int64) (int64, error) {
	if size > s.opts.MaxFileBytes {
		return 0, &TooLargeError{Limit: s.opts.MaxFileBytes}
	}
	if err := s.requireRunning(ctx, t); err != nil {
		return 0, err
	}
	n, err := put(ctx, s.bucket, objectKey(t.Run, t.Scope, path), body, s.opts.MaxFileBytes)
	if pathConflict(err) {
		return 0, &PathError{path, "is a folder of other files, or a file is where its folder would be"}
	}
	return n, err
}

// pathConflict tells a path the file storage cannot use because a file
// and a folder would share a name (model, then model/v1) from a fault of
// the storage.
func pathConflict(err error) bool {
	return errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY)
}

// Open reads a stage's file (any stage, from any stage); ErrNotFound if
// there is none.
func (s *Service) Open(ctx context.Context, t Token, path string) (*blob.Reader, error) {
	return open(ctx, s.bucket, objectKey(t.Run, t.Scope, path))
}

// StageFilesDelete deletes the files a stage of a run uploaded
// (<run>/<stage>/...) and returns how many: the runner drops those of
// the hyper-parameter variations that lost. Deleting them again is a
// no-op.
func (s *Service) StageFilesDelete(ctx context.Context, run, stage string) (int64, error) {
	n, err := deletePrefix(ctx, s.bucket, objectKey(run, stage, ""))
	if err != nil {
		return n, fmt.Errorf("delete the files of stage %s of run %s: %w", stage, run, err)
	}
	return n, nil
}

// deletePrefix deletes every file under a prefix of the bucket.
func deletePrefix(ctx context.Context, b *blob.Bucket, prefix string) (int64, error) {
	var n int64
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if obj.IsDir {
			continue
		}
		if err := b.Delete(ctx, obj.Key); err != nil {
			return n, err
		}
		n++
	}
}
