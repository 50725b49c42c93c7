package runbooks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Source is where runbook files come from: a directory or a GitHub repository.
type Source interface {
	// Stamp is cheap to compute and changes whenever the files may have changed
	// (a directory's names, sizes and modification times; a branch's commit).
	Stamp(ctx context.Context) (string, error)
	// Files reads the files as of stamp. Revision is the revision of all of them
	// (a commit SHA), or empty when each file's content hash is its revision.
	Files(ctx context.Context, stamp string) (files []File, revision string, err error)
	// String names the source in logs.
	String() string
}

// Dir is a directory of runbooks: every *.yaml and *.yml file under it.
type Dir string

var _ Source = Dir("")

func (d Dir) String() string { return string(d) }

// paths lists the runbook files under the directory with their stat results.
func (d Dir) paths() ([]string, []fs.FileInfo, error) {
	var paths []string
	var infos []fs.FileInfo
	err := filepath.WalkDir(string(d), func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Hidden directories are skipped: .git, and the ..TIMESTAMP
		// directories behind a Kubernetes ConfigMap volume, whose files
		// appear again as symlinks at the top.
		if e.IsDir() && path != string(d) && strings.HasPrefix(e.Name(), ".") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		// The file's own size and time, through a symlink: a ConfigMap
		// update swaps what the links point at, not the links.
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		paths, infos = append(paths, path), append(infos, info)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("runbooks directory %s does not exist; pass the directory that holds your runbook YAML files (--runbooks DIR, or runbooks.dir in vigil.yaml)", d)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("runbooks: read %s: %w", d, err)
	}
	return paths, infos, nil
}

// Stamp hashes the files' names, sizes and modification times.
func (d Dir) Stamp(context.Context) (string, error) {
	paths, infos, err := d.paths()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for i, p := range paths {
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", p, infos[i].Size(), infos[i].ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Files reads every runbook file; revisions are per-file content hashes.
func (d Dir) Files(context.Context, string) ([]File, string, error) {
	files, err := d.read()
	return files, "", err
}

func (d Dir) read() ([]File, error) {
	paths, _, err := d.paths()
	if err != nil {
		return nil, err
	}
	var files []File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("runbooks: %w", err)
		}
		files = append(files, File{Name: p, Data: data})
	}
	return files, nil
}

// Reloader keeps a Holder's library in step with a Source. When the source
// changes it loads every file again; a runbook whose new version has problems
// keeps its last good version in force, and the problems are logged. A source that
// cannot be read leaves the library as it is.
type Reloader struct {
	Source    Source
	Directory Directory
	Holder    *Holder
	// Interval between checks of the source (Run).
	Interval time.Duration
	Logger   *slog.Logger

	stamp string
	good  map[string]*Runbook // by file path in the source: the version in force
}

// Poll checks the source once and reloads it if it changed. It returns the
// problems of the reload (none when nothing changed) and an error when the source
// could not be read.
func (r *Reloader) Poll(ctx context.Context) (Problems, error) {
	stamp, err := r.Source.Stamp(ctx)
	if err != nil {
		return nil, err
	}
	if stamp == r.stamp {
		return nil, nil
	}
	files, rev, err := r.Source.Files(ctx, stamp)
	if err != nil {
		return nil, err
	}
	lib, ps := Load(files, rev, r.Directory)
	path := map[string]string{} // file name -> its stable path in the source
	for _, f := range files {
		path[f.Name] = f.path()
	}
	fresh := map[string]*Runbook{}
	ids := map[string]bool{}
	for _, rb := range lib.Runbooks {
		fresh[path[rb.File]], ids[rb.ID] = rb, true
	}
	bad := map[string]bool{}
	for _, p := range ps {
		bad[path[p.File]] = true
		r.logger().Error("runbook problem", "source", r.Source.String(), "problem", p.String())
	}
	for _, f := range slices.Sorted(maps.Keys(bad)) {
		old := r.good[f]
		if old == nil || ids[old.ID] {
			continue
		}
		fresh[f], ids[old.ID] = old, true
		lib.Runbooks = append(lib.Runbooks, old)
		r.logger().Warn("runbook edit has problems; the last good version stays in force", "runbook", old.ID, "file", old.File, "revision", old.Revision)
	}
	slices.SortFunc(lib.Runbooks, func(a, b *Runbook) int { return cmp.Compare(a.ID, b.ID) })
	r.good, r.stamp = fresh, stamp
	r.Holder.Set(lib)
	r.logger().Info("runbooks loaded", "source", r.Source.String(), "count", len(lib.Runbooks), "problems", len(ps), "revision", rev)
	return ps, nil
}

// Run polls the source every Interval until ctx is done.
func (r *Reloader) Run(ctx context.Context) {
	t := time.NewTicker(cmp.Or(r.Interval, 2*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.Poll(ctx); err != nil && ctx.Err() == nil {
				r.logger().Warn("runbook source unavailable; the runbooks in force stay", "source", r.Source.String(), "err", err)
			}
		}
	}
}

func (r *Reloader) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}
