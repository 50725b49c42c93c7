// Package logmine mines templates from log messages and turns template
// counts into anomaly signals. It is pure: no I/O, no clocks, deterministic,
// standard library only.
//
// A Format splits a raw line into header fields and the message, using
// Loghub's "<Date> <Time> <Level>: <Content>" notation; lines that do not
// match are reported (ok false) and kept whole as the message:
//
//	f, err := logmine.ParseFormat("<Date> <Time> <Level> <Component>: <Content>")
//	content, ok := f.Content(line)
//
// A Miner assigns each message to a template, online and in bounded memory,
// with one configuration for every log source:
//
//	m := logmine.New(logmine.DefaultConfig())
//	r := m.Add(content) // r.TemplateID, r.Template, r.New
//
// Template texts are written as Loghub writes them ("Received block <*> of
// size <*> from <*>:<*>"), while lines are grouped by their masked tokens.
// Templates generalise as lines arrive, so the template a line ends up in is
// only known at the end: keep the IDs and resolve them then, e.g. with
// Miner.Rows, which gives Loghub-style structured rows (LineId, EventId,
// EventTemplate) for a caller to write as CSV.
//
// A Detector consumes (time, template, level, line) observations and emits
// signals: templates new after a warm-up, template rates surging against
// their own baseline, and bursts of error-level lines.
package logmine
