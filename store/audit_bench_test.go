package store

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilops/vigil/audit"
)

// BenchmarkAuditAppend measures durable appends (WAL, synchronous=FULL, each
// acknowledged only once committed) by one appender and by many concurrent ones,
// with and without a signed checkpoint per commit. ns/op is per record.
func BenchmarkAuditAppend(b *testing.B) {
	for _, signed := range []bool{false, true} {
		for _, appenders := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("signed=%v/appenders=%d", signed, appenders), func(b *testing.B) {
				s, err := Open(filepath.Join(b.TempDir(), "vigil.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				ctx := context.Background()
				if signed {
					if _, err := s.EnableSigning(ctx, newKey(b)); err != nil {
						b.Fatal(err)
					}
				}
				details := map[string]any{"proposal": "P1", "runbook": "clean-temp-files", "plan": []string{"step: rm -f /tmp/x.tmp"}, "comment": "go"}
				var n atomic.Int64
				appendOne := func() {
					i := n.Add(1)
					_, err := s.AppendAudit(ctx, audit.Entry{Key: fmt.Sprint(i), Incident: "inc", At: time.Now(), Actor: "user:alice", Action: "decision.approve", Details: details})
					if err != nil {
						b.Error(err)
					}
				}
				if appenders == 1 {
					for b.Loop() {
						appendOne()
					}
					return
				}
				b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0))) // appenders goroutines in all
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						appendOne()
					}
				})
			})
		}
	}
}
