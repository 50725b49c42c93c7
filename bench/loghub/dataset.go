package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigilops/vigil/bench/internal/external"
)

// system is one Loghub system: its name (also its folder) and header format.
type system struct {
	Name   string
	Format string
}

// loadFormats reads formats.json, keeping the file's order of systems.
func loadFormats(path string) ([]system, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%s: want a JSON object of system to format", path)
	}
	var out []system
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		name, _ := t.(string)
		var format string
		if err := dec.Decode(&format); err != nil {
			return nil, fmt.Errorf("%s: system %q: %w", path, name, err)
		}
		out = append(out, system{Name: name, Format: format})
	}
	return out, nil
}

// loadLines reads a log file's lines. Line ends may be LF or CRLF (Loghub's
// files use CRLF); a final line without an end counts.
func loadLines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return nil, nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines, nil
}

// truth is Loghub's labelling of one system, one entry per line.
type truth struct {
	EventIDs  []string
	Templates []string
}

// loadTruth reads the EventId and EventTemplate columns of a structured file.
func loadTruth(path string) (truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return truth{}, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return truth{}, fmt.Errorf("%s: header: %w", path, err)
	}
	idCol, tplCol := -1, -1
	for i, h := range header {
		switch strings.TrimPrefix(h, "\ufeff") {
		case "EventId":
			idCol = i
		case "EventTemplate":
			tplCol = i
		}
	}
	if idCol < 0 || tplCol < 0 {
		return truth{}, fmt.Errorf("%s: want EventId and EventTemplate columns", path)
	}
	var t truth
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return truth{}, fmt.Errorf("%s: %w", path, err)
		}
		t.EventIDs = append(t.EventIDs, rec[idCol])
		t.Templates = append(t.Templates, rec[tplCol])
	}
}

// systemFiles returns the log and ground-truth paths of a system.
func systemFiles(dir, name string) (logPath, truthPath string) {
	base := filepath.Join(dir, name, name+"_2k.log")
	return base, base + "_structured.csv"
}

// defaultDataDir is where the harness reads its data unless told.
func defaultDataDir() (string, error) { return external.Dir("--data", "loghub2k") }
