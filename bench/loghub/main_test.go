package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTinyDataset writes a two-system dataset in Loghub's layout, made up
// for the test, with CRLF line ends like Loghub's files.
func writeTinyDataset(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"formats.json": `{"Tiny": "<Date> <Level>: <Content>", "Other": "<Content>"}`,
		"Tiny/Tiny_2k.log": "d1 INFO: open file a.txt\r\n" +
			"d2 INFO: open file b.txt\r\n" +
			"d3 WARN: disk 90% full\r\n" +
			"a line without the header\r\n",
		"Tiny/Tiny_2k.log_structured.csv": "LineId,Date,Level,Content,EventId,EventTemplate\n" +
			"1,d1,INFO,open file a.txt,E1,open file <*>\n" +
			"2,d2,INFO,open file b.txt,E1,open file <*>\n" +
			"3,d3,WARN,disk 90% full,E2,disk <*>% full\n" +
			"4,,,a line without the header,E3,a line without the header\n",
		"Other/Other_2k.log":                "x\n",
		"Other/Other_2k.log_structured.csv": "LineId,Content,EventId,EventTemplate\n1,x,E1,x\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunWritesReportAndRows(t *testing.T) {
	data := writeTinyDataset(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--data", data, "--out", out, "--systems", "Tiny"}, &stdout, &stderr); code != 0 {
		t.Fatalf("run = %d, stderr %s", code, stderr.String())
	}
	report := stdout.String()
	for _, want := range []string{"Tiny", "mean", "1.0000"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "Other") {
		t.Errorf("report has the unselected system:\n%s", report)
	}
	fields := strings.Fields(strings.Split(report, "\n")[1])
	if want := []string{"Tiny", "4", "1", "3", "1.0000", "1.0000", "1.0000"}; !slices.Equal(fields[:7], want) {
		t.Errorf("Tiny row = %q, want it to start %q", fields, want)
	}
	f, err := os.Open(filepath.Join(out, "Tiny_structured.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"LineId", "EventId", "EventTemplate"},
		{"1", "E1", "open file <*>"},
		{"2", "E1", "open file <*>"},
		{"3", "E2", "disk <*>% full"},
		{"4", "E3", "a line without the header"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows = %q, want %q", rows, want)
	}
}

func TestRunRejectsMismatchedLabels(t *testing.T) {
	data := writeTinyDataset(t)
	p := filepath.Join(data, "Other", "Other_2k.log")
	if err := os.WriteFile(p, []byte("x\ny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--data", data, "--systems", "Other"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "2 log lines but 1 labelled") {
		t.Errorf("run = %d, stderr %q; want failure naming the mismatch", code, stderr.String())
	}
}
