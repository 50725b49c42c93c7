package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// alertmanagerConfig routes every alert as the storm's grouping does
// (group_by [alertname, service], default timers) to a receiver with no
// notifier: what is measured is Alertmanager taking alerts in, into memory,
// not notifying.
const alertmanagerConfig = `route:
  receiver: nowhere
  group_by: [alertname, service]
receivers:
  - name: nowhere
`

// alertmanager is Debian's prometheus-alertmanager run by this process.
type alertmanager struct {
	URL     string // its API's base, http://127.0.0.1:port
	Version string // the first line of --version: 0.25.0 (branch: …)
	cmd     *exec.Cmd
	logs    *lockedBuffer
	exited  chan struct{}
}

// startAlertmanager runs bin with storage and configuration in dir, with
// clustering off, and waits until it answers /-/ready.
func startAlertmanager(ctx context.Context, bin, dir string) (*alertmanager, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w: %s", bin, err, out)
	}
	version, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	version = strings.TrimPrefix(version, "alertmanager, version ")
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte(alertmanagerConfig), 0o600); err != nil {
		return nil, err
	}
	// A port the kernel just gave out and took back: Alertmanager takes no
	// listener, and another process grabbing it in between is unlikely.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, err
	}
	am := &alertmanager{URL: "http://" + addr, Version: version, logs: &lockedBuffer{}, exited: make(chan struct{})}
	am.cmd = exec.Command(bin, "--config.file="+conf, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	am.cmd.Stdout, am.cmd.Stderr = am.logs, am.logs
	if err := am.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = am.cmd.Wait(); close(am.exited) }()
	ready := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, am.URL+"/-/ready", nil)
		if err != nil {
			am.Kill()
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return am, nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-am.exited:
			return nil, fmt.Errorf("%s exited before it was ready: %s", bin, am.logs)
		case <-ctx.Done():
			am.Kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(ready) {
			am.Kill()
			return nil, fmt.Errorf("%s not ready at %s after 30s: %v; its log: %s", bin, am.URL, err, am.logs)
		}
	}
}

// Kill stops Alertmanager and waits for it to exit.
func (am *alertmanager) Kill() {
	_ = am.cmd.Process.Kill()
	<-am.exited
}

// postableAlert is an alert as Alertmanager's POST /api/v2/alerts takes it;
// an alert without endsAt fires until resolve_timeout, as Prometheus's do
// between evaluations.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL"`
}

// alertmanagerPayloads are the storm's payloads as requests to
// Alertmanager's API: each carries the alerts of one webhook payload, so
// both receive the same alerts in the same batches, in the same order and
// with the same groups' payloads in sequence.
func alertmanagerPayloads(s *Storm) ([]Payload, error) {
	out := make([]Payload, 0, len(s.Payloads))
	for i, p := range s.Payloads {
		var w webhook
		if err := json.Unmarshal(p.Body, &w); err != nil {
			return nil, fmt.Errorf("payload %d: %w", i, err)
		}
		alerts := make([]postableAlert, 0, len(w.Alerts))
		for _, a := range w.Alerts {
			pa := postableAlert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt,
				GeneratorURL: "http://prometheus.storm:9090/graph?g0.expr=" + a.Labels["alertname"]}
			if !a.EndsAt.IsZero() {
				pa.EndsAt = &a.EndsAt
			}
			alerts = append(alerts, pa)
		}
		body, err := json.Marshal(alerts)
		if err != nil {
			return nil, err
		}
		out = append(out, Payload{At: p.At, Group: p.Group, Body: body, Alerts: len(alerts)})
	}
	return out, nil
}

// alertmanagerBinary is the Alertmanager --alertmanager names: "" when
// there is none to run (off, or auto with none on PATH).
func alertmanagerBinary(flag string) (string, error) {
	switch flag {
	case "", "off":
		return "", nil
	case "auto":
		bin, err := exec.LookPath("prometheus-alertmanager")
		if err != nil {
			return "", nil
		}
		return bin, nil
	}
	return exec.LookPath(flag)
}

// stormAlertmanager sends the storm's alerts to Alertmanager bin, run in a
// temporary directory, as the storm sends its payloads to Vigil, and kills
// it once every request is answered.
func stormAlertmanager(ctx context.Context, o options, s *Storm, bin string, progress func(string, ...any)) (*AlertmanagerRun, error) {
	payloads, err := alertmanagerPayloads(s)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vigil-storm-alertmanager-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	began := time.Now()
	am, err := startAlertmanager(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	defer am.Kill()
	progress("%s %s is up at %s after %s; sending the same alerts with %d senders", bin, am.Version, am.URL, time.Since(began).Round(time.Millisecond), o.concurrency)
	d := newDriver(o, s, []string{am.URL + "/api/v2/alerts"})
	sent := send(ctx, d, &Storm{Payloads: payloads}, progress)
	am.Kill()
	run := &AlertmanagerRun{Binary: bin, Version: am.Version, Acceptance: acceptance(sent)}
	if run.Answered200 == 0 {
		return nil, fmt.Errorf("%s accepted none of %d requests (answers by status, 0 for none: %v); its log: %s", bin, len(sent), run.Failed, am.logs)
	}
	return run, nil
}

// lockedBuffer is a bytes.Buffer a process writes into while others read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
