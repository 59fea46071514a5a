package deliveryjson

import "strconv"

// Error reports why a request body could not be decoded and where.
type Error struct {
	// Path names the field, e.g. "insertion[3].retrievalRank"; it is empty
	// for problems at the top level. Keys appear as the client spelled them.
	Path string
	// Msg says what was wrong with the value.
	Msg string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// inField prefixes err's path with an object key. Paths are built while the
// error unwinds, so the happy path never pays for them.
func inField(err error, key []byte) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	switch {
	case e.Path == "":
		e.Path = string(key)
	case e.Path[0] == '[':
		e.Path = string(key) + e.Path
	default:
		e.Path = string(key) + "." + e.Path
	}
	return e
}

// inElement prefixes err's path with an array index.
func inElement(err error, i int) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	idx := "[" + strconv.Itoa(i) + "]"
	if e.Path == "" || e.Path[0] == '[' {
		e.Path = idx + e.Path
	} else {
		e.Path = idx + "." + e.Path
	}
	return e
}
