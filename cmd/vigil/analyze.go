package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/analyzers/anomaly"
	"github.com/vigilops/vigil/analyzers/logmine"
)

func newAnalyzeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Run Vigil's analyzers on files: metric anomalies, log templates",
		Long: `Runs the analyzers that Vigil uses on live signals over files, for offline use and
for scoring them with other tools' evaluators.`,
	}
	cmd.AddCommand(newAnalyzeAnomaliesCmd(), newAnalyzeLogsCmd())
	return cmd
}

// nabTimeLayout is the Numenta Anomaly Benchmark's timestamp format.
const nabTimeLayout = "2006-01-02 15:04:05"

func newAnalyzeAnomaliesCmd() *cobra.Command {
	var in, out string
	cmd := &cobra.Command{
		Use:   "anomalies --in series.csv [--out scores.csv]",
		Short: "Score one metric series for anomalies, as the live detectors do",
		Long: `Reads a CSV with a header and the columns timestamp and value (other columns are
ignored), oldest row first, and scores every row with the streaming anomaly detector
that Vigil runs on each live series, with the same configuration. It writes
timestamp,value,anomaly_score: the Numenta Anomaly Benchmark's results format, the same
rows bench/nab writes for the file.

A timestamp is "2006-01-02 15:04:05" (NAB's form, UTC), RFC 3339, or unix seconds; it
is written back as given. A score of 0.5 or more opens an anomaly event.`,
		Example: `  vigil analyze anomalies --in machine_temperature.csv --out scores.csv
  vigil analyze anomalies --in cpu.csv | awk -F, '$3 >= 0.5'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withFiles(in, out, cmd.OutOrStdout(), func(r io.Reader, w io.Writer) error {
				points, events, err := scoreSeries(r, w, in)
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "scored %d points; %d anomaly events\n", points, events)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "input CSV with timestamp and value columns (required)")
	cmd.Flags().StringVar(&out, "out", "-", "output CSV; - is standard output")
	_ = cmd.MarkFlagRequired("in")
	return cmd
}

// scoreSeries streams rows from r through one detector to w. name labels
// errors.
func scoreSeries(r io.Reader, w io.Writer, name string) (points, events int, err error) {
	det, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		return 0, 0, err
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: header: %w", name, err)
	}
	ti, vi := slices.Index(header, "timestamp"), slices.Index(header, "value")
	if ti < 0 || vi < 0 {
		return 0, 0, fmt.Errorf("%s: the header %q needs the columns timestamp and value", name, strings.Join(header, ","))
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"timestamp", "value", "anomaly_score"}); err != nil {
		return 0, 0, err
	}
	out := make([]string, 3)
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return points, events, fmt.Errorf("%s: %w", name, err)
		}
		ts, err := parseSeriesTime(rec[ti])
		if err != nil {
			return points, events, fmt.Errorf("%s:%d: timestamp: %w", name, line, err)
		}
		v, err := strconv.ParseFloat(rec[vi], 64)
		if err != nil {
			return points, events, fmt.Errorf("%s:%d: value %q is not a number", name, line, rec[vi])
		}
		score := det.Update(ts, v)
		if det.Explain().Event {
			events++
		}
		out[0], out[1], out[2] = rec[ti], strconv.FormatFloat(v, 'g', -1, 64), strconv.FormatFloat(score, 'g', -1, 64)
		if err := cw.Write(out); err != nil {
			return points, events, err
		}
		points++
	}
	cw.Flush()
	return points, events, cw.Error()
}

// parseSeriesTime reads NAB's "2006-01-02 15:04:05" (UTC), RFC 3339 or unix
// seconds, and returns unix seconds.
func parseSeriesTime(s string) (int64, error) {
	if t, err := time.Parse(nabTimeLayout, s); err == nil {
		return t.Unix(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.Unix(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		return int64(f), nil
	}
	return 0, fmt.Errorf("%q is not \"2006-01-02 15:04:05\", RFC 3339 or unix seconds", s)
}

func newAnalyzeLogsCmd() *cobra.Command {
	var format, in, out string
	cmd := &cobra.Command{
		Use:   "logs --format FMT --in FILE [--out structured.csv]",
		Short: "Mine a log file into templates; write Loghub's structured CSV",
		Long: `Splits every line of FILE with the header format FMT (Loghub's notation, e.g.
"<Date> <Time> <Level> <Component>: <Content>"), mines the <Content> of each line
into templates with the miner Vigil runs on live logs, and writes one row per line:
LineId,EventId,EventTemplate, with LineId counting every line from 1 and each line's
template in its final form, written as Loghub writes templates: <*> for each variable,
inside the punctuation around it ("<*>:<*>", "key=<*>", "<*> MB"). Any Loghub-style
evaluator can score the file.

A line that does not match the format is kept and mined whole; the summary on
standard error counts them.`,
		Example: `  vigil analyze logs --format '<Date> <Time> <Pid> <Level> <Component>: <Content>' \
      --in HDFS_2k.log --out HDFS_2k.log_structured.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := logmine.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			return withFiles(in, out, cmd.OutOrStdout(), func(r io.Reader, w io.Writer) error {
				st := logmine.NewStructurer(f, logmine.DefaultConfig())
				if err := eachLine(r, func(l string) { st.Add(l) }); err != nil {
					return fmt.Errorf("%s: %w", in, err)
				}
				if err := writeStructured(w, st.Rows()); err != nil {
					return err
				}
				total, unmatched := st.Lines()
				fmt.Fprintf(cmd.ErrOrStderr(), "structured %d lines into %d templates; %d lines did not match the format and were mined whole\n",
					total, len(st.Miner().Templates()), unmatched)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "log header format in Loghub's notation, with a <Content> field (required)")
	cmd.Flags().StringVar(&in, "in", "", "log file (required)")
	cmd.Flags().StringVar(&out, "out", "-", "output CSV; - is standard output")
	_ = cmd.MarkFlagRequired("format")
	_ = cmd.MarkFlagRequired("in")
	return cmd
}

// eachLine calls f with every line of r, without its newline (and CR): a
// final line without a newline is a line, a final newline starts none.
// Lines are cut from one string per block read, so reading allocates
// nothing per line; f may keep a line, which then keeps its block.
func eachLine(r io.Reader, f func(string)) error {
	buf := make([]byte, 1<<20)
	have := 0 // bytes of buf holding a line not yet ended
	for {
		n, err := r.Read(buf[have:])
		have += n
		if last := bytes.LastIndexByte(buf[:have], '\n'); last >= 0 {
			block := string(buf[:last+1])
			for block != "" {
				i := strings.IndexByte(block, '\n')
				f(strings.TrimSuffix(block[:i], "\r"))
				block = block[i+1:]
			}
			have = copy(buf, buf[last+1:have])
		} else if have == len(buf) {
			buf = append(buf, make([]byte, len(buf))...) // a line longer than the buffer
		}
		if errors.Is(err, io.EOF) {
			if have > 0 {
				f(strings.TrimSuffix(string(buf[:have]), "\r"))
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeStructured writes rows as Loghub's structured CSV. It is what
// encoding/csv writes, with each distinct template quoted once rather than
// once per row.
func writeStructured(w io.Writer, rows []logmine.StructuredRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(logmine.StructuredHeader()); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	fields := map[string]string{}
	var line []byte
	for _, r := range rows {
		tpl, ok := fields[r.EventTemplate]
		if !ok {
			tpl = csvField(r.EventTemplate)
			fields[r.EventTemplate] = tpl
		}
		line = strconv.AppendInt(line[:0], int64(r.LineID), 10)
		line = append(line, ',')
		line = append(line, r.EventID...) // "E" and digits: never quoted
		line = append(line, ',')
		line = append(line, tpl...)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// csvField returns s as encoding/csv writes it as one field of a record
// with several.
func csvField(s string) string {
	var b strings.Builder
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{s, ""}) // writes to memory: cannot fail
	cw.Flush()
	return strings.TrimSuffix(b.String(), ",\n")
}

// withFiles opens in and out ("-" is stdout), runs f, and closes them,
// reporting a failed close of out.
func withFiles(in, out string, stdout io.Writer, f func(io.Reader, io.Writer) error) (err error) {
	r, err := os.Open(in)
	if err != nil {
		return err
	}
	defer r.Close()
	if out == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		if err := f(r, bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := f(r, bw); err != nil {
		return err
	}
	return bw.Flush()
}
