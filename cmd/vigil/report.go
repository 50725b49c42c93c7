package main

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/review"
)

func newReportCmd() *cobra.Command {
	var f storeFlags
	var o outputFlags
	var since, service string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Summarise the incidents of a period: response times, noise, cohorts, runbooks",
		Long: `Reports on the incidents Vigil opened in the period (and compares with the period of the
same length before it): MTTA (detection to the first acknowledgement, or to the first
decision when no one acknowledged first), how long approved proposals waited, MTTR
(detection to resolution), counts and trends by service, severity and root cause,
runbook success rates, noise (alert events in against incidents out), and when
incidents start (hour of day, day of week, per day).`,
		Example: `  vigil report --since 30d
  vigil report --since 2w --service checkout --format html --out checkout.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, loc, err := o.parse()
			if err != nil {
				return err
			}
			period, err := review.ParsePeriod(since)
			if err != nil {
				return err
			}
			st, _, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now()
			in, err := review.LoadReport(cmd.Context(), st, review.Query{Since: now.Add(-period), Until: now, Service: service, Location: loc})
			if err != nil {
				return err
			}
			rep := review.BuildReport(in)
			return o.write(cmd, func(w io.Writer) error { return review.WriteReport(w, format, rep) })
		},
	}
	f.register(cmd, false)
	o.register(cmd)
	cmd.Flags().StringVar(&since, "since", "30d", "how far back: a number and m, h, d or w")
	cmd.Flags().StringVar(&service, "service", "", "only incidents involving this service")
	return cmd
}
