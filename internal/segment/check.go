package segment

import (
	"context"
	"fmt"
	"strings"

	"github.com/weftdata/weft/internal/store"
)

// Check checks, when a config is applied, what its segments need of the
// database: each event condition's where and sum.field run (planned and
// executed over no entity, confined as config SQL), and each plugin
// property named exists (an exact id) or belongs to a declared plugin or
// a published one (<plugin>/<name>). Errors are *Error naming the path.
func (e *Engine) Check(ctx context.Context) error {
	props, err := properties(ctx, e.db)
	if err != nil {
		return err
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := &run{e: e, conn: conn, props: props}
	if err := r.createTemp(ctx); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, conn.Query("SegmentCandClear")); err != nil {
		return err
	}
	comp := newCompiler(e.caps, e.env, e.defs, props, e.opts.Now())
	comp.cand = "seg_cand"
	for i := range e.defs {
		d := &e.defs[i]
		var fail error
		walkPaths(&d.Condition, "condition", func(n *Condition, path string) bool {
			if pe := r.checkNode(ctx, comp, n, path); pe != nil {
				fail = &Error{Segment: d.ID, Path: pe.path, Err: pe.err}
			}
			return fail == nil
		})
		if fail != nil {
			return fail
		}
	}
	return nil
}

type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }

func (r *run) checkNode(ctx context.Context, comp *compiler, n *Condition, path string) *pathError {
	switch {
	case n.Property != "":
		plugin, _, _ := strings.Cut(n.Property, "/")
		exact := strings.Count(n.Property, "/") == 2
		_, found := comp.resolve(n.Property)
		switch {
		case exact && !found:
			return &pathError{path + ".property", fmt.Errorf("no published property %q", n.Property)}
		case !found && !r.e.env.plugins[plugin]:
			return &pathError{path + ".property", fmt.Errorf("no plugin %q is declared and no property %q was published", plugin, n.Property)}
		case found:
			if _, err := comp.property(n); err != nil {
				return &pathError{path + ".value", err}
			}
		}
	case n.Event != "":
		if n.Where != "" {
			probe := *n
			probe.Sum, probe.Count = nil, &Count{Op: OpGe, Value: 1}
			if err := r.probe(ctx, comp, &probe); err != nil {
				return &pathError{path + ".where", err}
			}
		}
		if n.Sum != nil {
			probe := *n
			probe.Where = ""
			if err := r.probe(ctx, comp, &probe); err != nil {
				return &pathError{path + ".sum.field", err}
			}
		}
	}
	return nil
}

// probe runs an event condition's query over no entity, confined.
func (r *run) probe(ctx context.Context, comp *compiler, n *Condition) error {
	q, err := comp.event(n)
	if err != nil {
		return err
	}
	return store.RunConfigSQL(ctx, r.conn, r.e.caps, true, func(x store.Executor) error {
		var count int64
		return x.QueryRowContext(ctx, "SELECT count(*) FROM ("+q+") m").Scan(&count)
	})
}

// walkPaths calls fn on every node with its path, parents first, until fn
// returns false.
func walkPaths(c *Condition, path string, fn func(*Condition, string) bool) bool {
	if !fn(c, path) {
		return false
	}
	for i := range c.All {
		if !walkPaths(&c.All[i], fmt.Sprintf("%s.all[%d]", path, i), fn) {
			return false
		}
	}
	for i := range c.Any {
		if !walkPaths(&c.Any[i], fmt.Sprintf("%s.any[%d]", path, i), fn) {
			return false
		}
	}
	if c.Not != nil {
		return walkPaths(c.Not, path+".not", fn)
	}
	return true
}
