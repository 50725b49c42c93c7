package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/config"
)

// The demo's service graph: frontend calls checkout, checkout calls payments.
// payments is built from demoRepo; a deploy of it starts the story. search
// stands apart: its disk fills slowly, for a forecast of its own.
const (
	demoRepo       = "vigil-demo/payments"
	demoBadRelease = "v1.5.0"
	demoGoodRel    = "v1.4.2"
)

// demoServices are the demo's services, callers before callees, with the
// shape of their latency (seconds) and error ratio: the baseline, and the
// level once payments' bad release makes them fail. onset is how long before
// the demo's "now" each one goes wrong: the callee first, its callers after.
var demoServices = []struct {
	name              string
	calls             string
	latency, latBad   float64
	errors, errorsBad float64
	onset             time.Duration
}{
	{name: "frontend", calls: "checkout", latency: 0.42, latBad: 2.6, errors: 0.002, errorsBad: 0.05, onset: 7 * time.Minute},
	{name: "checkout", calls: "payments", latency: 0.25, latBad: 2.2, errors: 0.001, errorsBad: 0.07, onset: 8 * time.Minute},
	{name: "payments", latency: 0.12, latBad: 1.9, errors: 0.002, errorsBad: 0.14, onset: 10 * time.Minute},
}

// Demo timing, before the demo's "now": the metric and log history that warms
// the detectors up ends at demoHistoryEnd, and the deploy is demoDeployAt.
const (
	demoHistory    = 200 * time.Minute // above the metric detectors' 150-point warm-up at one point a minute
	demoLogHistory = 130 * time.Minute // above the log detectors' 1h warm-up
	demoHistoryEnd = 13 * time.Minute
	demoDeployAt   = 12 * time.Minute
)

// demoConfig adds what the demo story needs to cfg: the service catalogue
// (only services cfg does not name already), a GitHub webhook secret (a file
// under the data directory, when none is configured) and a forecast rule for
// search's disk. The data directory's demo folder holds the secret and,
// once the story plays, the directories the runbooks act on.
func demoConfig(cfg *config.Config) error {
	dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "demo"))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if cfg.Changes.Services == nil {
		cfg.Changes.Services = map[string]config.ServiceSpec{}
	}
	for _, s := range demoServices {
		if _, ok := cfg.Changes.Services[s.name]; ok {
			continue
		}
		spec := config.ServiceSpec{}
		if s.calls != "" {
			spec.Calls = []string{s.calls}
		}
		if s.name == "payments" {
			spec.Repo, spec.Environments = demoRepo, []string{"production"}
		}
		cfg.Changes.Services[s.name] = spec
	}
	if cfg.Changes.WebhookSecret == "" {
		path := filepath.Join(dir, "github-webhook-secret")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(path, []byte(rand.Text()+"\n"), 0o600); err != nil {
				return fmt.Errorf("demo: webhook secret: %w", err)
			}
		}
		cfg.Changes.WebhookSecret = config.Secret("file:" + path)
	}
	above := 0.95
	cfg.Forecast.Rules = append(cfg.Forecast.Rules, config.ForecastRule{
		Match: map[string]string{"__name__": "disk_used_ratio", "service": "search"},
		Forecast: config.Forecast{Above: &above, Horizon: 4 * time.Hour,
			Summary: "disk {{.mountpoint}} on {{.instance}} fills",
			Labels: map[string]string{"alertname": "DiskFillingUp", "severity": "warning",
				"path": filepath.Join(dir, "scratch")}},
	})
	return nil
}

// demo plays the story into a running Vigil through its public ingest API,
// as the outside world would: metric and log history for the detectors to
// learn from, a payments alert, the deploy that caused it (a signed GitHub
// webhook), the anomalies it set off down the call graph, the error-log burst
// and the alerts of the callers. Then search's slowly filling disk, whose
// forecast opens a second, preventive incident.
type demo struct {
	base    string // http://host:port
	token   string // ingest bearer token; empty when ingest has none
	secret  []byte // the GitHub webhook secret
	dir     string // the data directory's demo folder, absolute
	now     time.Time
	rnd     *mrand.Rand
	client  *http.Client
	out     io.Writer
	release string // payments' release directory, which the rollback switches
	story   []storyLine
}

// storyLine is one thing that happened in the story, at its time.
type storyLine struct {
	at   time.Time
	text string
}

// playDemo runs the demo story against base and prints where to look; errors
// are logged, never fatal: Vigil keeps running.
func playDemo(ctx context.Context, base string, cfg config.Config, logger *slog.Logger, out io.Writer) {
	d, err := newDemo(base, cfg, out)
	if err == nil {
		_, err = d.play(ctx)
	}
	if err != nil && ctx.Err() == nil {
		logger.Error("demo", "err", err)
	}
}

func newDemo(base string, cfg config.Config, out io.Writer) (*demo, error) {
	dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "demo"))
	if err != nil {
		return nil, err
	}
	secret, err := cfg.Changes.WebhookSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	var token string
	if len(cfg.Ingest.Tokens) > 0 {
		if token, err = cfg.Ingest.Tokens[0].Resolve(); err != nil {
			return nil, fmt.Errorf("ingest token: %w", err)
		}
	}
	return &demo{
		base: base, token: token, secret: []byte(secret), dir: dir,
		now:    time.Now().UTC().Truncate(time.Minute),
		rnd:    mrand.New(mrand.NewPCG(22, 1)), // the same story every time
		client: &http.Client{Timeout: 30 * time.Second}, out: out,
		release: filepath.Join(dir, "payments"),
	}, nil
}

// play tells the story and returns the incident it opened. The incident
// opens with the first alert, so the signals sent after it join it; their
// timestamps tell the story in order.
func (d *demo) play(ctx context.Context) (string, error) {
	if err := d.seed(); err != nil {
		return "", fmt.Errorf("prepare %s: %w", d.dir, err)
	}
	fmt.Fprintf(d.out, "\nDemo: a bad deploy of payments, seen from frontend → checkout → payments.\n")
	if err := d.history(ctx); err != nil {
		return "", err
	}
	inc, err := d.alert(ctx, "payments", "ErrorRateHigh", "critical", 9*time.Minute, "payments: 14% of charges fail",
		map[string]string{"release_dir": d.release}, map[string]string{"previous_version": demoGoodRel})
	if err != nil {
		return "", err
	}
	d.step(9*time.Minute, "alert ErrorRateHigh on payments → %s", inc)
	if err := d.deploy(ctx); err != nil {
		return "", err
	}
	d.step(demoDeployAt, "deploy of payments %s (GitHub webhook)", demoBadRelease)
	if err := d.incidentMetrics(ctx); err != nil {
		return "", err
	}
	d.step(10*time.Minute, "latency and errors climb on payments, then checkout, then frontend")
	if err := d.incidentLogs(ctx); err != nil {
		return "", err
	}
	d.step(10*time.Minute, "payments logs a burst of acquirer timeouts")
	for _, a := range []struct{ svc, summary string }{
		{"checkout", "checkout: p99 latency above 2s"},
		{"frontend", "frontend: p99 latency above 2s"},
	} {
		if _, err := d.alert(ctx, a.svc, "HighLatency", "warning", 6*time.Minute, a.summary, nil, nil); err != nil {
			return "", err
		}
	}
	d.step(6*time.Minute, "alerts HighLatency on checkout and frontend")
	forecast, err := d.disk(ctx)
	if err != nil {
		return "", err
	}
	if len(forecast) > 0 {
		d.step(0, "disk of search will fill: a forecast, before any alert → %s", forecast[0])
	}
	d.tell()
	verdict, err := d.verdict(ctx, inc)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(d.out, "  Vigil: %s\n  open %s/incidents/%s\n\n", verdict, d.base, inc)
	return inc, nil
}

// verdict waits until the incident holds the four kinds of evidence the
// story sent (log anomalies close with the detectors' intervals, a few
// seconds later), its ranking and its proposals, and says what Vigil made of
// the story.
func (d *demo) verdict(ctx context.Context, id string) (string, error) {
	var inc struct {
		Evidence []struct {
			Kind string `json:"kind"`
		} `json:"evidence"`
		Candidates []struct {
			Component string `json:"component"`
			Reason    string `json:"reason"`
		} `json:"candidates"`
		Proposals []struct {
			ID        string `json:"id"`
			RunbookID string `json:"runbook_id"`
		} `json:"proposals"`
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(time.Minute)
	kinds := func() int {
		seen := map[string]bool{}
		for _, e := range inc.Evidence {
			seen[e.Kind] = true
		}
		return len(seen)
	}
	for kinds() < 4 || len(inc.Candidates) == 0 || len(inc.Proposals) == 0 {
		if time.Now().After(deadline) {
			return "", fmt.Errorf("incident %s: not all evidence, candidates and proposals after a minute", id)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-tick.C:
		}
		if err := d.get(ctx, "/api/v1/incidents/"+url.PathEscape(id), &inc); err != nil {
			return "", err
		}
	}
	top := inc.Candidates[0]
	_, factor, _ := strings.Cut(top.Reason, "strongest factor: ")
	var ps []string
	for _, p := range inc.Proposals {
		ps = append(ps, p.ID+" "+p.RunbookID)
	}
	return fmt.Sprintf("%s ranked first (strongest factor: %s); proposes %s", top.Component, cmp.Or(factor, "—"), strings.Join(ps, ", ")), nil
}

// get reads an API resource into res.
func (d *demo) get(ctx context.Context, path string, res any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+path, nil)
	if err != nil {
		return err
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(res); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// step records one line of the story that happened ago before the demo's
// now; tell prints them in the order they happened.
func (d *demo) step(ago time.Duration, format string, args ...any) {
	d.story = append(d.story, storyLine{at: d.now.Add(-ago), text: fmt.Sprintf(format, args...)})
}

func (d *demo) tell() {
	slices.SortStableFunc(d.story, func(a, b storyLine) int { return a.at.Compare(b.at) })
	for _, l := range d.story {
		fmt.Fprintf(d.out, "  %s  %s\n", l.at.Local().Format("15:04"), l.text)
	}
}

// seed lays out payments' releases with the bad one live, and search's
// scratch directory with old and new temporary files.
func (d *demo) seed() error {
	for _, v := range []string{demoGoodRel, demoBadRelease} {
		if err := os.MkdirAll(filepath.Join(d.release, "releases", v), 0o750); err != nil {
			return err
		}
	}
	cur := filepath.Join(d.release, "current")
	if err := os.Remove(cur); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Symlink(filepath.Join("releases", demoBadRelease), cur); err != nil {
		return err
	}
	scratch := filepath.Join(d.dir, "scratch")
	if err := os.MkdirAll(scratch, 0o750); err != nil {
		return err
	}
	old := time.Now().Add(-2 * time.Hour)
	for name, age := range map[string]time.Time{"index-1.tmp": old, "index-2.tmp": old, "upload.tmp": time.Now(), "keep.log": old} {
		p := filepath.Join(scratch, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 4096), 0o640); err != nil {
			return err
		}
		if err := os.Chtimes(p, age, age); err != nil {
			return err
		}
	}
	return nil
}

type demoSample struct {
	Metric    string            `json:"metric"`
	Labels    map[string]string `json:"labels"`
	Timestamp int64             `json:"timestamp"`
	Value     float64           `json:"value"`
}

type demoLine struct {
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	Level     string `json:"level"`
}

// history sends the quiet past: a point a minute of every service's latency
// and error ratio, and their logs, up to demoHistoryEnd before now.
func (d *demo) history(ctx context.Context) error {
	for _, s := range demoServices {
		var samples []demoSample
		for ago := demoHistory; ago >= demoHistoryEnd; ago -= time.Minute {
			samples = append(samples, d.point(s.name, ago, s.latency, s.errors)...)
		}
		if err := d.post(ctx, "/api/v1/metrics", "application/json", map[string]any{"samples": samples}); err != nil {
			return fmt.Errorf("metric history of %s: %w", s.name, err)
		}
		var lines []demoLine
		for ago := demoLogHistory; ago >= demoHistoryEnd; ago -= time.Minute {
			lines = append(lines, d.okLines(s.name, ago, 12)...)
		}
		if err := d.postLogs(ctx, s.name, lines); err != nil {
			return fmt.Errorf("log history of %s: %w", s.name, err)
		}
	}
	return nil
}

// point is a service's latency and error ratio at ago before now, around the
// given levels with a little noise.
func (d *demo) point(svc string, ago time.Duration, latency, errs float64) []demoSample {
	ts := d.now.Add(-ago).Unix()
	labels := map[string]string{"service": svc, "env": "production"}
	return []demoSample{
		{Metric: "http_request_duration_p99_seconds", Labels: labels, Timestamp: ts, Value: round(latency * (1 + 0.05*d.rnd.NormFloat64()))},
		{Metric: "http_error_ratio", Labels: labels, Timestamp: ts, Value: round(math.Max(0, errs*(1+0.15*d.rnd.NormFloat64())))},
	}
}

func round(v float64) float64 { return math.Round(v*1e5) / 1e5 }

// incidentMetrics sends the minutes from the deploy to now: each service
// degrades at its onset.
func (d *demo) incidentMetrics(ctx context.Context) error {
	// Callees first, so each caller's anomaly finds the incident already
	// holding the service it calls.
	for _, s := range slices.Backward(demoServices) {
		var samples []demoSample
		for ago := demoHistoryEnd - time.Minute; ago >= 0; ago -= time.Minute {
			lat, errs := s.latency, s.errors
			if ago <= s.onset {
				lat, errs = s.latBad, s.errorsBad
			}
			samples = append(samples, d.point(s.name, ago, lat, errs)...)
		}
		if err := d.post(ctx, "/api/v1/metrics", "application/json", map[string]any{"samples": samples}); err != nil {
			return fmt.Errorf("metrics of %s: %w", s.name, err)
		}
	}
	return nil
}

// okLines are n ordinary log lines of a service in the minute ago before now.
func (d *demo) okLines(svc string, ago time.Duration, n int) []demoLine {
	at := d.now.Add(-ago)
	lines := make([]demoLine, n)
	for i := range lines {
		var msg string
		switch svc {
		case "payments":
			msg = fmt.Sprintf("charge ok order=%d amount=%d.%02d EUR acquirer=%s in %dms", 40000+d.rnd.IntN(9999),
				5+d.rnd.IntN(200), d.rnd.IntN(100), []string{"adyen", "stripe"}[d.rnd.IntN(2)], 60+d.rnd.IntN(80))
		case "checkout":
			msg = fmt.Sprintf("order placed order=%d items=%d in %dms", 40000+d.rnd.IntN(9999), 1+d.rnd.IntN(6), 150+d.rnd.IntN(150))
		default:
			msg = fmt.Sprintf("GET /cart 200 in %dms", 200+d.rnd.IntN(300))
		}
		lines[i] = demoLine{Message: msg, Level: "info", Timestamp: at.Add(time.Duration(i) * time.Minute / time.Duration(n)).Format(time.RFC3339Nano)}
	}
	return lines
}

// incidentLogs sends the logs from the deploy to now: payments' charges time
// out at the acquirer from its onset on.
func (d *demo) incidentLogs(ctx context.Context) error {
	for _, s := range demoServices {
		var lines []demoLine
		for ago := demoHistoryEnd - time.Minute; ago >= 0; ago -= time.Minute {
			ok := d.okLines(s.name, ago, 12)
			if s.name == "payments" && ago <= s.onset {
				ok = ok[:4]
				at := d.now.Add(-ago)
				for i := range 30 {
					ok = append(ok, demoLine{Level: "error",
						Message: fmt.Sprintf("charge failed order=%d: acquirer timeout after 5000ms (release %s)", 40000+d.rnd.IntN(9999), demoBadRelease),
						// After the ordinary lines of the minute, which span
						// its first seconds.
						Timestamp: at.Add(20*time.Second + time.Duration(i)*time.Second).Format(time.RFC3339Nano)})
				}
				slices.SortStableFunc(ok, func(a, b demoLine) int { return strings.Compare(a.Timestamp, b.Timestamp) })
			}
			lines = append(lines, ok...)
		}
		if err := d.postLogs(ctx, s.name, lines); err != nil {
			return fmt.Errorf("logs of %s: %w", s.name, err)
		}
	}
	return nil
}

// disk sends search's disk usage, rising steadily to full in about three
// hours, and returns the incidents its events joined: the forecast's.
func (d *demo) disk(ctx context.Context) ([]string, error) {
	labels := map[string]string{"service": "search", "instance": "search-1", "mountpoint": "/var/lib/search"}
	var samples []demoSample
	for ago := demoHistory; ago >= 0; ago -= time.Minute {
		used := 0.80 - 0.15*ago.Minutes()/180 // 0.95 three hours from now
		samples = append(samples, demoSample{Metric: "disk_used_ratio", Labels: labels,
			Timestamp: d.now.Add(-ago).Unix(), Value: round(used + 0.001*d.rnd.NormFloat64())})
	}
	var res struct {
		Incidents []string `json:"incidents"`
	}
	if err := d.send(ctx, "/api/v1/metrics", "application/json", map[string]any{"samples": samples}, nil, &res); err != nil {
		return nil, fmt.Errorf("disk of search: %w", err)
	}
	return res.Incidents, nil
}

// alert posts one firing alert on svc that started ago before now, and
// returns the incident it joined.
func (d *demo) alert(ctx context.Context, svc, name, severity string, ago time.Duration, summary string, labels, annotations map[string]string) (string, error) {
	l := map[string]string{"alertname": name, "service": svc, "severity": severity, "env": "production"}
	for k, v := range labels {
		l[k] = v
	}
	a := map[string]string{"summary": summary}
	for k, v := range annotations {
		a[k] = v
	}
	payload := map[string]any{
		"version": "4", "status": "firing", "receiver": "vigil",
		"groupLabels": map[string]string{"alertname": name, "service": svc},
		"alerts": []any{map[string]any{"status": "firing", "labels": l, "annotations": a,
			"startsAt":     d.now.Add(-ago).Format(time.RFC3339),
			"generatorURL": "http://prometheus.demo:9090/graph?g0.expr=" + url.QueryEscape(name)}},
	}
	var res struct {
		Incidents []string `json:"incidents"`
	}
	if err := d.send(ctx, "/api/v1/alerts/alertmanager", "application/json", payload, nil, &res); err != nil {
		return "", fmt.Errorf("alert %s on %s: %w", name, svc, err)
	}
	if len(res.Incidents) == 0 {
		return "", fmt.Errorf("alert %s on %s joined no incident", name, svc)
	}
	return res.Incidents[0], nil
}

// deploy delivers the GitHub deployment of payments' bad release, signed
// with the webhook secret as GitHub signs it.
func (d *demo) deploy(ctx context.Context) error {
	at := d.now.Add(-demoDeployAt)
	id := at.Unix() / 60 // a new deployment every run
	sha := fmt.Sprintf("%x", sha256.Sum256([]byte(demoBadRelease)))[:40]
	owner, name, _ := strings.Cut(demoRepo, "/")
	payload := map[string]any{
		"action": "created",
		"deployment": map[string]any{
			"id": id, "sha": sha, "ref": demoBadRelease, "task": "deploy", "environment": "production",
			"description": "Deploy payments " + demoBadRelease + ": switch the acquirer client to HTTP/2",
			"creator":     map[string]any{"login": "demo-dev", "type": "User"},
			"created_at":  at.Format(time.RFC3339), "updated_at": at.Format(time.RFC3339),
		},
		"repository": map[string]any{"name": name, "full_name": demoRepo, "default_branch": "main",
			"owner": map[string]any{"login": owner, "type": "Organization"}},
		"sender": map[string]any{"login": "demo-dev", "type": "User"},
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, d.secret)
	mac.Write(body)
	headers := map[string]string{
		"X-GitHub-Event":      "deployment",
		"X-GitHub-Delivery":   fmt.Sprintf("vigil-demo-%d", id),
		"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(mac.Sum(nil)),
	}
	if err := d.send(ctx, "/api/v1/github/webhook", "application/json", json.RawMessage(body), headers, nil); err != nil {
		return fmt.Errorf("deploy webhook: %w", err)
	}
	return nil
}

func (d *demo) postLogs(ctx context.Context, source string, lines []demoLine) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return d.send(ctx, "/api/v1/logs?source="+url.QueryEscape(source)+"&service="+url.QueryEscape(source)+"&env=production",
		"application/x-ndjson", rawBody(buf.Bytes()), nil, nil)
}

func (d *demo) post(ctx context.Context, path, contentType string, body any) error {
	return d.send(ctx, path, contentType, body, nil, nil)
}

// rawBody is a request body sent as it is.
type rawBody []byte

// send posts body (JSON-encoded unless rawBody or json.RawMessage) and
// decodes a 200 answer into res when it is not nil.
func (d *demo) send(ctx context.Context, path, contentType string, body any, headers map[string]string, res any) error {
	var b []byte
	switch v := body.(type) {
	case rawBody:
		b = v
	case json.RawMessage:
		b = v
	default:
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(answer))
	}
	if res != nil {
		if err := json.Unmarshal(answer, res); err != nil {
			return fmt.Errorf("POST %s: answer: %w", path, err)
		}
	}
	return nil
}
