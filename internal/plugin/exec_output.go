package plugin

import (
	"bufio"
	"io"
	"log/slog"
	"sync"
)

// outputLog sends a process's output lines to a logger, up to a cap.
type outputLog struct {
	mu      sync.Mutex
	log     *slog.Logger
	left    int64
	dropped int64
	tail    tailBuffer
}

// tailString is the stderr tail so far.
func (o *outputLog) tailString() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.tail.String()
}

// writer logs each line of a stream at info with stream=stdout or stderr:
// a plugin's stderr is its log (Python's logging and print(file=sys.stderr)
// write there), not a warning of Weft's.
func (o *outputLog) writer(stream string, tail *tailBuffer) io.WriteCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			o.mu.Lock()
			if tail != nil {
				tail.Write([]byte(line + "\n"))
			}
			if int64(len(line)) <= o.left {
				o.left -= int64(len(line))
				o.log.Info(line, "stream", stream)
			} else {
				o.dropped += int64(len(line))
			}
			o.mu.Unlock()
		}
		io.Copy(io.Discard, pr) //nolint:errcheck // drain a line over 1 MB
	}()
	return &pipeCloser{pw: pw, done: done}
}

type pipeCloser struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (p *pipeCloser) Write(b []byte) (int, error) { return p.pw.Write(b) }

func (p *pipeCloser) Close() error {
	err := p.pw.Close()
	<-p.done
	return err
}

// tailBuffer keeps the last backtraceBytes written.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > backtraceBytes {
		t.b = t.b[len(t.b)-backtraceBytes:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
