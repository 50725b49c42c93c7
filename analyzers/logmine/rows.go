package logmine

import "strconv"

// StructuredRow is one row of a Loghub-style structured file: the line's
// number and its template.
type StructuredRow struct {
	// LineID counts lines from 1, every input line included.
	LineID int
	// EventID names the line's template ("E12"). Lines of templates that
	// were merged share the surviving template's EventID.
	EventID string
	// EventTemplate is the template's final text, or "" if the template was
	// evicted before the rows were made.
	EventTemplate string
	// Unmatched is true when the line did not match the header format and
	// its whole text was mined as the message. It is not part of Record.
	Unmatched bool
}

// StructuredHeader is the header row of a structured file.
func StructuredHeader() []string { return []string{"LineId", "EventId", "EventTemplate"} }

// Record returns the row's fields in StructuredHeader order, ready for
// encoding/csv.
func (r StructuredRow) Record() []string {
	return []string{strconv.Itoa(r.LineID), r.EventID, r.EventTemplate}
}

// EventID formats a template ID the way Loghub names events.
func EventID(id TemplateID) string { return "E" + strconv.FormatUint(uint64(id), 10) }

// Rows reports lines with their templates in their final form. ids holds
// the TemplateID that Add returned for each line, in input order. Because a
// template generalises as lines arrive, rows must be made after the last
// line was added, not from each Result.Template.
func (m *Miner) Rows(ids []TemplateID) []StructuredRow {
	rows := make([]StructuredRow, len(ids))
	names := map[TemplateID]string{} // EventIDs made so far, one string per template
	name := func(id TemplateID) string {
		n, ok := names[id]
		if !ok {
			n = EventID(id)
			names[id] = n
		}
		return n
	}
	for i, id := range ids {
		rows[i] = StructuredRow{LineID: i + 1}
		if c := m.byID[id]; c != nil {
			// A template merged into another reports the survivor.
			rows[i].EventID, rows[i].EventTemplate = name(c.id), c.display
		} else {
			rows[i].EventID = name(id)
		}
	}
	return rows
}

// Structurer turns the lines of one log file into structured rows: it
// splits each line with a Format, mines the message and remembers the
// line's template so that Rows can report final templates. It holds 9 bytes
// per line. It does no I/O: the caller reads lines and writes the rows, e.g.
//
//	s := logmine.NewStructurer(format, logmine.DefaultConfig())
//	for sc.Scan() {
//		s.Add(sc.Text())
//	}
//	w.Write(logmine.StructuredHeader())
//	for _, r := range s.Rows() {
//		w.Write(r.Record())
//	}
type Structurer struct {
	format    *Format
	miner     *Miner
	ids       []TemplateID
	unmatched []bool
	misses    int
}

// NewStructurer returns a Structurer for lines in the given format, mining
// with a Miner bounded by cfg.
func NewStructurer(format *Format, cfg Config) *Structurer {
	return &Structurer{format: format, miner: New(cfg)}
}

// Add mines one line. matched is false when the line did not match the
// format; its whole text (trimmed) is then mined as the message.
func (s *Structurer) Add(line string) (r Result, matched bool) {
	content, matched := s.format.Content(line)
	r = s.miner.Add(content)
	s.ids = append(s.ids, r.TemplateID)
	s.unmatched = append(s.unmatched, !matched)
	if !matched {
		s.misses++
	}
	return r, matched
}

// Lines returns the number of lines added, and how many of them did not
// match the format.
func (s *Structurer) Lines() (total, unmatched int) { return len(s.ids), s.misses }

// Miner returns the miner, e.g. for its Templates.
func (s *Structurer) Miner() *Miner { return s.miner }

// Rows returns one row per line added, with final templates.
func (s *Structurer) Rows() []StructuredRow {
	rows := s.miner.Rows(s.ids)
	for i := range rows {
		rows[i].Unmatched = s.unmatched[i]
	}
	return rows
}
