package destination

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/weftdata/weft/internal/attr"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

// Deps are what the destination jobs need from the server.
type Deps struct {
	DB *store.DB
	// Config returns what is in force.
	Config func(ctx context.Context) (*InForce, error)
	// HTTP sends webhook requests (default: a client that follows no
	// redirects; each request has its destination's timeout).
	HTTP *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ExportFolders are the local folders file:// targets of file exports
	// may write to (weft serve --export-folder); nil allows any (tests).
	ExportFolders []string
}

// InForce is what destinations need of the configuration in force.
type InForce struct {
	Destinations []Definition
	// Attributes type the values sent.
	Attributes []attr.Definition
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Params are the parameters of a destination's job.
type Params struct {
	// Destination is the id of a destination of weft.yaml.
	Destination string `json:"destination"`
}

// ErrUnknown is a destination weft.yaml does not declare.
var ErrUnknown = errors.New("unknown destination")

// resolve finds the destination of a run's parameters, of the given type.
func (d *Deps) resolve(ctx context.Context, p Params, typ string) (*Definition, *InForce, error) {
	if p.Destination == "" {
		return nil, nil, &job.ParamError{Param: "destination", Reason: "is required: the id of a destination of weft.yaml"}
	}
	cfg, err := d.Config(ctx)
	if err != nil {
		return nil, nil, err
	}
	def := Find(cfg.Destinations, p.Destination)
	if def == nil {
		return nil, nil, fmt.Errorf("%w %q: declare it under destinations: in weft.yaml", ErrUnknown, p.Destination)
	}
	if def.Type != typ {
		return nil, nil, &job.ParamError{Param: "destination", Reason: fmt.Sprintf("%s is a %s destination, not a %s", def.ID, def.Type, typ)}
	}
	return def, cfg, nil
}

// WebhookInfo is the job kind destination_webhook: one run sends what
// is pending for one webhook (parameter destination), the batches of
// about a second per Perform, and completes when nothing is left.
func WebhookInfo(deps *Deps) job.Info {
	return job.Typed[Params, WebhookState](Kind(TypeWebhook), "send a webhook destination's segment changes or changed profiles (parameter destination)",
		func() *webhookJob { return &webhookJob{deps: deps} })
}

// WebhookState is a webhook run's checkpoint: what it did so far. The
// position lives in the database (destination_cursors and the batch in
// flight), committed with each batch, not here.
type WebhookState struct {
	Destination string `json:"destination"`
	// Requests counts the batches the receiver took (2xx); Sent the
	// changes or profiles in them.
	Requests int64 `json:"requests"`
	Sent     int64 `json:"sent"`
	// Skipped counts the changes of profiles without consent.
	Skipped int64 `json:"skipped"`
	// DeadLetters counts the batches refused for good; Replayed the dead
	// letters a replay delivered.
	DeadLetters int64 `json:"dead_letters"`
	Replayed    int64 `json:"replayed"`
	// Retries counts the attempts beyond the first.
	Retries int64 `json:"retries"`
	// Cursor is the last seq of segment changes sent or passed.
	Cursor int64 `json:"cursor"`
	// Queued says the changed profiles were computed in this run.
	Queued bool `json:"queued,omitempty"`
}

type webhookJob struct {
	deps *Deps
	inv  *job.Invocation
	def  *Definition
	cfg  *InForce
	send *sender
	// attrs are the definitions of the attributes sent, by id.
	attrs map[string]*attr.Definition
	// win is the changes read ahead and pos the position (webhooks of
	// segments).
	win *window
	pos *position
	// body is the buffer of the last request's body, reused.
	body []byte
	// failed is the error of a batch that followed others in a Perform,
	// for the next Perform to return.
	failed error
	// replaysDone says no dead letter asked to be replayed was left when
	// the run started: a replay asked for later starts a run of its own.
	replaysDone bool
}

var (
	_ job.Worker[Params, WebhookState] = (*webhookJob)(nil)
	_ job.ParamsValidator[Params]      = (*webhookJob)(nil)
)

func (j *webhookJob) ValidateParams(ctx context.Context, p Params) error {
	_, _, err := j.deps.resolve(ctx, p, TypeWebhook)
	return err
}

func (j *webhookJob) Prepare(ctx context.Context, inv *job.Invocation, p Params, st *WebhookState, _ bool) (bool, error) {
	def, cfg, err := j.deps.resolve(ctx, p, TypeWebhook)
	if err != nil {
		return false, job.Fail(err)
	}
	key, err := secretKey(ctx, inv.Secrets, def)
	if err != nil {
		return false, job.Fail(err)
	}
	client := j.deps.HTTP
	if client == nil {
		client = newHTTPClient()
	}
	if j.send, err = newSender(def, key, client, j.deps.now); err != nil {
		return false, job.Fail(err)
	}
	j.inv, j.def, j.cfg = inv, def, cfg
	j.attrs = make(map[string]*attr.Definition, len(def.Attributes))
	for i := range cfg.Attributes {
		if d := &cfg.Attributes[i]; slices.Contains(def.Attributes, d.ID) {
			j.attrs[d.ID] = d
		}
	}
	st.Destination = def.ID
	return false, nil
}

// errNoKey is a secret without its key field.
var errNoKey = errors.New("has no field " + SecretField + " (the HMAC key)")

// secretKey reads the HMAC key of a webhook from the secrets.
func secretKey(ctx context.Context, secrets job.Store, d *Definition) ([]byte, error) {
	if secrets == nil {
		return nil, fmt.Errorf("destination %s: no secrets store to read %s from", d.ID, d.Secret)
	}
	rec, err := secrets.Get(ctx, d.Secret, SecretField)
	if err != nil {
		return nil, fmt.Errorf("destination %s: read secret %s: %w", d.ID, d.Secret, err)
	}
	v, ok := rec[SecretField].(string)
	if !ok || v == "" {
		return nil, fmt.Errorf("destination %s: secret %s %w", d.ID, d.Secret, errNoKey)
	}
	return []byte(v), nil
}

// performFor is how long a Perform goes on sending batches. The position
// is committed with each batch; the runtime's checkpoint after a Perform
// stores only the counts, and costs about as much as a batch's own
// commit on DuckDB, so it is not paid for every batch.
const performFor = time.Second

// Perform sends batches for about performFor: the dead letters asked to
// be replayed when the run started first (one per Perform), then the next
// segment changes or changed profiles.
func (j *webhookJob) Perform(ctx context.Context, st *WebhookState) (bool, error) {
	if err := j.failed; err != nil {
		j.failed = nil
		return false, err
	}
	if !j.replaysDone {
		replayed, err := j.replayOne(ctx, st)
		if err != nil || replayed {
			return false, err
		}
		j.replaysDone = true
	}
	start := time.Now()
	for n := 0; ; n++ {
		var done bool
		var err error
		if len(j.def.Segments) > 0 {
			done, err = j.changesBatch(ctx, st)
		} else {
			done, err = j.profilesBatch(ctx, st)
		}
		if err != nil && n > 0 {
			// The batches sent before are counted in the checkpoint of
			// this Perform; the next one reports the error.
			j.failed = err
			return false, nil
		}
		if err != nil || done || time.Since(start) >= performFor {
			return done, err
		}
	}
}

// deliver sends a batch and records its end with commit, in one
// transaction with the dead letter of a refusal: the position moves only
// with the answer recorded.
func (j *webhookJob) deliver(ctx context.Context, st *WebhookState, key string, items int, body []byte,
	commit func(tx store.ExecutorTx) error) error {
	out, err := j.send.send(ctx, key, body)
	if err != nil {
		return err
	}
	st.Retries += int64(out.Attempts - 1)
	now := j.deps.now()
	err = j.deps.DB.InTx(ctx, func(tx store.ExecutorTx) error {
		if out.Refused {
			if _, err := tx.ExecContext(ctx, tx.Query("DestinationDeadLetterInsert"), j.def.ID, key, items, string(body), out.Status, out.Answer, now); err != nil {
				return fmt.Errorf("record the dead letter: %w", err)
			}
		}
		return commit(tx)
	})
	if err != nil {
		return err
	}
	if out.Refused {
		st.DeadLetters++
		j.inv.Log.Warn("batch refused: kept as a dead letter", "idempotency_key", key, "status", out.Status, "answer", out.Answer)
		return nil
	}
	st.Requests++
	st.Sent += int64(items)
	return nil
}
