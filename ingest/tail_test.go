package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// linePipeline records the raw lines it is given. Flush fails while
// failFlushes is positive, counting down.
type linePipeline struct {
	mu          sync.Mutex
	lines       []string
	failFlushes int
}

func (p *linePipeline) Observe(lines []signals.LogLine, _ time.Time) (signals.Observed, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range lines {
		p.lines = append(p.lines, l.Raw)
	}
	return signals.Observed{Accepted: len(lines)}, nil
}

func (p *linePipeline) Flush(context.Context, time.Time) (store.IngestResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failFlushes > 0 {
		p.failFlushes--
		return store.IngestResult{}, errors.New("database is locked")
	}
	return store.IngestResult{}, nil
}

func (p *linePipeline) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

// tailEnv is a log directory, a store for offsets and a pipeline that
// outlive the tails started on them, as they outlive a Vigil restart.
type tailEnv struct {
	t    *testing.T
	dir  string
	path string
	st   *store.Store
	pipe *linePipeline
}

func newTailEnv(t *testing.T) *tailEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &tailEnv{t: t, dir: dir, path: filepath.Join(dir, "app.log"), st: st, pipe: &linePipeline{}}
}

// start starts a tail as Vigil does at startup.
func (e *tailEnv) start() *Tail {
	e.t.Helper()
	stream, err := signals.NewStream(map[string]string{"source": "app"})
	if err != nil {
		e.t.Fatal(err)
	}
	parser, _ := signals.NewLineParser("")
	tl := &Tail{Path: e.path, Stream: stream, Parser: parser, Pipeline: e.pipe, Offsets: e.st, Poll: time.Millisecond, Logger: discard}
	if err := tl.start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(tl.close)
	return tl
}

// steps runs n polls.
func (e *tailEnv) steps(tl *Tail, n int) {
	e.t.Helper()
	for range n {
		if err := tl.step(context.Background()); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *tailEnv) write(name, s string) {
	e.t.Helper()
	f, err := os.OpenFile(filepath.Join(e.dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *tailEnv) rename(from, to string) {
	e.t.Helper()
	if err := os.Rename(filepath.Join(e.dir, from), filepath.Join(e.dir, to)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *tailEnv) truncate() {
	e.t.Helper()
	if err := os.Truncate(e.path, 0); err != nil {
		e.t.Fatal(err)
	}
}

func (e *tailEnv) want(lines ...string) {
	e.t.Helper()
	if got := e.pipe.got(); !slices.Equal(got, lines) {
		e.t.Fatalf("lines handed over:\n got %q\nwant %q", got, lines)
	}
}

func (e *tailEnv) savedOffset() int64 {
	e.t.Helper()
	o, err := e.st.TailOffset(context.Background(), e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	return o.Offset
}

func TestTailFollows(t *testing.T) {
	tests := []struct {
		name string
		run  func(e *tailEnv)
	}{
		{"first run starts after the last complete line", func(e *tailEnv) {
			e.write("app.log", "old 1\nold 2\npart")
			tl := e.start()
			e.steps(tl, 1)
			e.want()
			e.write("app.log", "ial\nnew\n")
			e.steps(tl, 1)
			e.want("partial", "new")
		}},
		{"a file created later is read from its start", func(e *tailEnv) {
			tl := e.start()
			e.steps(tl, 1)
			e.write("app.log", "one\ntwo\n")
			e.steps(tl, 1)
			e.want("one", "two")
		}},
		{"restart resumes at the saved offset, partial line included", func(e *tailEnv) {
			tl := e.start()
			e.write("app.log", "a\nb\r\npar")
			e.steps(tl, 2)
			e.want("a", "b")
			if off := e.savedOffset(); off != int64(len("a\nb\r\n")) {
				t.Fatalf("saved offset %d, want the end of the last complete line", off)
			}
			tl.close() // Vigil stops
			e.write("app.log", "tial\nc\n")
			tl = e.start()
			e.steps(tl, 2)
			e.want("a", "b", "partial", "c")
			tl.close()
			tl = e.start() // and again, with nothing new
			e.steps(tl, 2)
			e.want("a", "b", "partial", "c")
		}},
		{"rotation: rename and a new file", func(e *tailEnv) {
			tl := e.start()
			e.write("app.log", "1\n2\n")
			e.steps(tl, 1)
			e.rename("app.log", "app.log.1")
			e.write("app.log.1", "3\nlast without newline") // the writer has not reopened yet
			e.write("app.log", "4\n5")
			e.steps(tl, 3)
			e.want("1", "2", "3", "last without newline", "4")
			e.write("app.log", "\n")
			e.steps(tl, 1)
			e.want("1", "2", "3", "last without newline", "4", "5")
		}},
		{"rotation while stopped", func(e *tailEnv) {
			tl := e.start()
			e.write("app.log", "1\n2\n")
			e.steps(tl, 1)
			tl.close()
			e.write("app.log", "3\n")
			e.rename("app.log", "app.log.1")
			e.write("app.log", "4\n")
			tl = e.start()
			e.steps(tl, 3)
			e.want("1", "2", "3", "4")
		}},
		{"rotated away and gone while stopped", func(e *tailEnv) {
			tl := e.start()
			e.write("app.log", "1\n")
			e.steps(tl, 1)
			tl.close()
			e.rename("app.log", "app.log.1")
			if err := os.Remove(filepath.Join(e.dir, "app.log.1")); err != nil {
				t.Fatal(err)
			}
			e.write("app.log", "2\n")
			tl = e.start()
			e.steps(tl, 2)
			e.want("1", "2")
		}},
		{"copytruncate to a shorter file", func(e *tailEnv) {
			tl := e.start()
			e.write("app.log", "aaa\nbbb\npartial")
			e.steps(tl, 1)
			e.truncate()
			e.write("app.log", "c\n")
			e.steps(tl, 2)
			e.want("aaa", "bbb", "partial", "c")
		}},
		{"copytruncate, then more written than was read", func(e *tailEnv) {
			tl := e.start()
			e.write("app.log", "first\n")
			e.steps(tl, 1)
			e.truncate()
			e.write("app.log", "second, a longer line\nthird\n")
			e.steps(tl, 2)
			e.want("first", "second, a longer line", "third")
		}},
		{"truncated while stopped", func(e *tailEnv) {
			tl := e.start()
			e.write("app.log", "first\nsecond\n")
			e.steps(tl, 1)
			tl.close()
			e.truncate()
			e.write("app.log", "third line, longer than both\n")
			tl = e.start()
			e.steps(tl, 1)
			e.want("first", "second", "third line, longer than both")
		}},
		{"offset held until the events are stored", func(e *tailEnv) {
			tl := e.start()
			e.pipe.failFlushes = 3
			e.write("app.log", "x\ny\n")
			e.steps(tl, 1)
			e.want("x", "y")
			if off := e.savedOffset(); off != 4 {
				t.Fatalf("saved offset %d, want 4 once stored", off)
			}
		}},
		{"an overlong line is handed over in pieces", func(e *tailEnv) {
			tl := e.start()
			tl.MaxLine = 10
			e.write("app.log", strings.Repeat("x", 25)+"\nok\n")
			e.steps(tl, 1)
			e.want("xxxxxxxxxx", "xxxxxxxxxx", "xxxxx", "ok")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(newTailEnv(t))
		})
	}
}

func TestTailRun(t *testing.T) {
	e := newTailEnv(t)
	stream, _ := signals.NewStream(map[string]string{"source": "app"})
	parser, _ := signals.NewLineParser("")
	tl := &Tail{Path: e.path, Stream: stream, Parser: parser, Pipeline: e.pipe, Offsets: e.st, Poll: 5 * time.Millisecond, Logger: discard}
	e.write("app.log", "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	// A first run starts at the end of the file: write once it has.
	deadline := time.Now().Add(10 * time.Second)
	for _, err := e.st.TailOffset(ctx, e.path); err != nil; _, err = e.st.TailOffset(ctx, e.path) {
		if time.Now().After(deadline) {
			t.Fatalf("the tail did not start: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.write("app.log", "hello\n")
	for len(e.pipe.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.want("hello")
}
