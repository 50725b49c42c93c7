package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigilops/vigil/audit"
)

// TestBackupWhileWriting copies a store that is being appended to; the copy is
// one consistent snapshot whose signed trail verifies.
func TestBackupWhileWriting(t *testing.T) {
	t.Run(string(SQLite), func(t *testing.T) {
		s, signer := signedStore(t)
		ctx := context.Background()
		stop := make(chan struct{})
		var written atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 100; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				appendTest(t, s, "inc-3", "alert.firing", i)
				written.Add(1)
			}
		})
		for written.Load() < 20 {
			appendTest(t, s, "inc-4", "alert.firing", int(written.Load())+10_000)
		}
		out := filepath.Join(t.TempDir(), "backup.db")
		err := s.Backup(ctx, out)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Backup(ctx, out); !errors.Is(err, fs.ErrExist) {
			t.Errorf("backup over an existing file = %v", err)
		}
		b, err := Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		v, err := b.VerifyAuditWith(ctx, audit.NewKeys(signer.PublicKey()), nil)
		if err != nil || v.Records < 25 {
			t.Fatalf("backup trail = %+v, %v", v, err)
		}
		if _, err := os.Stat(out + ".partial"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the partial copy was left behind: %v", err)
		}
	})
}

func TestRestore(t *testing.T) {
	t.Run(string(SQLite), func(t *testing.T) {
		ctx := context.Background()
		s, signer := signedStore(t)
		dir := t.TempDir()
		backup := filepath.Join(dir, "backup.db")
		if err := s.Backup(ctx, backup); err != nil {
			t.Fatal(err)
		}
		keys := audit.NewKeys(signer.PublicKey())
		target := filepath.Join(dir, "data", "vigil.db")
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			t.Fatal(err)
		}

		res, err := Restore(ctx, backup, target, keys, false)
		if err != nil || res.Verification.Records != 5 || res.Replaced != "" {
			t.Fatalf("restore into an empty dir = %+v, %v", res, err)
		}
		if _, err := Restore(ctx, backup, target, keys, false); !errors.Is(err, ErrStoreExists) {
			t.Errorf("restore over a store without replace = %v", err)
		}
		res, err = Restore(ctx, backup, target, keys, true)
		if err != nil || res.Replaced == "" {
			t.Fatalf("restore with replace = %+v, %v", res, err)
		}
		if _, err := os.Stat(res.Replaced); err != nil {
			t.Errorf("the replaced store was not kept: %v", err)
		}
		if _, err := Restore(ctx, backup, filepath.Join(dir, "other.db"), nil, false); err == nil || !strings.Contains(err.Error(), "no public key was given") {
			t.Errorf("restore of a signed trail without a key = %v", err)
		}

		mustExec(t, s, `UPDATE audit SET actor = 'user:mallory' WHERE seq = 2`)
		tampered := filepath.Join(dir, "tampered.db")
		if err := s.Backup(ctx, tampered); err != nil {
			t.Fatal(err)
		}
		fresh := filepath.Join(dir, "fresh.db")
		if _, err := Restore(ctx, tampered, fresh, keys, false); err == nil || !strings.Contains(err.Error(), "the backup was not restored: audit record 2: content does not match its hash") {
			t.Fatalf("restore of a tampered backup = %v", err)
		}
		if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a refused restore left a store behind: %v", err)
		}
	})
}

// TestBackupOnPostgres says what to use instead.
func TestBackupOnPostgres(t *testing.T) {
	t.Run(string(Postgres), func(t *testing.T) {
		s := openTest(t)
		err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "backup.db"))
		if !errors.Is(err, ErrBackupEngine) || !strings.Contains(err.Error(), "pg_dump") {
			t.Fatalf("backup of a PostgreSQL store = %v, want ErrBackupEngine naming pg_dump", err)
		}
	})
}
