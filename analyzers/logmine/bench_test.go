package logmine

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// typicalLines returns n synthetic log messages in the shapes seen in server
// logs: ids, addresses, durations, paths, key=value pairs and a few user
// names, generated from a fixed seed.
func typicalLines(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	shapes := []func() string{
		func() string {
			return fmt.Sprintf("Received block blk_%d of size %d from /10.%d.%d.%d", r.Int64(), r.IntN(1<<26), r.IntN(256), r.IntN(256), r.IntN(256))
		},
		func() string {
			return fmt.Sprintf("10.11.10.1 \"GET /v2/%x/servers/detail HTTP/1.1\" status: 200 len: %d time: 0.%07d", r.Uint64(), 1800+r.IntN(200), r.IntN(10000000))
		},
		func() string {
			return fmt.Sprintf("[instance: %08x-%04x-%04x-%04x-%012x] Took %d.%02d seconds to spawn the instance on the hypervisor.", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()&0xffffffffffff, r.IntN(60), r.IntN(100))
		},
		func() string {
			return fmt.Sprintf("session opened for user %s by (uid=%d)", users[r.IntN(len(users))], r.IntN(1000))
		},
		func() string {
			return fmt.Sprintf("Connection closed by %d.%d.%d.%d port %d [preauth]", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), 1024+r.IntN(60000))
		},
		func() string {
			return fmt.Sprintf("acquire lock=%d, flags=0x%x, tag=\"View Lock\", name=com.android.systemui, ws=null, uid=%d, pid=%d", r.IntN(1<<28), r.IntN(16), 10000+r.IntN(100), r.IntN(30000))
		},
		func() string {
			return fmt.Sprintf("Finished task %d.0 in stage %d.0 (TID %d). %d bytes result sent to driver", r.IntN(100), r.IntN(50), r.IntN(5000), 2000+r.IntN(1000))
		},
		func() string {
			return fmt.Sprintf("Expiring session 0x%x, timeout of %dms exceeded", r.Uint64(), 10000+r.IntN(20000))
		},
	}
	lines := make([]string, n)
	for i := range lines {
		lines[i] = shapes[r.IntN(len(shapes))]()
	}
	return lines
}

func BenchmarkAdd(b *testing.B) {
	lines := typicalLines(4096)
	m := New(DefaultConfig())
	for _, l := range lines {
		m.Add(l)
	}
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(lines[i%len(lines)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkFormatContent(b *testing.B) {
	f, err := ParseFormat("<Date> <Time> <Pid> <Level> <Component>: <Content>")
	if err != nil {
		b.Fatal(err)
	}
	line := "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating\r"
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := f.Content(line); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkFormatContentOptional measures a syslog format with an optional
// group.
func BenchmarkFormatContentOptional(b *testing.B) {
	f, err := ParseFormat(`<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>`)
	if err != nil {
		b.Fatal(err)
	}
	line := "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown"
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, ok := f.Content(line); !ok {
			b.Fatal("no match")
		}
	}
}
