package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/review"
)

// outputFlags choose how a review is written.
type outputFlags struct {
	format, out, zone string
}

func (o *outputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.format, "format", "md", "md, json or html (a standalone page)")
	cmd.Flags().StringVar(&o.out, "out", "-", "file to write (- for standard output)")
	cmd.Flags().StringVar(&o.zone, "tz", "UTC", "time zone for times, days and hours (e.g. Europe/Berlin)")
}

func (o *outputFlags) parse() (review.Format, *time.Location, error) {
	f, err := review.ParseFormat(o.format)
	if err != nil {
		return "", nil, fmt.Errorf("--format: %w", err)
	}
	loc, err := time.LoadLocation(o.zone)
	if err != nil {
		return "", nil, fmt.Errorf("--tz %q: %w", o.zone, err)
	}
	return f, loc, nil
}

// write writes through w to --out (or the command's output), atomically enough
// for a file: it is written whole or reported as failed.
func (o *outputFlags) write(cmd *cobra.Command, w func(io.Writer) error) error {
	if o.out == "-" {
		return w(cmd.OutOrStdout())
	}
	f, err := os.Create(o.out)
	if err != nil {
		return err
	}
	if err := w(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func newTimelineCmd() *cobra.Command {
	var f storeFlags
	var o outputFlags
	cmd := &cobra.Command{
		Use:   "timeline INCIDENT",
		Short: "Tell one incident in order, from its audit trail",
		Long: `Derives the incident's timeline from its audit trail: detection, every alert change,
evidence, root-cause ranking, proposals, decisions (with how long each proposal waited),
acknowledgements, notes, runbook steps with their durations, verification, escalation
and resolution, with the milestones reports measure (time to acknowledge, to approve,
to resolve). The html format is a standalone page with a chart of the incident's
signals. It reads the store and works while Vigil runs.`,
		Example: `  vigil timeline incident-7-diskfillingup-db
  vigil timeline incident-7-diskfillingup-db --format html --out incident-7.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, loc, err := o.parse()
			if err != nil {
				return err
			}
			st, _, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			src, err := review.LoadSource(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			tl := review.BuildTimeline(src)
			return o.write(cmd, func(w io.Writer) error { return review.WriteTimeline(w, format, tl, loc) })
		},
	}
	f.register(cmd, false)
	o.register(cmd)
	return cmd
}
