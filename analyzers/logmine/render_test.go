package logmine

import "testing"

func TestMinerDisplay(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string // the display of the first line's template
	}{
		{"address and port keep their colon", []string{
			"Received connection request /10.10.34.11:53230", "Received connection request /10.10.34.12:3888",
		}, "Received connection request /<*>:<*>"},
		{"hex ids are one variable, names with a counter keep the name", []string{
			"[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] caused by dcbf.........0",
		}, "[instance: <*>] caused by dcbf.........<*>"},
		{"a run of values has one wildcard per token", []string{
			"BLOCK* NameSystem.allocateBlock: /user/root/part-00347. blk_-8426741581316629266",
		}, "BLOCK* NameSystem.allocateBlock: <*> blk_<*>"},
		{"units stay", []string{
			"[instance: faf974ea-cba5-4e1b-93f4-3a3bc606006f] Total memory: 64172 MB, used: 512.00 MB",
		}, "[instance: <*>] Total memory: <*> MB, used: <*> MB"},
		{"annotations are written out", []string{
			"close, 1190 bytes (1.16 KB) sent", "close, 850 bytes sent",
		}, "close, <*> bytes (<*> KB) sent"},
		{"keys and prefixes stay", []string{
			"generating core.6161 for node-12 rhost=1.2.3.4 #5 at 90%",
		}, "generating core.<*> for node-<*> rhost=<*> #<*> at <*>%"},
		{"differing pieces are variables", []string{
			"session opened for user cyrus by (uid=0)", "session opened for user news by (uid=9)",
		}, "session opened for user <*> by (uid=<*>)"},
		{"shared ends of different shapes stay", []string{
			"Destroying surface Surface(name=PopupWindow:317e46) now",
			"Destroying surface Surface(name=com.x/com.x.Splash) now",
		}, "Destroying surface Surface(name=<*>) now"},
		{"values spanning tokens are one variable", []string{
			"connection from 218.38.58.3 () at Wed Jul 27 10:59:53 2005",
			`10.11.10.1 "GET /v2/54fadb/servers/detail HTTP/1.1" status: 200`,
			"Fan speeds ( 3534 3534 3375 **** 3497 3479 )",
		}, "connection from <*> (<*>) at <*>:<*>:<*>"},
		{"separators between values stay", []string{
			"getTodayTotalDetailSteps = 1514038440000##6993##548365##8661",
		}, "getTodayTotalDetailSteps = <*>##<*>##<*>##<*>"},
		{"hex addresses are one value, clocks are not", []string{
			"peer fe80::1ff:fe23:4567:890a mac aa:bb:cc:dd:ee:0f at 10:59:53",
		}, "peer <*> mac <*> at <*>:<*>:<*>"},
		{"quoted values and URLs", []string{
			`acquire tag="View Lock", url=hdfs://10.0.0.1:9000/logs/a.log`,
		}, `acquire tag="<*>", url=hdfs://<*>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ids := mine(Config{}, tt.lines...)
			if got, _ := m.Template(ids[0]); got.Text != tt.want {
				t.Errorf("display = %q, want %q (templates %v)", got.Text, tt.want, m.Templates())
			}
		})
	}
}

func TestJoinVariables(t *testing.T) {
	tests := []struct{ in, want string }{
		{"at <*> <*> <*> <*>:<*>:<*> <*>", "at <*>:<*>:<*>"},
		{`"GET <*> <*>" status: <*>`, `"GET <*>" status: <*>`},
		{"Fan speeds ( <*> <*> <*> **** <*> <*> )", "Fan speeds ( <*> <*> <*> **** <*> <*> )"},
		{"allocateBlock: <*> blk_<*>", "allocateBlock: <*> blk_<*>"},
		{"<*>", "<*>"},
		{"onExtend:<*> <*> <*> <*>", "onExtend:<*> <*> <*> <*>"},
	}
	for _, tt := range tests {
		if got := joinVariables(tt.in); got != tt.want {
			t.Errorf("joinVariables(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
