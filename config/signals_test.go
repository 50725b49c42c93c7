package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadSignals(t *testing.T) {
	tests := []struct {
		file    string
		wantErr []string
		check   func(t *testing.T, c Config)
	}{
		{file: "signals-good.yaml", check: func(t *testing.T, c Config) {
			p := c.Metrics.Prometheus
			if p.URL != "http://prometheus:9090" || p.Interval != 30*time.Second || p.Lookback != 3*time.Hour || p.Timeout != 30*time.Second {
				t.Errorf("prometheus = %+v (interval from the file, lookback and timeout defaults)", p)
			}
			if c.Metrics.MaxSeries != 5000 || c.Metrics.WindowPoints != 120 {
				t.Errorf("metrics = %+v", c.Metrics)
			}
			f := p.Queries[0].Forecast
			if f == nil || f.Below == nil || *f.Below != 0.05 || f.Above != nil || f.Horizon != 6*time.Hour || f.Labels["alertname"] != "DiskWillFill" {
				t.Errorf("query forecast = %+v", f)
			}
			if p.Queries[1].Forecast != nil {
				t.Error("a query without forecast got one")
			}
			if l := c.Logs; l.WarmUp != 30*time.Minute || l.Interval != time.Minute || l.MaxStreams != 1000 || l.Files[0].Labels["service"] != "checkout" {
				t.Errorf("logs = %+v", l)
			}
			if c.Anomaly.AlertLevel != 0.6 || c.Anomaly.NoisyEvents != 5 || c.Anomaly.NoisyWindow != 12*time.Hour || !c.Anomaly.OpenIncidents || !c.Logs.OpenIncidents || c.Forecast.Every != 10*time.Minute {
				t.Errorf("anomaly %+v forecast %+v", c.Anomaly, c.Forecast)
			}
			r := c.Forecast.Rules[0]
			if r.Match["mountpoint"] != "/var" || r.Below == nil || *r.Below != 5e7 || r.Horizon != 12*time.Hour {
				t.Errorf("rule = %+v", r)
			}
		}},
		{file: "empty.yaml", check: func(t *testing.T, c Config) {
			if c.Metrics.Prometheus.URL != "" || c.Anomaly.AlertLevel != 0.5 || c.Anomaly.NoisyEvents != 3 || c.Anomaly.NoisyWindow != 24*time.Hour || c.Anomaly.OpenIncidents || c.Logs.OpenIncidents || c.Logs.Interval != time.Minute || c.Forecast.Every != 5*time.Minute {
				t.Errorf("defaults: metrics %+v anomaly %+v logs %+v forecast %+v", c.Metrics, c.Anomaly, c.Logs, c.Forecast)
			}
		}},
		{file: "signals-bad.yaml", wantErr: []string{
			"metrics.max_series: must be at least 1",
			`metrics.prometheus.url: "prometheus:9090" is not an http:// or https:// URL`,
			"metrics.prometheus.interval: must be at least 1s, got 10ms",
			`metrics.prometheus.queries[0].name: "disk free" must be a metric name`,
			"metrics.prometheus.queries[1].query: is required",
			`metrics.prometheus.queries[1].labels: "bad-label" is not a label name`,
			`metrics.prometheus.queries[2].name: "dup" is used by another query`,
			"metrics.prometheus.queries[2].forecast: set exactly one of above",
			"metrics.prometheus.queries[2].forecast.horizon: is required",
			"metrics.prometheus.queries[2].forecast.summary: template: summary:1: unclosed action",
			`logs.files[0].format: "<A> <A>"`,
			`logs.files[1].path: "/var/log/a.log" is listed twice`,
			"anomaly.alert_level: must be in (0, 1], got 1.5",
			"anomaly.noisy_events: must be ≥ 0 (0 turns the back-off off), got -2",
			`forecast.rules[0].match: "bad name" is not a label name`,
			"forecast.rules[0].horizon: is required",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", tt.file))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("Load succeeded")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
