package privacy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"gocloud.dev/gcerrors"
)

// ExportRetentionDefault is how long an access or portability export is
// kept after it is written: long enough for a controller to fetch it again
// (a URL handed out lasts URLTTL, and GET /v1/privacy/requests/{id} hands
// out a fresh one), short enough that copies of people's data do not pile
// up in the export folder.
const ExportRetentionDefault = 30 * 24 * time.Hour

// sweepExports deletes the export files written more than ExportRetention
// ago (by the files' modification time, which each write renews); their
// URLs then answer ErrNoExport. It runs at the end of every run of the
// privacy_requests job, which also runs daily. A negative retention keeps
// exports for good.
func (s *Service) sweepExports(ctx context.Context, log *slog.Logger) error {
	if s.opts.ExportRetention < 0 {
		return nil
	}
	cut := s.opts.Now().Add(-s.opts.ExportRetention)
	it := s.exports.List(nil)
	deleted := 0
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("list the privacy exports: %w", err)
		}
		if obj.IsDir || !obj.ModTime.Before(cut) {
			continue
		}
		if err := s.exports.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("delete privacy export %s: %w", obj.Key, err)
		}
		deleted++
	}
	if deleted > 0 {
		log.Info("privacy exports past their retention deleted", "files", deleted, "retention", s.opts.ExportRetention)
	}
	return nil
}
