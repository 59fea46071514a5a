package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/consent"
	"github.com/weftdata/weft/internal/store"
)

// FixedColumns are the columns every dataset starts with, in this order;
// the feature columns follow. Consumers should look columns up by name.
var FixedColumns = []string{"user_id", "user_created", "data_now", "y_value", "y_timestamp", "random",
	"moment_key", "user_moment_base_timestamp", "moment_timestamp"}

// Dataset is what a data URL serves, fixed when the dataset is made.
type Dataset struct {
	// Key is the dataset key (initial, batch, ...), the moment_key column.
	Key string `json:"key"`
	// Seed salts the random column: random = weft_unit_hash(seed || user_id),
	// uniform in [0, 1), fixed per user for the dataset. Runs use the
	// plugin's name, so every dataset of a plugin orders and ranges users
	// alike (batches of a later run cover the same users).
	Seed string `json:"seed"`
	// Now is data_now: goals count events up to it.
	Now time.Time `json:"now"`
	// Goal is nil for plugins without one (y_value is then "false").
	Goal     *Goal     `json:"goal,omitempty"`
	Features []Feature `json:"features"`
	// Moment is when each user's features are taken; nil is latest.
	Moment *Moment `json:"moment,omitempty"`
	// Attributes are the definitions of the attribute features and of an
	// attribute goal, kept with the dataset: features at a moment and the
	// goal at data_now are calculated with them (without one, the current
	// values are read).
	Attributes []attr.Definition `json:"attributes,omitempty"`
	// Consent leaves out the users without consent for the plugin's
	// purpose, as they are when the dataset is read (a withdrawal counts
	// at once); nil keeps everyone.
	Consent *consent.Filter `json:"consent,omitempty"`
	// Report, on a report plugin's dataset (ReportKey), makes the data
	// URL serve the report document instead of rows of users.
	Report *Report `json:"report,omitempty"`
}

// Feature is one column after the fixed ones: an attribute or a plugin
// property, by id.
type Feature struct {
	// Column is the column name, feature_<id> with anything but letters,
	// digits and _ replaced by _.
	Column string `json:"column"`
	// Exactly one of Attribute and Property is set.
	Attribute string `json:"attribute,omitempty"`
	Property  string `json:"property,omitempty"`
	// DataType is the attribute's (attr.DataString, ...); properties hold
	// JSON values already.
	DataType string `json:"data_type,omitempty"`
	// Multiple attributes are arrays.
	Multiple bool `json:"multiple,omitempty"`
}

// DatasetCreate stores the dataset a data URL of the run serves, with
// what its moment fixes (users and cut-offs, attributes as of them; see
// materialize), in one transaction. Making it again (a resumed run) keeps
// the first one, so reads stay identical.
func (s *Service) DatasetCreate(ctx context.Context, run string, d *Dataset) error {
	if !nameRE.MatchString(run) || !nameRE.MatchString(d.Key) {
		return fmt.Errorf("dataset %q of run %q: bad name", d.Key, run)
	}
	s.datasets.Lock()
	defer s.datasets.Unlock()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, s.db.Query("PluginDatasetExists"), run, d.Key).Scan(&n); err != nil {
		return fmt.Errorf("store dataset %s of run %s: %w", d.Key, run, err)
	}
	if n > 0 {
		return nil
	}
	if err := s.materialize(ctx, tx, run, d); err != nil {
		return err
	}
	spec, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.db.Query("PluginDatasetInsert"), run, d.Key, string(spec), s.now()); err != nil {
		// Another process made it meanwhile (two servers on one
		// PostgreSQL): the first one stored wins, as a second creation
		// keeps the first.
		if tx.Rollback() == nil && s.datasetExists(ctx, run, d.Key) {
			return nil
		}
		return fmt.Errorf("store dataset %s of run %s: %w", d.Key, run, err)
	}
	return tx.Commit()
}

// datasetExists reports whether the run's dataset is stored.
func (s *Service) datasetExists(ctx context.Context, run, key string) bool {
	var n int
	err := s.db.QueryRowContext(ctx, s.db.Query("PluginDatasetExists"), run, key).Scan(&n)
	return err == nil && n > 0
}

// DatasetGet reads a stored dataset definition; ErrNotFound if none.
func (s *Service) DatasetGet(ctx context.Context, run, key string) (*Dataset, error) {
	var spec string
	err := s.db.QueryRowContext(ctx, s.db.Query("PluginDatasetGet"), run, key).Scan(&spec)
	if isNoRows(err) {
		return nil, fmt.Errorf("run %s has no dataset %q: %w", run, key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read dataset %s of run %s: %w", key, run, err)
	}
	var d Dataset
	if err := json.Unmarshal([]byte(spec), &d); err != nil {
		return nil, fmt.Errorf("dataset %s of run %s: %w", key, run, err)
	}
	return &d, nil
}

// UserCount counts the live customer entities: a dataset's full size.
func (s *Service) UserCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.db.Query("PluginUserCount")).Scan(&n)
	return n, err
}

// DatasetDelete removes a dataset definition (a development manifest
// makes its datasets afresh).
func (s *Service) DatasetDelete(ctx context.Context, run, key string) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range []string{"PluginDatasetDelete", "PluginDatasetUsersDelete", "PluginDatasetValuesDelete"} {
		if _, err := tx.ExecContext(ctx, s.db.Query(q), run, key); err != nil {
			return fmt.Errorf("delete dataset %s of run %s: %w", key, run, err)
		}
	}
	return tx.Commit()
}

// DatasetSize counts a dataset's users (fullDatasetSize): its fixed
// users with cut-offs, or the live customer entities, with consent for
// its purpose.
func (s *Service) DatasetSize(ctx context.Context, run string, d *Dataset) (int64, error) {
	q, args := s.db.Query("PluginUserCount"), []any{}
	if d.cutoff() {
		q, args = s.db.Query("PluginDatasetUsersCount"), []any{run, d.Key}
	}
	q += d.consented(&args, "e.id")
	var n int64
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the users of dataset %s of run %s: %w", d.Key, run, err)
	}
	return n, nil
}
