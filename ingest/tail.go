package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vigilops/vigil/signals"
	"github.com/vigilops/vigil/store"
)

// OffsetStore keeps how far each tailed file was read: store.Store.
type OffsetStore interface {
	TailOffset(ctx context.Context, path string) (store.TailOffset, error)
	SaveTailOffset(ctx context.Context, o store.TailOffset, now time.Time) error
}

// Tail follows one log file, like tail -F, and feeds its lines to a log
// pipeline.
//
//   - Restart: after each batch of lines is applied and its events are
//     stored, the offset of the end of the last complete line is saved with
//     the file's device, inode and a hash of its first KiB. A restart resumes
//     there, in the same file even if it was renamed meanwhile (it is found in
//     the same directory by device and inode), so no line is read twice or
//     skipped. A crash after a batch's events were stored and before its
//     offset was saved re-reads that batch.
//   - Partial lines: bytes after the last newline wait for the rest of their
//     line; they are part of no saved offset, so a restart reads them again
//     whole. They are handed over on their own only when the file is rotated
//     away or truncated, or when they exceed MaxLine.
//   - Rotation (rename, then a new file at Path): the old file is read to its
//     end, and once it has not grown for RotateGrace, Tail moves to the new
//     file from its start.
//   - Truncation (copytruncate): when the file is shorter than what was read,
//     or its first bytes changed, Tail starts over from its start.
//   - First run: with no saved offset, Tail starts at the end of the last
//     complete line of an existing file (old lines are history, not news); a
//     file created later is read from its start.
type Tail struct {
	Path     string
	Stream   signals.Stream
	Parser   *signals.LineParser
	Pipeline LogPipeline
	Offsets  OffsetStore
	// Poll is how often the file is checked; default 250ms.
	Poll time.Duration
	// RotateGrace is how long a rotated file must stay unchanged before Tail
	// moves to the new file, for writers that reopen their log a little late.
	RotateGrace time.Duration
	// MaxLine caps a line; a longer one is handed over in pieces. Default
	// 1 MiB.
	MaxLine int
	Now     func() time.Time
	Logger  *slog.Logger

	f         *os.File
	id        fileID
	name      string // the name f was opened by: Path, or a rotated name found at start
	off       int64  // bytes of f read so far
	partial   []byte // read bytes after the last newline
	prefix    prefix
	rotated   bool      // f is no longer at Path
	lastGrown time.Time // when f last yielded data
	buf       []byte
}

type fileID struct{ dev, ino uint64 }

// prefix identifies a file's content by the hash of its first n bytes.
type prefix struct {
	n    int64
	hash string
}

const (
	prefixBytes = 1024    // bytes of a file's start that identify it
	batchBytes  = 1 << 20 // bytes read before a batch is handed over
)

// Run follows the file until ctx is done.
func (t *Tail) Run(ctx context.Context) error {
	if err := t.start(ctx); err != nil {
		return err
	}
	defer t.close()
	tick := time.NewTicker(t.Poll)
	defer tick.Stop()
	for {
		if err := t.step(ctx); err != nil && ctx.Err() == nil {
			t.Logger.Warn("tail: will retry", "path", t.Path, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// start opens the file where the saved offset says, or at the end on a
// first run.
func (t *Tail) start(ctx context.Context) error {
	if t.Poll <= 0 {
		t.Poll = 250 * time.Millisecond
	}
	if t.MaxLine <= 0 {
		t.MaxLine = 1 << 20
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	t.buf = make([]byte, 64<<10)
	saved, err := t.Offsets.TailOffset(ctx, t.Path)
	if errors.Is(err, store.ErrNotFound) {
		return t.startFresh(ctx)
	}
	if err != nil {
		return fmt.Errorf("tail %s: %w", t.Path, err)
	}
	name, fi := t.findFile(fileID{saved.Dev, saved.Inode})
	if name == "" {
		t.Logger.Warn("tail: the file read last is gone (rotated elsewhere or deleted); lines written to it after the saved offset are lost", "path", t.Path, "offset", saved.Offset)
		return t.openAt(ctx, t.Path, 0, true)
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("tail %s: %w", name, err)
	}
	p := prefix{n: saved.PrefixLen, hash: saved.PrefixHash}
	if fi.Size() < saved.Offset || !p.matches(f) {
		f.Close()
		t.Logger.Warn("tail: the file was truncated or replaced while Vigil was stopped; reading it from the start", "path", name)
		return t.openAt(ctx, t.Path, 0, true)
	}
	t.use(f, name, fi, saved.Offset, p)
	t.rotated = name != t.Path
	t.Logger.Info("tail: resuming", "path", t.Path, "file", name, "offset", saved.Offset)
	return nil
}

// startFresh starts at the end of the last complete line of the file, if
// there is one.
func (t *Tail) startFresh(ctx context.Context) error {
	f, err := os.Open(t.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // read from its start once it appears
	}
	if err != nil {
		return fmt.Errorf("tail %s: %w", t.Path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("tail %s: %w", t.Path, err)
	}
	end, err := lastLineEnd(f, fi.Size())
	if err != nil {
		f.Close()
		return fmt.Errorf("tail %s: %w", t.Path, err)
	}
	t.use(f, t.Path, fi, end, prefix{})
	t.Logger.Info("tail: first run; following new lines from the end of the file", "path", t.Path, "offset", end)
	return t.save(ctx)
}

// findFile looks for the file with id at Path, then among the other files of
// Path's directory (where rotation renames it).
func (t *Tail) findFile(id fileID) (string, os.FileInfo) {
	if fi, err := os.Stat(t.Path); err == nil && idOf(fi) == id {
		return t.Path, fi
	}
	dir := filepath.Dir(t.Path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil
	}
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() && idOf(fi) == id {
			return name, fi
		}
	}
	return "", nil
}

// openAt opens name at off, if it exists, and saves that position.
func (t *Tail) openAt(ctx context.Context, name string, off int64, save bool) error {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tail %s: %w", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("tail %s: %w", name, err)
	}
	t.use(f, name, fi, off, prefix{})
	if !save {
		return nil
	}
	return t.save(ctx)
}

func (t *Tail) use(f *os.File, name string, fi os.FileInfo, off int64, p prefix) {
	t.f, t.name, t.id, t.off, t.partial, t.prefix, t.rotated = f, name, idOf(fi), off, nil, p, false
	t.lastGrown = t.Now()
}

func (t *Tail) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// step checks that the file was not truncated, reads what is new, hands it
// over, and then looks for rotation.
func (t *Tail) step(ctx context.Context) error {
	if t.f == nil {
		if err := t.openAt(ctx, t.Path, 0, true); err != nil || t.f == nil {
			return err
		}
	}
	if err := t.checkTruncated(ctx); err != nil {
		return err
	}
	for {
		lines, eof, err := t.read()
		if err != nil {
			return err
		}
		if len(lines) > 0 {
			if err := t.deliver(ctx, lines); err != nil {
				return err
			}
			if err := t.save(ctx); err != nil {
				return err
			}
		}
		if eof {
			break
		}
	}
	return t.checkRotated(ctx)
}

// read reads up to batchBytes and returns the complete lines in them.
func (t *Tail) read() (lines []string, eof bool, err error) {
	for read := 0; read < batchBytes; {
		n, err := t.f.ReadAt(t.buf, t.off)
		if n > 0 {
			t.off += int64(n)
			read += n
			t.lastGrown = t.Now()
			lines = t.split(lines, t.buf[:n])
		}
		if errors.Is(err, io.EOF) || n < len(t.buf) {
			return lines, true, nil
		}
		if err != nil {
			return lines, false, fmt.Errorf("tail %s: read: %w", t.name, err)
		}
	}
	return lines, false, nil
}

// split appends the lines that data completes, in pieces of at most MaxLine
// bytes, keeping the rest as partial.
func (t *Tail) split(lines []string, data []byte) []string {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			t.partial = append(t.partial, data...)
			for len(t.partial) >= t.MaxLine {
				lines = append(lines, string(t.partial[:t.MaxLine]))
				t.partial = append(t.partial[:0], t.partial[t.MaxLine:]...)
			}
			return lines
		}
		line := data[:i]
		if len(t.partial) > 0 {
			line = append(t.partial, line...)
			t.partial = t.partial[:0]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		for len(line) > t.MaxLine {
			lines = append(lines, string(line[:t.MaxLine]))
			line = line[t.MaxLine:]
		}
		lines = append(lines, string(line))
		data = data[i+1:]
	}
	return lines
}

// deliver applies lines and waits until their events are stored.
func (t *Tail) deliver(ctx context.Context, raw []string) error {
	lines := make([]signals.LogLine, len(raw))
	for i, l := range raw {
		msg, level := t.Parser.Parse(l)
		lines[i] = signals.LogLine{Stream: t.Stream, Level: level, Message: msg, Raw: l}
	}
	backoff := t.Poll
	for {
		_, err := t.Pipeline.Observe(lines, t.Now())
		if err == nil {
			break
		}
		if !errors.Is(err, signals.ErrBacklog) {
			return fmt.Errorf("tail %s: %w", t.name, err)
		}
		if err := t.flush(ctx, &backoff); err != nil {
			return err
		}
	}
	return t.flush(ctx, &backoff)
}

// flush retries until the pipeline's events are stored or ctx is done.
func (t *Tail) flush(ctx context.Context, backoff *time.Duration) error {
	for {
		_, err := t.Pipeline.Flush(ctx, t.Now())
		if err == nil {
			return nil
		}
		t.Logger.Warn("tail: events wait for the store; holding the offset", "path", t.Path, "retry_in", *backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*backoff):
		}
		*backoff = min(2**backoff, 30*time.Second)
	}
}

// save records the offset of the end of the last complete line.
func (t *Tail) save(ctx context.Context) error {
	committed := t.off - int64(len(t.partial))
	if t.prefix.n < min(prefixBytes, committed) {
		p, err := prefixOf(t.f, min(prefixBytes, committed))
		if err != nil {
			return fmt.Errorf("tail %s: %w", t.name, err)
		}
		t.prefix = p
	}
	o := store.TailOffset{Path: t.Path, Dev: t.id.dev, Inode: t.id.ino, Offset: committed, PrefixLen: t.prefix.n, PrefixHash: t.prefix.hash}
	if err := t.Offsets.SaveTailOffset(ctx, o, t.Now()); err != nil {
		return fmt.Errorf("tail %s: %w", t.Path, err)
	}
	return nil
}

// checkTruncated starts over from the start of a file that is shorter than
// what was read, or whose first bytes changed (copytruncate, then writes).
func (t *Tail) checkTruncated(ctx context.Context) error {
	if t.rotated {
		return nil // a rotated file is only read to its end
	}
	fi, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("tail %s: %w", t.name, err)
	}
	if fi.Size() >= t.off && t.prefix.matches(t.f) {
		return nil
	}
	if err := t.finishPartial(ctx); err != nil {
		return err
	}
	t.Logger.Info("tail: file truncated; reading it from the start", "path", t.Path)
	t.off, t.prefix = 0, prefix{}
	return t.save(ctx)
}

// checkRotated notices, after reading to the end, that Path names another
// file now, and moves to it once the old one has stopped growing.
func (t *Tail) checkRotated(ctx context.Context) error {
	cur, err := os.Stat(t.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // rotated away, and no new file yet; the old one may still grow
	case err != nil:
		return fmt.Errorf("tail %s: %w", t.Path, err)
	case idOf(cur) != t.id:
		t.rotated = true
	}
	if !t.rotated || t.Now().Sub(t.lastGrown) < t.RotateGrace {
		return nil
	}
	if err := t.finishPartial(ctx); err != nil {
		return err
	}
	t.Logger.Info("tail: file rotated; following the new one", "path", t.Path, "finished", t.name)
	t.close()
	return t.openAt(ctx, t.Path, 0, true)
}

// finishPartial hands over the bytes after the last newline as a line of
// their own: the file they were in will not grow any more.
func (t *Tail) finishPartial(ctx context.Context) error {
	if len(t.partial) == 0 {
		return nil
	}
	line := string(t.partial)
	t.partial = t.partial[:0]
	return t.deliver(ctx, []string{line})
}

func idOf(fi os.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}
}

func prefixOf(f *os.File, n int64) (prefix, error) {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		return prefix{}, fmt.Errorf("read the first %d bytes: %w", n, err)
	}
	sum := sha256.Sum256(b)
	return prefix{n: n, hash: hex.EncodeToString(sum[:])}, nil
}

// matches reports whether f still starts with the bytes p was taken from.
func (p prefix) matches(f *os.File) bool {
	if p.n == 0 {
		return true
	}
	got, err := prefixOf(f, p.n)
	return err == nil && got == p
}

// lastLineEnd returns the offset just after the last newline before size,
// or 0 when there is none.
func lastLineEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}
