package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// connectError is a PostgreSQL connection error with a clearer message;
// it unwraps to the original.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string { return e.msg }
func (e *connectError) Unwrap() error { return e.err }

// withoutTLSAttempts drops from a PostgreSQL connection error the attempts
// over TLS when a plain attempt followed. Under sslmode=prefer, the
// default, pgx tries TLS first and then without it; a server without TLS
// refuses the first, so the message began with "tls error: server refused
// TLS connection" before the real cause (a wrong password, a missing
// database). The TLS attempts stay when nothing else was tried.
func withoutTLSAttempts(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return err
	}
	joined, ok := ce.Unwrap().(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	attempts := joined.Unwrap()
	var kept []string
	for _, a := range attempts {
		if !strings.Contains(a.Error(), "): tls error: ") {
			kept = append(kept, a.Error())
		}
	}
	if len(kept) == 0 || len(kept) == len(attempts) {
		return err
	}
	sep := " "
	if len(kept) > 1 {
		sep = "\n\t"
	}
	clear := fmt.Sprintf("failed to connect to `user=%s database=%s`:%s%s", ce.Config.User, ce.Config.Database, sep, strings.Join(kept, "\n\t"))
	return &connectError{msg: strings.Replace(err.Error(), ce.Error(), clear, 1), err: err}
}
