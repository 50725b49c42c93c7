package logmine

import (
	"slices"
	"strings"
	"testing"
)

func TestParseFormatErrors(t *testing.T) {
	tests := []struct{ name, format, want string }{
		{"no field", "just text", "no <Field>"},
		{"bad name", "<Da te> <Content>", "field name"},
		{"duplicate", "<A> <A>", "appears twice"},
		{"bad regexp", `(<A> <Content>`, "missing closing )"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFormat(tt.format)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseFormat(%q) error = %v, want one containing %q", tt.format, err, tt.want)
			}
		})
	}
}

func TestFormatParse(t *testing.T) {
	tests := []struct {
		name, format, line string
		fast               bool // the hand-written matcher handles the format
		want               []string
		wantContent        string
	}{
		{"HDFS", "<Date> <Time> <Pid> <Level> <Component>: <Content>",
			"081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_1 terminating\r",
			true, []string{"081109", "203615", "148", "INFO", "dfs.DataNode$PacketResponder", "PacketResponder 1 for block blk_1 terminating"},
			"PacketResponder 1 for block blk_1 terminating"},
		{"escaped brackets", `<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>`,
			"2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200",
			true, []string{"2015-07-29", "17:41:44,747", "INFO", "QuorumPeer[myid=1]/0", "0:0:0:0:0:0:0:2181:FastLeaderElection", "774", "Notification time out: 3200"},
			"Notification time out: 3200"},
		{"runs of spaces", "<Date> <Time>, <Level>      <Component>    <Content>",
			"2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1",
			true, []string{"2016-09-28", "04:30:30", "Info", "CBS", "Loaded Servicing Stack v6.1"},
			"Loaded Servicing Stack v6.1"},
		{"optional group, present", `<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>`,
			"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown",
			true, []string{"Jun", "14", "15:16:01", "combo", "sshd(pam_unix)", "19939", "check pass; user unknown"},
			"check pass; user unknown"},
		{"optional group, absent", `<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>`,
			"Jun 14 15:16:01 combo kernel: Linux version 2.6.5",
			true, []string{"Jun", "14", "15:16:01", "combo", "kernel", "", "Linux version 2.6.5"},
			"Linux version 2.6.5"},
		{"line that does not match", `\[<Time>\] \[<Level>\] <Content>`,
			"a continuation line without a header",
			true, nil, "a continuation line without a header"},
		{"newline inside a field", "<Date> <Time> <Pid> <Level> <Component>: <Content>",
			"0 0 0 0 0\n: 0", true, []string{"0", "0", "0", "0 0", "", "0"}, "0"},
		{"no content field", "<Date> <Time>", "2020-01-01 10:00", true,
			[]string{"2020-01-01", "10:00"}, "2020-01-01 10:00"},
		{"other regexp syntax", `<Date> [0-9]+ <Content>`, "2020-01-01 42 started", false,
			[]string{"2020-01-01", "started"}, "started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFormat(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.atoms != nil; got != tt.fast {
				t.Errorf("hand-written matcher = %v, want %v", got, tt.fast)
			}
			got, ok := f.Parse(tt.line)
			if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
				t.Errorf("Parse = %q, %v; want %q", got, ok, tt.want)
			}
			content, ok := f.Content(tt.line)
			if content != tt.wantContent || ok != (tt.want != nil) {
				t.Errorf("Content = %q, %v; want %q, %v", content, ok, tt.wantContent, tt.want != nil)
			}
		})
	}
}

// TestFormatMatcherAgreesWithRegexp checks the hand-written matcher against
// the regexp it stands in for, on lines that make a lazy matcher backtrack.
func TestFormatMatcherAgreesWithRegexp(t *testing.T) {
	formats := []string{
		"<Date> <Time> <Pid> <Level> <Component>: <Content>",
		`\[<Time>\] \[<Level>\] <Content>`,
		"<A>:<B> <Content>",
		"<A> - <B> - <Content>",
		`<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>`,
		`<A>( <B>)? \[<C>\]( x\(<D>\))?(:<E>)? <Content>`,
	}
	lines := []string{
		"081109 203615 148 INFO dfs.DataNode: a: b: c",
		"a b c d e f g h i j k l",
		"a  b   c    d:  e",
		"x:y:z w",
		"1 - 2 - 3 - 4 - 5",
		"[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
		"[unterminated [error] text",
		"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass",
		"Jun 14 15:16:01 combo kernel: [1.2]: x",
		"Jun 14 15:16:01 combo a[1]b[2]: c[3]: d",
		"p q [r] x(s):t u",
		"p [r]:t u",
		"p [r] x(s) u",
		strings.Repeat("a ", 30) + "b:",
		"",
		"\t lead and trail \t",
	}
	for _, format := range formats {
		f, err := ParseFormat(format)
		if err != nil {
			t.Fatal(err)
		}
		if f.atoms == nil {
			t.Fatalf("%q: want the hand-written matcher", format)
		}
		for _, line := range lines {
			line = strings.TrimSpace(line)
			fast := make([]int, 2*len(f.fields))
			budget := 1 << 30
			r := matchAtoms(f.atoms, line, 0, fast, &budget)
			loc := f.re.FindStringSubmatchIndex(line)
			if (r == matchYes) != (loc != nil) {
				t.Errorf("%q on %q: hand-written %v, regexp match %v", format, line, r == matchYes, loc != nil)
				continue
			}
			if loc == nil {
				continue
			}
			var slow []int
			for _, g := range f.groups {
				slow = append(slow, loc[2*g], loc[2*g+1])
			}
			if !slices.Equal(fast, slow) {
				t.Errorf("%q on %q: hand-written %v, regexp %v", format, line, fast, slow)
			}
		}
	}
}

func TestFormatFallsBackWhenBacktrackingRunsLong(t *testing.T) {
	f, err := ParseFormat("<A> <B> <C> <D> <E>: <Content>")
	if err != nil {
		t.Fatal(err)
	}
	// Many spaces and no ": " make the matcher try every split.
	line := strings.Repeat("x ", 200)
	budget := 8*len(line) + 64
	bounds := make([]int, 2*len(f.fields))
	if r := matchAtoms(f.atoms, strings.TrimSpace(line), 0, bounds, &budget); r != matchGaveUp {
		t.Fatalf("matchAtoms = %v, want it to give up", r)
	}
	if _, ok := f.Parse(line); ok {
		t.Error("Parse matched a line without the ': ' separator")
	}
	if got, ok := f.Parse(line + "y: z"); !ok || got[5] != "z" {
		t.Errorf("Parse = %q, %v; want content %q", got, ok, "z")
	}
}

// TestLoghubFormatsTakeTheFastPath covers the header formats published with
// the Loghub benchmark, including systems whose data is not in this
// repository's reach.
func TestLoghubFormatsTakeTheFastPath(t *testing.T) {
	formats := map[string]string{
		"HDFS":        "<Date> <Time> <Pid> <Level> <Component>: <Content>",
		"Hadoop":      `<Date> <Time> <Level> \[<Process>\] <Component>: <Content>`,
		"Spark":       "<Date> <Time> <Level> <Component>: <Content>",
		"Zookeeper":   `<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>`,
		"BGL":         "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> <Content>",
		"HPC":         "<LogId> <Node> <Component> <State> <Time> <Flag> <Content>",
		"Thunderbird": `<Label> <Timestamp> <Date> <User> <Month> <Day> <Time> <Location> <Component>(\[<PID>\])?: <Content>`,
		"Windows":     "<Date> <Time>, <Level>                  <Component>    <Content>",
		"Linux":       `<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>`,
		"Android":     "<Date> <Time>  <Pid>  <Tid> <Level> <Component>: <Content>",
		"HealthApp":   `<Time>\|<Component>\|<Pid>\|<Content>`,
		"Apache":      `\[<Time>\] \[<Level>\] <Content>`,
		"Proxifier":   `\[<Time>\] <Program> - <Content>`,
		"OpenSSH":     `<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>`,
		"OpenStack":   `<Logrecord> <Date> <Time> <Pid> <Level> <Component> \[<ADDR>\] <Content>`,
		"Mac":         `<Month>  <Date> <Time> <User> <Component>\[<PID>\]( \(<Address>\))?: <Content>`,
	}
	for name, format := range formats {
		f, err := ParseFormat(format)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.atoms == nil {
			t.Errorf("%s: %q takes the regexp path", name, format)
		}
		if f.Index(ContentField) != len(f.Fields())-1 {
			t.Errorf("%s: Content is not the last field of %v", name, f.Fields())
		}
	}
}
