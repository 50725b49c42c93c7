package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// playDemo posts a built-in Alertmanager notification to this Vigil: a disk filling
// up on two instances of demo-db, pointing at a scratch directory under the data
// dir that holds old *.tmp files. The clean-temp-files runbook matches it, so a
// newcomer sees evidence, a candidate and proposals, approves P1 in the console, and
// watches the runbook delete the files for real.
func playDemo(ctx context.Context, base, dataDir string, logger *slog.Logger, out io.Writer) {
	scratch, err := filepath.Abs(filepath.Join(dataDir, "demo", "scratch"))
	if err == nil {
		err = seedScratch(scratch)
	}
	if err != nil {
		logger.Error("demo: prepare scratch directory", "err", err)
		return
	}
	now := time.Now().UTC().Format(time.RFC3339)
	alert := func(instance, pct string) map[string]any {
		return map[string]any{
			"status": "firing",
			"labels": map[string]string{"alertname": "DiskFillingUp", "service": "demo-db", "severity": "critical",
				"instance": instance, "mountpoint": "/", "path": scratch},
			"annotations": map[string]string{
				"summary":         fmt.Sprintf("Disk on %s is %s full", instance, pct),
				"description":     "Temporary files pile up in " + scratch + ".",
				"tmp_age_minutes": "30",
			},
			"startsAt":     now,
			"generatorURL": "http://prometheus.demo:9090/graph?g0.expr=disk_used_ratio",
		}
	}
	body, _ := json.Marshal(map[string]any{
		"version": "4", "status": "firing", "receiver": "vigil",
		"groupLabels": map[string]string{"alertname": "DiskFillingUp"},
		"alerts":      []any{alert("demo-db-1", "91%"), alert("demo-db-2", "87%")},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		logger.Error("demo: post alert", "err", err)
		return
	}
	defer resp.Body.Close()
	var res struct {
		Incidents []string `json:"incidents"`
		Error     string   `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&res)
	if resp.StatusCode != http.StatusOK || len(res.Incidents) == 0 {
		logger.Error("demo: alert not accepted", "status", resp.StatusCode, "error", res.Error)
		return
	}
	fmt.Fprintf(out, "\nDemo: two DiskFillingUp alerts opened %s\n  open %s/incidents/%s and approve P1 to clean %s\n\n",
		res.Incidents[0], base, res.Incidents[0], scratch)
}

// seedScratch fills the demo directory with two old *.tmp files, one fresh one and
// a file the runbook must leave alone.
func seedScratch(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	old := time.Now().Add(-2 * time.Hour)
	for name, age := range map[string]time.Time{"build-1.tmp": old, "build-2.tmp": old, "upload.tmp": time.Now(), "keep.log": old} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 4096), 0o640); err != nil {
			return err
		}
		if err := os.Chtimes(p, age, age); err != nil {
			return err
		}
	}
	return nil
}
