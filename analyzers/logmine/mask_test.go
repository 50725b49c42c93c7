package logmine

import (
	"strings"
	"testing"
)

// kindLetters renders token kinds one letter each: c const, w word,
// p partial, * wildcard.
func kindLetters(toks []span) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteByte("cwp*d"[t.kind])
	}
	return b.String()
}

func TestScanMasks(t *testing.T) {
	tests := []struct {
		name, in, want, kinds string
	}{
		{"numbers and ids", "PacketResponder 1 for block blk_-38865049064139660 terminating",
			"PacketResponder <*> for block blk_<*> terminating", "w*wwpw"},
		{"sign does not change the prefix", "blk_123 blk_-123", "blk_<*> blk_<*>", "pp"},
		{"ipv4 with port and path", "10.251.73.220:50010 is added from /10.251.73.220",
			"<*> is added from <*>", "*www*"},
		{"ipv6", "peer fe80::1ff:fe23:4567:890a and ::1 and 2001:db8::1",
			"peer <*> and <*> and <*>", "w*w*w*"},
		{"uuid hex and digit-free hex", "instance b9000564-fe1a-409b-b8cc-1e88b294cd1d at 0x7fed806eb5d deadbeefcafe",
			"instance <*> at <*>", "w*w*"},
		{"urls and paths collapse", `fetch https://example.com/a?x=1 C:\Windows\x.dll ./run.sh ~/x /var/log/messages a/b/c done`,
			"fetch <*> done", "w*w"},
		{"durations and sizes", "took 30ms 1.5s size 64MB estimated size 384.0 B, free 1.2 KB",
			"took <*> size <*> estimated size <*>, free <*>", "w*w*wwpw*"},
		{"key values", `user=root uid=0 tag="View Lock", name=com.android.systemui ws=null ret:false`,
			`user=root uid=<*> tag="<*>", name=com.android.systemui ws=null ret:false`, "wppcww"},
		{"empty and list values", "rhost= tty=:0 ready=true,policy=3,wakefulness=1",
			"rhost= tty=:<*> ready=true,policy=<*>,wakefulness=<*>", "cpp"},
		{"timestamp with names", "connection from 1.2.3.4 () at Tue Jul 26 05:47:42 2005",
			"connection from <*> at <*>", "ww*w*"},
		{"annotations join their value", "close, 1190 bytes (1.16 KB) sent, 850 bytes sent, from 10.0.0.1 (host7.example.net) at",
			"close, <*> sent, <*> sent, from <*> at", "w*w*ww*w"},
		{"bracketed words and keys are not annotations", "0x1f - 0x2f (reserved) 12 (uid=0) 3 [preauth]",
			"<*> - <*> (reserved) <*> (uid=<*>) <*> [preauth]", "*c*w*p*w"},
		{"values after a comparison sign", "lifetime <1 sec, lifetime 00:02", "lifetime <*>, lifetime <*>", "wpw*"},
		{"names without a value are words", "May not be Jul", "May not be Jul", "wwww"},
		{"identifiers", "eth0 ssh2 alt0 storage234 node-246 jk2_init() core.2275 v6.1.7601",
			"eth0 ssh2 alt0 storage<*> node-<*> jk2_init() core.<*> v<*>", "wwwppcpp"},
		{"wrapped value", "session opened for user cyrus by (uid=0)",
			"session opened for user cyrus by (uid=<*>)", "wwwwwwp"},
		{"runs of numbers collapse", "Fan speeds ( 3552 3534 3375 **** 3515 3479 )",
			"Fan speeds ( <*> **** <*> )", "wwc*c*c"},
		{"quoted request line keeps its verb", `"GET /v2/54fadb412c/servers/detail HTTP/1.1" status: 200`,
			`"GET <*> HTTP/<*>" status: <*>`, "w*pw*"},
		{"dotted counters", "program interrupt: privileged instruction...0",
			"program interrupt: privileged instruction...<*>", "wwwp"},
		{"other scripts", "日本語 テキスト 123", "日本語 テキスト <*>", "ww*"},
		{"whitespace only", " \t\r\n", "", ""},
		{"tabs and CR", "a\tb  c\r", "a b c", "www"},
	}
	var s scanner
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.scan(tt.in)
			if got := string(s.key); got != tt.want {
				t.Errorf("scan(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := kindLetters(s.toks); got != tt.kinds {
				t.Errorf("scan(%q) kinds = %s, want %s", tt.in, got, tt.kinds)
			}
			for i, tok := range s.toks {
				if got, want := string(s.key[tok.off:tok.end]), strings.Fields(tt.want)[i]; got != want {
					t.Errorf("token %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestScanBoundsTokens(t *testing.T) {
	var s scanner
	s.scan(strings.Repeat("word ", 2*maxLineTokens))
	if len(s.toks) != maxLineTokens {
		t.Fatalf("tokens = %d, want %d", len(s.toks), maxLineTokens)
	}
	if last := s.toks[len(s.toks)-1]; last.kind != kindWild {
		t.Errorf("last token kind = %d, want wildcard", last.kind)
	}
}

func TestScanAllocatesNothing(t *testing.T) {
	var s scanner
	line := `acquire lock=233570404, flags=0x1, tag="View Lock", name=com.android.systemui at Tue Jul 26 05:47:42 2005`
	s.scan(line)
	if n := testing.AllocsPerRun(100, func() { s.scan(line) }); n != 0 {
		t.Errorf("scan allocates %v times per line, want 0", n)
	}
}

// The fast path for words must mask exactly as the general one does.
func TestMaskWordMatchesMaskToken(t *testing.T) {
	for _, prev := range []string{"", "12", "(1.5", "x"} {
		for _, w := range []string{"Receiving", "deadbeefcafe", "DEADBEEF", "DeadBeefCafe", "Jul", "KB", "bytes", "日本語", "a"} {
			var fast, slow scanner
			for _, s := range []*scanner{&fast, &slow} {
				s.scan(prev)
				s.rawOff, s.rawEnd = int32(len(prev)+1), int32(len(prev)+1+len(w))
			}
			fast.maskWord(w)
			slow.maskToken(w)
			if string(fast.key) != string(slow.key) || kindLetters(fast.toks) != kindLetters(slow.toks) || fast.dates != slow.dates {
				t.Errorf("after %q, %q: maskWord gives %q %s, maskToken %q %s", prev, w,
					fast.key, kindLetters(fast.toks), slow.key, kindLetters(slow.toks))
			}
		}
	}
}
