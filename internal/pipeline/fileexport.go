package pipeline

import (
	"github.com/weftdata/weft/internal/config"
	"github.com/weftdata/weft/internal/destination"
	"github.com/weftdata/weft/internal/destination/fileexport" // registers the file_export type
)

// checkExportTargets refuses, at apply, file_export targets on local disk
// outside the folders the operator allowed (--export-folder): where a
// config from the API may write on the server is not its to choose.
func (p *Pipeline) checkExportTargets(cfg *config.Config) error {
	for i := range cfg.Destinations {
		d := &cfg.Destinations[i]
		if d.Type != destination.TypeFileExport {
			continue
		}
		if err := fileexport.CheckFolder(d.Target, p.opts.ExportFolders); err != nil {
			return &config.Error{Err: d.Errorf("target", "%w", err)}
		}
	}
	return nil
}
