package signals

import (
	"fmt"
	"strings"

	"github.com/vigilops/vigil/analyzers/logmine"
)

// LevelField is the header field that holds a line's severity, as in
// Loghub's formats ("<Date> <Time> <Level> <Component>: <Content>").
const LevelField = "Level"

// LineParser splits raw log lines into the message to mine and its level.
// A LineParser is immutable and safe for concurrent use.
type LineParser struct {
	format *logmine.Format // nil: the whole line is the message
	level  int             // index of LevelField in the format's fields, or -1
}

// NewLineParser returns a parser for lines with the given header format in
// Loghub's notation; an empty format takes the whole line as the message.
func NewLineParser(format string) (*LineParser, error) {
	p := &LineParser{level: -1}
	if format == "" {
		return p, nil
	}
	f, err := logmine.ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("log format %q: %w", format, err)
	}
	p.format, p.level = f, f.Index(LevelField)
	return p, nil
}

// Parse returns the line's message and level. A line that does not match
// the format is kept whole as the message, never dropped. Without a Level
// field, or when the line does not match, the level is guessed from the
// first words of the line.
func (p *LineParser) Parse(line string) (message, level string) {
	if p.format == nil {
		message = strings.TrimSpace(line)
		return message, guessLevel(message)
	}
	if p.level < 0 {
		message, _ = p.format.Content(line)
		return message, guessLevel(line)
	}
	fields, ok := p.format.Parse(line)
	if !ok {
		message = strings.TrimSpace(line)
		return message, guessLevel(message)
	}
	message, _ = p.format.Content(line)
	return message, fields[p.level]
}

// levelWords are the severities guessLevel recognises, upper case.
var levelWords = map[string]bool{
	"TRACE": true, "DEBUG": true, "INFO": true, "NOTICE": true, "WARN": true, "WARNING": true,
	"ERROR": true, "ERR": true, "FATAL": true, "CRITICAL": true, "CRIT": true, "SEVERE": true,
	"ALERT": true, "EMERG": true, "EMERGENCY": true, "PANIC": true,
}

// guessLevel finds a severity among the first six words of a line, such as
// "ERROR", "[warn]", "level=error" or "<E>", and returns it, or "".
func guessLevel(line string) string {
	for i := 0; i < 6 && line != ""; i++ {
		line = strings.TrimLeft(line, " \t")
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		w := line[:end]
		line = line[end:]
		if k, v, ok := strings.Cut(w, "="); ok && strings.EqualFold(strings.Trim(k, `"`), "level") {
			w = v
		}
		w = strings.Trim(w, `[]()<>{}:|,"'`)
		if len(w) > 9 {
			continue
		}
		var up [9]byte
		for k := range len(w) {
			c := w[k]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			up[k] = c
		}
		if levelWords[string(up[:len(w)])] {
			return w
		}
	}
	return ""
}
