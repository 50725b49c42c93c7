package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/audit"
	"github.com/vigilops/vigil/store"
)

// stamp formats a time as the store keeps it.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") }

// ackLog holds every alert state Vigil acknowledged.
type ackLog struct {
	mu       sync.Mutex
	requests int
	states   map[string]bool // fingerprint|status|start
}

func (a *ackLog) add(alerts []amAlert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.states == nil {
		a.states = map[string]bool{}
	}
	a.requests++
	for _, al := range alerts {
		a.states[al.Fingerprint+"|"+al.Status+"|"+stamp(al.StartsAt)] = true
	}
}

func (a *ackLog) counts() (requests, alerts int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests, len(a.states)
}

type amAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
}

// alertState is what the sender last said of one alert.
type alertState struct {
	firing bool
	start  time.Time
}

const sendersN = 4
const alertsPerGroup = 4

// send posts Alertmanager payloads at o.rate alerts/s until ctx ends: each a
// group's alerts, firing, now and then one resolving and later firing again
// (with a new start). Each sender owns a share of the groups, so a group's
// payloads go in order, as from Alertmanager.
func send(ctx context.Context, base string, o options, acked *ackLog) {
	var wg sync.WaitGroup
	for w := range sendersN {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(o.seed+uint64(w), 7))
			states := map[string]*alertState{}
			client := &http.Client{Timeout: 10 * time.Second}
			perTick := max(1, o.rate/sendersN/20)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				sent := 0
				for sent < perTick {
					g := w + sendersN*rng.IntN(max(1, (o.groups-w+sendersN-1)/sendersN))
					if g >= o.groups {
						continue
					}
					alerts := groupAlerts(g, rng, states)
					sent += len(alerts)
					if post(ctx, client, base, alerts) {
						acked.add(alerts)
					}
				}
			}
		})
	}
	wg.Wait()
}

func groupAlerts(g int, rng *mrand.Rand, states map[string]*alertState) []amAlert {
	name, svc := fmt.Sprintf("Storm%d", g%7), fmt.Sprintf("svc-%d", g)
	n := 1 + rng.IntN(alertsPerGroup)
	out := make([]amAlert, 0, n)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for k := range n {
		fp := fmt.Sprintf("g%d-a%d", g, k)
		st := states[fp]
		switch {
		case st == nil:
			st = &alertState{firing: true, start: now}
			states[fp] = st
		case st.firing && rng.IntN(20) == 0:
			st.firing = false
		case !st.firing && rng.IntN(3) == 0:
			st.firing, st.start = true, now
		}
		a := amAlert{Status: "firing", Fingerprint: fp, StartsAt: st.start, Annotations: map[string]string{},
			Labels: map[string]string{"alertname": name, "service": svc, "instance": fp, "severity": "critical"}}
		if !st.firing {
			a.Status, a.EndsAt = "resolved", now
		}
		out = append(out, a)
	}
	return out
}

// post sends one payload and reports whether Vigil acknowledged it.
func post(ctx context.Context, client *http.Client, base string, alerts []amAlert) bool {
	body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "vigil", "groupKey": alerts[0].Labels["alertname"] + "/" + alerts[0].Labels["service"], "alerts": alerts})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		time.Sleep(20 * time.Millisecond) // down: the next tick tries again
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// approve approves P1 of every incident awaiting approval, once each, until
// ctx ends: every run comes from one approval, so a run key started twice is
// a step re-run.
func approve(ctx context.Context, base string) {
	client := &http.Client{Timeout: 10 * time.Second}
	done := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
		for _, id := range awaiting(client, base) {
			if done[id] {
				continue
			}
			req, _ := http.NewRequest("POST", base+"/api/v1/incidents/"+url.PathEscape(id)+"/decisions", strings.NewReader(`{"proposal_id":"P1","decision":"approve","comment":"crash storm"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				continue // down: ask again once it is back
			}
			resp.Body.Close()
			// Answered, either way (approved, or refused because P1 is
			// decided already): never ask again, so one approval is one run.
			done[id] = resp.StatusCode < 500
		}
	}
}

func awaiting(client *http.Client, base string) []string {
	resp, err := client.Get(base + "/api/v1/incidents?status=awaiting_approval&limit=500")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Incidents []struct {
			ID string `json:"id"`
		} `json:"incidents"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return nil
	}
	var ids []string
	for _, inc := range body.Incidents {
		ids = append(ids, inc.ID)
	}
	return ids
}

// marks reads the step log: how often each run key started and ended.
func marks(path string) (starts, ends map[string]int) {
	starts, ends = map[string]int{}, map[string]int{}
	f, err := os.Open(path)
	if err != nil {
		return starts, ends
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		switch kind, key, _ := strings.Cut(sc.Text(), " "); kind {
		case "start":
			starts[key]++
		case "end":
			ends[key]++
		}
	}
	return starts, ends
}

// midStep reports whether a step is running now (started, not ended).
func midStep(path string) bool {
	starts, ends := marks(path)
	for k, n := range starts {
		if n > ends[k] {
			return true
		}
	}
	return false
}

// settle waits until no step is running and the incident list stops
// changing for a few seconds.
func settle(base, marksPath string, limit time.Duration) error {
	client := &http.Client{Timeout: 10 * time.Second}
	last, since := "", time.Now()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := client.Get(base + "/api/v1/incidents?limit=1000")
		if err != nil {
			continue
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if cur := b.String(); cur != last {
			last, since = cur, time.Now()
			continue
		}
		if time.Since(since) > 5*time.Second && !midStep(marksPath) {
			return nil
		}
	}
	return fmt.Errorf("still changing after %s", limit)
}

// check compares what was acknowledged and run with what the store holds.
func check(res Result, dsn string, acked *ackLog, marksPath string) (Result, error) {
	engine, target, err := store.ParseDSN(dsn)
	if err != nil {
		return res, err
	}
	driver := "sqlite3"
	if engine == store.Postgres {
		driver = "pgx"
	}
	db, err := sql.Open(driver, target)
	if err != nil {
		return res, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT fingerprint, status, starts_at FROM events WHERE kind = 'alert'`)
	if err != nil {
		return res, fmt.Errorf("read events: %w", err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var fp, st, start string
		if err := rows.Scan(&fp, &st, &start); err != nil {
			rows.Close()
			return res, err
		}
		stored[fp+"|"+st+"|"+start] = true
	}
	rows.Close()
	acked.mu.Lock()
	for k := range acked.states {
		if !stored[k] {
			res.AlertsMissing++
		}
	}
	acked.mu.Unlock()
	if err := db.QueryRow(`SELECT count(*) FROM incidents`).Scan(&res.Incidents); err != nil {
		return res, err
	}
	if err := db.QueryRow(`SELECT count(*) FROM (SELECT group_key FROM incidents WHERE status <> 'resolved' GROUP BY group_key HAVING count(*) > 1) AS multi`).Scan(&res.GroupsMultiOpen); err != nil {
		return res, err
	}
	starts, _ := marks(marksPath)
	for _, n := range starts {
		res.StepRuns += n
		if n > 1 {
			res.StepsRunTwice++
		}
	}
	return res, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// siblingDB is dsn with suffix added to its database's name.
func siblingDB(dsn, suffix string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + suffix
	return u.String(), nil
}

// writeServeConfig writes the vigil.yaml a serve replica needs: one audit
// signing key, shared by every replica.
func writeServeConfig(path, dir string) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pem, err := audit.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	keyPath := filepath.Join(dir, "audit.key")
	if err := os.WriteFile(keyPath, pem, 0o600); err != nil {
		return err
	}
	return os.WriteFile(path, []byte("audit:\n  signing_key: file:"+keyPath+"\n"), 0o600)
}
