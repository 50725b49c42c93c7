package logmine

import (
	"fmt"
	"slices"
	"testing"
)

// mine adds lines to a fresh miner and returns it with the IDs it gave.
func mine(cfg Config, lines ...string) (*Miner, []TemplateID) {
	m := New(cfg)
	ids := make([]TemplateID, len(lines))
	for i, l := range lines {
		ids[i] = m.Add(l).TemplateID
	}
	return m, ids
}

// groups returns, for each line, the index of the first line that shares
// its final template: lines i and j are grouped together iff the values
// are equal.
func groups(m *Miner, ids []TemplateID) []int {
	first := map[TemplateID]int{}
	out := make([]int, len(ids))
	for i, id := range ids {
		t, ok := m.Template(id)
		if !ok {
			out[i] = -1
			continue
		}
		if _, seen := first[t.ID]; !seen {
			first[t.ID] = i
		}
		out[i] = first[t.ID]
	}
	return out
}

func TestMinerGeneralisesInPlace(t *testing.T) {
	m := New(Config{})
	r1 := m.Add("Deleting file a.txt from disk")
	r2 := m.Add("Deleting file b.txt from disk")
	r3 := m.Add("Deleting file a.txt from disk")
	if !r1.New || r2.New || r3.New {
		t.Errorf("New = %v %v %v, want true false false", r1.New, r2.New, r3.New)
	}
	if r1.TemplateID != r2.TemplateID || r2.TemplateID != r3.TemplateID {
		t.Fatalf("IDs %d %d %d, want one template", r1.TemplateID, r2.TemplateID, r3.TemplateID)
	}
	if r1.Template != "Deleting file a.txt from disk" {
		t.Errorf("first result template = %q", r1.Template)
	}
	want := Template{ID: r1.TemplateID, Text: "Deleting file <*> from disk", Count: 3}
	if got, ok := m.Template(r1.TemplateID); !ok || got != want {
		t.Errorf("Template(%d) = %+v, %v; want %+v", r1.TemplateID, got, ok, want)
	}
}

func TestMinerGrouping(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []int // see groups
	}{
		{"verbs tell events apart", []string{
			`10.1.1.1 "GET /v2/a1/servers HTTP/1.1" status: 200 len: 1893 time: 0.24`,
			`10.1.1.1 "POST /v2/a1/servers HTTP/1.1" status: 202 len: 733 time: 0.52`,
			`10.1.1.2 "GET /v2/b2/servers/detail HTTP/1.1" status: 200 len: 1583 time: 0.19`,
			`10.1.1.1 "DELETE /v2/a1/servers/9 HTTP/1.1" status: 204 len: 203 time: 0.21`,
		}, []int{0, 1, 0, 3}},
		{"states tell events apart", []string{
			"[instance: 1a] VM Started (Lifecycle Event)",
			"[instance: 1a] VM Paused (Lifecycle Event)",
			"[instance: 2b] VM Started (Lifecycle Event)",
			"[instance: 1a] VM Resumed (Lifecycle Event)",
		}, []int{0, 1, 0, 3}},
		{"key values with words", []string{
			"updateClipping isOverlap:false, getTopPadding=0.0", "updateClipping isOverlap:true, getTopPadding=0.0",
			"updateClipping isOverlap:false, getTopPadding=3.5",
		}, []int{0, 1, 0}},
		{"different keys", []string{
			"getRecentTasks: num=4,flags=0x1,totalTasks=7", "getRecentTasks: topActivity=ComponentInfo{com.x/.Main}",
			"getRecentTasks: num=2,flags=0x1,totalTasks=3",
		}, []int{0, 1, 0}},
		{"literal values generalise", []string{
			"Removable base files: /var/lib/nova/a", "Removable base files: /var/lib/nova/b b2",
			"Compute_service record updated for host.example.org", "Compute_service record updated for other.example.org",
		}, []int{0, 0, 2, 2}},
		{"too different to share", []string{
			"[instance: 1a] Terminating instance", "[instance: 1a] Claim successful",
		}, []int{0, 1}},
		{"units are part of values", []string{
			"Block rdd_1 stored as bytes in memory (estimated size 384.0 B, free 317.5 KB)",
			"Block rdd_2 stored as bytes in memory (estimated size 1.2 KB, free 316.3 KB)",
			"Block rdd_3 stored as values in memory (estimated size 1.2 KB, free 316.3 KB)",
		}, []int{0, 0, 2}},
		{"timestamps of any width", []string{
			"connection from 1.2.3.4 () at Tue Jul 26 05:47:42 2005",
			"connection from 5.6.7.8 () at Fri Jul  1 07:57:30 2005",
		}, []int{0, 0}},
		{"optional annotations and units", []string{
			"app.exe - proxy.example.org:5070 close, 1190 bytes (1.16 KB) sent, 1671 bytes (1.63 KB) received, lifetime 00:02",
			"app.exe - proxy.example.org:5070 close, 850 bytes sent, 3120 bytes (3.04 KB) received, lifetime <1 sec",
			"other.exe - proxy.example.org:5070 close, 403 bytes sent, 426 bytes received, lifetime <1 sec",
			"connection from 1.2.3.4 (host7.example.net) at Tue Jul 26 05:47:42 2005",
			"connection from 1.2.3.5 () at Tue Jul 26 05:47:43 2005",
		}, []int{0, 0, 0, 3, 3}},
		{"enumerated constants tell events apart", []string{
			"onReceive action: android.intent.action.SCREEN_ON", "onReceive action: android.intent.action.SCREEN_OFF",
			"onReceive action: android.intent.action.SCREEN_ON",
		}, []int{0, 1, 0}},
		{"bracketed words are not annotations", []string{
			"BIOS-e820: 0000000000100000 - 0000000007eae000 (usable)",
			"BIOS-e820: 00000000ffb00000 - 0000000100000000 (reserved)",
		}, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ids := mine(Config{}, tt.lines...)
			if got := groups(m, ids); !slices.Equal(got, tt.want) {
				t.Errorf("groups = %v, want %v; templates %v", got, tt.want, m.Templates())
			}
		})
	}
}

func TestMinerWordVariety(t *testing.T) {
	plugins := func(names ...string) []string {
		var out []string
		for i, n := range names {
			out = append(out, fmt.Sprintf("Loaded plugin %s from 10.0.0.%d", n, i))
		}
		return out
	}
	users := func(names ...string) []string {
		var out []string
		for i, n := range names {
			out = append(out, fmt.Sprintf("session opened for user %s by (uid=%d)", n, i))
		}
		return out
	}
	transitions := []string{
		"attempt_1_0 TaskAttempt Transitioned from NEW to UNASSIGNED",
		"attempt_1_0 TaskAttempt Transitioned from UNASSIGNED to ASSIGNED",
		"attempt_1_0 TaskAttempt Transitioned from ASSIGNED to RUNNING",
		"attempt_1_0 TaskAttempt Transitioned from RUNNING to COMMIT_PENDING",
		"attempt_1_0 TaskAttempt Transitioned from COMMIT_PENDING to SUCCEEDED",
		"attempt_2_0 TaskAttempt Transitioned from NEW to UNASSIGNED",
	}
	tests := []struct {
		name      string
		lines     []string
		templates int
		want      string // text of the last line's template
	}{
		{"four names stay apart", plugins("admin", "oracle", "test", "guest"), 4, "Loaded plugin guest from <*>"},
		{"five names are a variable", plugins("admin", "oracle", "admin", "test", "guest", "ftp"), 1, "Loaded plugin <*> from <*>"},
		{"later names join", plugins("admin", "oracle", "test", "guest", "ftp", "www", "nagios"), 1, "Loaded plugin <*> from <*>"},
		{"two users are a variable", users("cyrus", "news", "cyrus"), 1, "session opened for user <*> by (uid=<*>)"},
		{"one user stays literal", users("news", "news"), 1, "session opened for user news by (uid=<*>)"},
		{"two variable positions", transitions, 1, "attempt_<*> TaskAttempt Transitioned from <*> to <*>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ids := mine(Config{}, tt.lines...)
			if got := len(m.Templates()); got != tt.templates {
				t.Errorf("templates = %d, want %d: %v", got, tt.templates, m.Templates())
			}
			last, _ := m.Template(ids[len(ids)-1])
			if last.Text != tt.want {
				t.Errorf("last template = %q, want %q", last.Text, tt.want)
			}
			// Every ID handed out still resolves, merged or not.
			var total int64
			seen := map[TemplateID]bool{}
			for _, id := range ids {
				tpl, ok := m.Template(id)
				if !ok {
					t.Fatalf("Template(%d) unknown after merge", id)
				}
				if !seen[tpl.ID] {
					seen[tpl.ID] = true
					total += tpl.Count
				}
			}
			if total != int64(len(tt.lines)) {
				t.Errorf("counts add up to %d, want %d", total, len(tt.lines))
			}
		})
	}
}

func TestMinerVariableLength(t *testing.T) {
	stack := "Destroying surface Surface(name=PopupWindow:9b04807) called by"
	tests := []struct {
		name  string
		lines []string
		want  []int
		text  string // final template of the first line
	}{
		{"stack traces", []string{
			stack + " a.b.c:12 d.e.f:13 g.h:14",
			stack + " a.b.c:12 d.e.f:13 g.h:14 i.j:15",
			stack + " a.b.c:12",
			stack + " x.y:1 z.w:2",
		}, []int{0, 0, 0, 0}, "Destroying surface Surface(name=PopupWindow:<*>) called by <*>"},
		{"block lists", []string{
			"BLOCK* ask 10.0.0.1:50010 to delete blk_1 blk_2",
			"BLOCK* ask 10.0.0.2:50010 to delete blk_3 blk_-4 blk_5 blk_6",
			"BLOCK* ask 10.0.0.2:50010 to delete blk_7",
		}, []int{0, 0, 0}, "BLOCK* ask <*>:<*> to delete <*>"},
		{"an optional value", []string{
			"app.exe *64 - proxy.example.org:5070 close, 850 bytes sent, 426 bytes received, lifetime 00:02",
			"app.exe - proxy.example.org:5070 close, 403 bytes sent, 426 bytes received, lifetime <1 sec",
			"app.exe *64 - proxy.example.org:5070 close, 40 bytes sent, 26 bytes received, lifetime 00:01",
			"app.exe - proxy.example.org:5070 open through proxy proxy.example.org:5070 HTTPS",
		}, []int{0, 0, 0, 3}, "app.exe <*> - proxy.example.org:<*> close, <*> bytes sent, <*> bytes received, lifetime <*>:<*>"},
		{"an optional value needs anchors", []string{
			"job 12 done", "job done",
		}, []int{0, 1}, "job <*> done"},
		{"a wildcard from words does not take an optional value's place", []string{
			"failure; tty=NODEVssh ruser= rhost=d1.example.org",
			"failure; tty=NODEVssh ruser= rhost=10.0.0.1",
			"failure; tty=NODEVssh ruser= rhost=10.0.0.2 user=guest",
		}, []int{0, 0, 2}, "failure; tty=NODEVssh ruser= rhost=<*>"},
		{"an empty run takes in the values next to it", []string{
			"BLOCK* ask 10.0.0.1:50010 to delete blk_1",
			"BLOCK* ask 10.0.0.2:50010 to delete blk_3 blk_-4 blk_5 blk_6",
			"BLOCK* ask 10.0.0.2:50010 to delete",
		}, []int{0, 0, 0}, "BLOCK* ask <*>:<*> to delete <*>"},
		{"words are not absorbed", []string{
			"Link error on broadcast tree Interconnect-0T00:00:2:1",
			"Link error",
			"Link error on tree 12",
		}, []int{0, 1, 2}, "Link error on broadcast tree Interconnect-<*>:<*>:<*>:<*>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ids := mine(Config{}, tt.lines...)
			if got := groups(m, ids); !slices.Equal(got, tt.want) {
				t.Errorf("groups = %v, want %v; templates %v", got, tt.want, m.Templates())
			}
			if got, _ := m.Template(ids[0]); got.Text != tt.text {
				t.Errorf("template = %q, want %q", got.Text, tt.text)
			}
		})
	}
}

func TestMinerEvictsLeastRecentlyMatched(t *testing.T) {
	m := New(Config{MaxTemplates: 2})
	a := m.Add("alpha started").TemplateID
	b := m.Add("beta started").TemplateID
	m.Add("alpha started")
	c := m.Add("gamma started").TemplateID
	if _, ok := m.Template(b); ok {
		t.Errorf("beta, least recently matched, was kept")
	}
	var ids []TemplateID
	for _, tpl := range m.Templates() {
		ids = append(ids, tpl.ID)
	}
	if !slices.Equal(ids, []TemplateID{a, c}) {
		t.Errorf("templates = %v, want %v", ids, []TemplateID{a, c})
	}
	// A returning line starts a new template with a new ID.
	if r := m.Add("beta started"); !r.New || r.TemplateID == b {
		t.Errorf("returning beta = %+v, want a new template", r)
	}
}

func TestMinerBoundsGroupsBranchesAndCache(t *testing.T) {
	m := New(Config{MaxGroupTemplates: 3, MaxFirstWords: 2, MaxCachedLines: 4})
	for i := range 20 {
		// Same first word and length, a different word each time.
		m.Add(fmt.Sprintf("state %s reached", string(rune('a'+i%10))+"x"))
		m.Add(fmt.Sprintf("w%c starting now", 'a'+i))
	}
	for word, node := range m.roots {
		for n, g := range node.byLen {
			if len(g.clusters) > 3 {
				t.Errorf("branch %q length %d holds %d templates, cap 3", word, n, len(g.clusters))
			}
		}
	}
	if len(m.roots) > 3 { // two words and the shared branch
		t.Errorf("branches = %d, want at most 3", len(m.roots))
	}
	if len(m.cache) > 4 {
		t.Errorf("cache = %d lines, cap 4", len(m.cache))
	}
	if m.live != len(m.Templates()) {
		t.Errorf("live = %d, Templates() = %d", m.live, len(m.Templates()))
	}
}

func TestMinerRows(t *testing.T) {
	m := New(Config{MaxTemplates: 2})
	var ids []TemplateID
	for _, l := range []string{"open file a.txt", "open file b.txt", "close file now", "open file c.txt", "flush file now"} {
		ids = append(ids, m.Add(l).TemplateID)
	}
	got := m.Rows(ids)
	want := []StructuredRow{
		{1, "E1", "open file <*>", false}, // the final template, not "open file a.txt"
		{2, "E1", "open file <*>", false},
		{3, "E2", "", false}, // evicted to make room for "flush"
		{4, "E1", "open file <*>", false},
		{5, "E3", "flush file now", false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Rows = %v, want %v", got, want)
	}
	if rec := got[0].Record(); !slices.Equal(rec, []string{"1", "E1", "open file <*>"}) {
		t.Errorf("Record = %q", rec)
	}
}

func TestMinerIsDeterministic(t *testing.T) {
	lines := typicalLines(3000)
	m1, ids1 := mine(Config{}, lines...)
	m2, ids2 := mine(Config{}, lines...)
	if !slices.Equal(ids1, ids2) || !slices.Equal(m1.Templates(), m2.Templates()) {
		t.Error("two runs over the same lines differ")
	}
}

func TestMinerRepeatedLinesDoNotAllocate(t *testing.T) {
	m := New(Config{})
	line := "Received block blk_38865049064139660 of size 67108864 from /10.251.73.220"
	m.Add(line)
	if n := testing.AllocsPerRun(100, func() { m.Add(line) }); n != 0 {
		t.Errorf("Add allocates %v times per repeated line, want 0", n)
	}
}

func TestStructurer(t *testing.T) {
	f, err := ParseFormat(`\[<Time>\] \[<Level>\] <Content>`)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStructurer(f, Config{})
	for _, l := range []string{
		"[t1] [notice] jk2_init() Found child 6725 in scoreboard slot 10\r",
		"continuation without a header",
		"[t2] [notice] jk2_init() Found child 6726 in scoreboard slot 8",
	} {
		s.Add(l)
	}
	want := []StructuredRow{
		{1, "E1", "jk2_init() Found child <*> in scoreboard slot <*>", false},
		{2, "E2", "continuation without a header", true},
		{3, "E1", "jk2_init() Found child <*> in scoreboard slot <*>", false},
	}
	if got := s.Rows(); !slices.Equal(got, want) {
		t.Errorf("Rows = %v, want %v", got, want)
	}
	if total, unmatched := s.Lines(); total != 3 || unmatched != 1 {
		t.Errorf("Lines = %d, %d; want 3, 1", total, unmatched)
	}
}
