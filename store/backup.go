package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
	"github.com/vigilops/vigil/audit"
)

// ErrStoreExists is returned by Restore when a store is already at the target
// and replacing it was not asked for.
var ErrStoreExists = errors.New("a store already exists there")

// ErrBackupEngine is returned by Backup on PostgreSQL, whose own tools do it.
var ErrBackupEngine = errors.New("vigil backup copies SQLite stores; back up a PostgreSQL store with pg_dump " +
	"(pg_dump --format=custom --file=vigil.dump DSN) and restore it with pg_restore (pg_restore --clean --if-exists --dbname=DSN vigil.dump)")

// Backup writes an online, consistent copy of the database to path, which must
// not exist. SQLite's backup API copies every page in one step, so the copy is one
// snapshot even while Vigil writes; in WAL mode writers carry on meanwhile. The
// copy is written beside path, synced and renamed into place, so path never holds
// a partial copy.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.db.engine != SQLite {
		return fmt.Errorf("store: backup to %s: %w", path, ErrBackupEngine)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup to %s: %w", path, fs.ErrExist)
	}
	tmp := path + ".partial"
	if err := removeDB(tmp); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := s.backupTo(ctx, tmp); err != nil {
		_ = removeDB(tmp)
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func (s *Store) backupTo(ctx context.Context, path string) error {
	dst, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		return err
	}
	defer dst.Close()
	dconn, err := dst.Conn(ctx)
	if err != nil {
		return err
	}
	defer dconn.Close()
	sconn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer sconn.Close()
	return dconn.Raw(func(d any) error {
		return sconn.Raw(func(src any) error {
			bk, err := d.(*sqlite3.SQLiteConn).Backup("main", src.(*sqlite3.SQLiteConn), "main")
			if err != nil {
				return fmt.Errorf("start: %w", err)
			}
			if _, err := bk.Step(-1); err != nil {
				_ = bk.Finish()
				return fmt.Errorf("copy: %w", err)
			}
			return bk.Finish()
		})
	})
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Verification audit.Verification // of the restored trail
	// Replaced is where the store that was at the target went (with its -wal and
	// -shm files); empty when there was none.
	Replaced string
}

// Restore puts the backup at from in place as the store at path. It refuses a
// backup that fails SQLite's integrity check or whose audit trail does not verify
// (signatures included: a signed trail needs keys). A store already at path is
// an error (ErrStoreExists) unless replace is set; it is then moved aside, not
// deleted. The caller must make sure no Vigil is using path.
func Restore(ctx context.Context, from, path string, keys audit.Keys, replace bool) (RestoreResult, error) {
	var res RestoreResult
	fail := func(err error) (RestoreResult, error) {
		return res, fmt.Errorf("store: restore %s to %s: %w", from, path, err)
	}
	if fi, err := os.Stat(from); err != nil {
		return fail(err)
	} else if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("%s is not a file", from))
	}
	_, err := os.Stat(path)
	exists := err == nil
	if exists && !replace {
		return fail(ErrStoreExists)
	}
	tmp := path + ".restoring"
	if err := removeDB(tmp); err != nil {
		return fail(err)
	}
	if err := copyFile(from, tmp); err != nil {
		return fail(err)
	}
	if res.Verification, err = checkBackup(ctx, tmp, keys); err != nil {
		_ = removeDB(tmp)
		return fail(fmt.Errorf("the backup was not restored: %w", err))
	}
	if exists {
		res.Replaced = path + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+suffix, res.Replaced+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fail(err)
			}
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fail(err)
	}
	return res, nil
}

// checkBackup opens a copy of a backup (applying any newer migrations) and checks
// its integrity and audit trail.
func checkBackup(ctx context.Context, path string, keys audit.Keys) (audit.Verification, error) {
	st, err := Open(path)
	if err != nil {
		return audit.Verification{}, err
	}
	defer st.Close()
	var check string
	if err := st.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		return audit.Verification{}, fmt.Errorf("integrity check: %w", err)
	}
	if check != "ok" {
		return audit.Verification{}, fmt.Errorf("integrity check: %s", check)
	}
	v, err := st.VerifyAuditWith(ctx, keys, nil)
	if err != nil {
		return v, err
	}
	if !v.Signed && v.Checkpoints > 0 {
		return v, fmt.Errorf("its audit trail is signed (%d checkpoint(s) by key %v) and no public key was given to check the signatures", v.Checkpoints, v.KeyIDs)
	}
	return v, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// removeDB removes a database file and its -wal and -shm files, if present.
func removeDB(path string) error {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
