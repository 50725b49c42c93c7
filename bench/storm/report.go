package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/vigilops/vigil/analyzers/correlate"
	"github.com/vigilops/vigil/store"
)

// Targets from the issues.
const (
	targetAlertsPerSecond = 20000
	targetF1              = 0.95
	targetThreadP99       = 2 * time.Second
	// Vigil's durable rate over Alertmanager's in-memory one, measured side
	// by side: a single process on SQLite, and replicas on PostgreSQL.
	targetSQLiteOverAlertmanager   = 1.5
	targetReplicasOverAlertmanager = 1.0
)

// Acceptance is how a receiver took a storm's requests in.
type Acceptance struct {
	Seconds         float64        `json:"seconds"`           // first send to last answer
	Answered200     int            `json:"answered_200"`      // requests
	Failed          map[string]int `json:"failed"`            // requests by status ("0": no answer)
	AlertsAccepted  int            `json:"alerts_accepted"`   // alerts in requests answered 200
	AlertsPerSecond float64        `json:"alerts_per_second"` // accepted
	RequestP50      string         `json:"request_p50"`
	RequestP99      string         `json:"request_p99"`
}

// Ingest is how Vigil took the storm in: a 200 means the alerts are stored
// (or spooled), so its alerts/s are accepted durably.
type Ingest struct {
	Acceptance
	NewEvents  int `json:"new_events"` // alerts stored as new events
	Duplicates int `json:"duplicates"`
	// ByReplica counts the payloads each replica answered 200, with more
	// than one.
	ByReplica []int `json:"by_replica,omitempty"`
}

// Setup is how the Vigil under the storm ran.
type Setup struct {
	Store    string `json:"store"` // sqlite or postgres
	Replicas int    `json:"replicas"`
	// Temporal is the Temporal server the replicas share: always the
	// embedded development one, whose persistence is not what is measured.
	Temporal string `json:"temporal"`
}

// embeddedTemporal is Setup.Temporal.
const embeddedTemporal = "one embedded devtemporal server (SQLite-backed) shared by every replica; Temporal's persistence is not what is measured"

// AlertmanagerRun is Alertmanager taking the storm's alerts in: the alerts
// of each of Vigil's payloads posted to its API as one request, with the
// same senders. A 200 means they are in its memory.
type AlertmanagerRun struct {
	Binary  string `json:"binary"`
	Version string `json:"version"`
	Acceptance
	// VigilRatio is Vigil's alerts/s accepted durably over Alertmanager's
	// accepted in memory.
	VigilRatio float64 `json:"vigil_ratio"`
	// Target is what VigilRatio should reach: 1.5 for one process on
	// SQLite, 1 for replicas on PostgreSQL (0 against a Vigil elsewhere).
	Target float64 `json:"target,omitempty"`
}

// acceptance measures the answers to a storm's requests: alerts in requests
// answered 200 over the time from the first send to the last answer.
func acceptance(sent []Sent) Acceptance {
	a := Acceptance{Failed: map[string]int{}}
	var first, last time.Time
	var took []time.Duration
	for _, x := range sent {
		if first.IsZero() || x.At.Before(first) {
			first = x.At
		}
		if end := x.At.Add(x.Took); end.After(last) {
			last = end
		}
		took = append(took, x.Took)
		if x.Status != 200 {
			a.Failed[fmt.Sprint(x.Status)]++
			continue
		}
		a.Answered200++
		a.AlertsAccepted += x.Alerts
	}
	a.Seconds = last.Sub(first).Seconds()
	if a.Seconds > 0 {
		a.AlertsPerSecond = float64(a.AlertsAccepted) / a.Seconds
	}
	a.RequestP50, a.RequestP99 = Percentile(took, 0.5).String(), Percentile(took, 0.99).String()
	return a
}

// Report is the storm's summary; --json prints it as is.
type Report struct {
	Storm struct {
		Incidents         int    `json:"incidents"`
		AlertsPerIncident int    `json:"alerts_per_incident"`
		Noise             int    `json:"noise"`
		Flapping          int    `json:"flapping"`
		Concurrency       int    `json:"concurrency"`
		Duration          string `json:"duration"`
		SimulatedSpan     string `json:"simulated_span"`
		Payloads          int    `json:"payloads"`
		Alerts            int    `json:"alerts"`          // alerts in all payloads, resends included
		DistinctAlerts    int    `json:"distinct_alerts"` // by fingerprint
		TrueIncidents     int    `json:"true_incidents"`  // cascades, noise and flapping alerts
		// NeverFiring counts alerts Alertmanager only ever sent resolved
		// (they fired and resolved between two flushes of their group); they
		// are left out of the truth.
		NeverFiring      int     `json:"never_firing"`
		AlertsPerPayload float64 `json:"alerts_per_payload"`
	} `json:"storm"`
	Ingest Ingest `json:"ingest"`
	// Vigil is how Vigil ran; nil when it runs elsewhere (--url).
	Vigil *Setup `json:"vigil,omitempty"`
	// Alertmanager is Debian's Alertmanager taking the same alerts in the
	// same run (--alertmanager); nil when it did not run.
	Alertmanager *AlertmanagerRun `json:"alertmanager,omitempty"`
	// Grouping and Thread are measured in the store of the Vigil this
	// process runs; nil against an external one (--url).
	Grouping *Grouping `json:"grouping,omitempty"`
	Thread   *Thread   `json:"thread,omitempty"`
	// Offline is analyzers/correlate's grouping of the same firings with the
	// storm's dependency graph, run over them in order, away from ingest's
	// timing: what routing through it would give at best.
	Offline struct {
		Incidents int     `json:"incidents"`
		Precision float64 `json:"precision"`
		Recall    float64 `json:"recall"`
		F1        float64 `json:"f1"`
	} `json:"offline_correlate"`
	SettleSeconds float64 `json:"settle_seconds"`
	// Drained: the outbox emptied, every incident posted its summary and
	// every alert reached an incident before --settle ran out.
	Drained     bool `json:"drained"`
	OutboxEmpty bool `json:"outbox_empty"`
	// External is the receiver's URL when the storm was sent to a Vigil
	// running elsewhere (--url): only ingest is measured then.
	External string `json:"external,omitempty"`
	Targets  struct {
		AlertsPerSecond bool  `json:"alerts_per_second"`
		F1              *bool `json:"f1,omitempty"`
		ThreadP99       *bool `json:"thread_p99,omitempty"`
		// VersusAlertmanager: Vigil's rate reached Alertmanager.Target
		// times Alertmanager's.
		VersusAlertmanager *bool `json:"versus_alertmanager,omitempty"`
	} `json:"targets_met"`
}

// Grouping scores the incidents Vigil opened against the true ones.
type Grouping struct {
	IncidentsOpened int     `json:"incidents_opened"`
	TrueIncidents   int     `json:"true_incidents"`
	Precision       float64 `json:"precision"`
	Recall          float64 `json:"recall"`
	F1              float64 `json:"f1"`
	Unassigned      int     `json:"unassigned"` // alerts in no incident's projection
	// UnassignedExamples are up to 10 of them, by fingerprint.
	UnassignedExamples []string `json:"unassigned_examples,omitempty"`
}

// Thread times the incidents' threads.
type Thread struct {
	P50 string `json:"p50"`
	P99 string `json:"p99"`
	Max string `json:"max"`
	// Measured counts incidents opened by a payload's answer; Missing
	// those without a summary post by the deadline; Unattributed those no
	// answer named (opened by the dispatcher rerouting events of a
	// finished incident).
	Measured     int `json:"measured"`
	Missing      int `json:"missing"`
	Unattributed int `json:"unattributed"`
	// Workflow is alert → the workflow's first post of its own beyond
	// the summary (the evidence of its first task): when the thread
	// starts to fill in. P50..Max above time the thread's opening, which
	// the announcer usually posts ahead of the workflow.
	Workflow struct {
		P50     string `json:"p50"`
		P99     string `json:"p99"`
		Max     string `json:"max"`
		Missing int    `json:"missing"`
	} `json:"workflow_first_post"`
	// Stages split the workflow's latency for the measured incidents:
	// from the send to the dispatcher starting the first delivery (the
	// outbox wait and its queue), the delivery itself (SignalWithStart),
	// and from it to the workflow's first post (its first task and
	// activity).
	Stages struct {
		DispatchP50 string `json:"dispatch_p50"`
		DispatchP99 string `json:"dispatch_p99"`
		SignalP50   string `json:"signal_p50"`
		SignalP99   string `json:"signal_p99"`
		WorkflowP50 string `json:"workflow_p50"`
		WorkflowP99 string `json:"workflow_p99"`
	} `json:"stages"`
}

// compare adds Alertmanager's run of the same storm, and Vigil's rate over
// its rate.
func (r *Report) compare(am *AlertmanagerRun) {
	r.Alertmanager = am
	if am.AlertsPerSecond > 0 {
		am.VigilRatio = r.Ingest.AlertsPerSecond / am.AlertsPerSecond
	}
	if r.Vigil == nil {
		return // a Vigil elsewhere, run we know not how
	}
	am.Target = targetReplicasOverAlertmanager
	if r.Vigil.Store == string(store.SQLite) {
		am.Target = targetSQLiteOverAlertmanager
	}
	met := am.VigilRatio >= am.Target
	r.Targets.VersusAlertmanager = &met
}

// addOffline scores analyzers/correlate run offline over the storm.
func (r *Report) addOffline(s *Storm) error {
	offline, incidents, err := correlateOffline(s, correlate.DefaultConfig())
	if err != nil {
		return err
	}
	r.Offline.Precision, r.Offline.Recall, r.Offline.F1 = Pairwise(s.Truth, offline)
	r.Offline.Incidents = incidents
	return nil
}

// newReport summarises the storm; obs is what the store showed after it,
// nil when Vigil ran elsewhere (--url).
func newReport(o options, s *Storm, sent []Sent, obs *observation, settled time.Duration) *Report {
	r := &Report{}
	st := &r.Storm
	st.Incidents, st.AlertsPerIncident, st.Noise, st.Flapping = o.spec.Incidents, o.spec.AlertsPerIncident, o.spec.Noise, o.spec.Flapping
	st.Concurrency, st.Duration, st.SimulatedSpan = o.concurrency, o.duration.String(), s.Span.String()
	st.Payloads, st.DistinctAlerts, st.TrueIncidents, st.NeverFiring = len(s.Payloads), len(s.Truth), s.Clusters, s.Invisible
	for _, p := range s.Payloads {
		st.Alerts += p.Alerts
	}
	if st.Payloads > 0 {
		st.AlertsPerPayload = float64(st.Alerts) / float64(st.Payloads)
	}

	in := &r.Ingest
	in.Acceptance = acceptance(sent)
	opener := map[string]time.Time{}
	if o.replicas > 1 {
		in.ByReplica = make([]int, o.replicas)
	}
	for _, x := range sent {
		if x.Status != 200 {
			continue
		}
		in.NewEvents += x.Accepted
		in.Duplicates += x.Duplicates
		if in.ByReplica != nil {
			in.ByReplica[x.To]++
		}
		for _, id := range x.Incidents {
			if t, ok := opener[id]; !ok || x.At.Before(t) {
				opener[id] = x.At
			}
		}
	}
	r.Targets.AlertsPerSecond = in.AlertsPerSecond >= targetAlertsPerSecond
	if obs == nil {
		r.External = o.url
		return r
	}
	r.Vigil = &Setup{Store: "sqlite", Replicas: max(o.replicas, 1), Temporal: embeddedTemporal}
	if o.storeDSN != "" {
		engine, _, _ := store.ParseDSN(o.storeDSN)
		r.Vigil.Store = string(engine)
	}

	// Spooled answers name no incidents: those are timed from their alerts.
	for id, t := range openerByAlerts(s, sent, obs.Assigned) {
		if _, named := opener[id]; !named {
			opener[id] = t
		}
	}
	g := &Grouping{}
	r.Grouping = g
	g.IncidentsOpened, g.TrueIncidents = len(obs.Incidents), s.Clusters
	g.Precision, g.Recall, g.F1 = Pairwise(s.Truth, obs.Assigned)
	for _, fp := range slices.Sorted(maps.Keys(s.Truth)) {
		if _, ok := obs.Assigned[fp]; !ok {
			g.Unassigned++
			if len(g.UnassignedExamples) < 10 {
				g.UnassignedExamples = append(g.UnassignedExamples, fp)
			}
		}
	}

	th := &Thread{}
	r.Thread = th
	var lat, enriched, dispatch, signal, wf []time.Duration
	for _, id := range obs.Incidents {
		sentAt, ok := opener[id]
		if !ok {
			th.Unattributed++
			continue
		}
		if posted, has := obs.Summaries[id]; has {
			lat = append(lat, posted.Sub(sentAt))
		} else {
			th.Missing++
		}
		posted, has := obs.Enriched[id]
		if !has {
			th.Workflow.Missing++
			continue
		}
		enriched = append(enriched, posted.Sub(sentAt))
		if h, ok := obs.HandOvers[id]; ok {
			dispatch, signal, wf = append(dispatch, h.Start.Sub(sentAt)), append(signal, h.End.Sub(h.Start)), append(wf, posted.Sub(h.End))
		}
	}
	th.Workflow.P50, th.Workflow.P99, th.Workflow.Max = Percentile(enriched, 0.5).String(), Percentile(enriched, 0.99).String(), Percentile(enriched, 1).String()
	sg := &th.Stages
	sg.DispatchP50, sg.DispatchP99 = Percentile(dispatch, 0.5).String(), Percentile(dispatch, 0.99).String()
	sg.SignalP50, sg.SignalP99 = Percentile(signal, 0.5).String(), Percentile(signal, 0.99).String()
	sg.WorkflowP50, sg.WorkflowP99 = Percentile(wf, 0.5).String(), Percentile(wf, 0.99).String()
	th.Measured = len(lat)
	th.P50, th.P99 = Percentile(lat, 0.5).String(), Percentile(lat, 0.99).String()
	th.Max = Percentile(lat, 1).String()

	r.SettleSeconds, r.Drained, r.OutboxEmpty = settled.Seconds(), obs.Drained, obs.OutboxEmpty
	f1Met := g.F1 >= targetF1
	threadMet := th.Missing == 0 && th.Measured > 0 && Percentile(lat, 0.99) < targetThreadP99
	r.Targets.F1, r.Targets.ThreadP99 = &f1Met, &threadMet
	return r
}

func (r *Report) print(w io.Writer) {
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	st, in, g, th := r.Storm, r.Ingest, r.Grouping, r.Thread
	fmt.Fprintf(w, "storm: %d incidents × %d alerts, %d noise, %d flapping → %d payloads, %d alerts (%.1f per payload; %d distinct alerts sent firing, %d only ever sent resolved) over %s simulated; %d senders\n",
		st.Incidents, st.AlertsPerIncident, st.Noise, st.Flapping, st.Payloads, st.Alerts, st.AlertsPerPayload, st.DistinctAlerts, st.NeverFiring, st.SimulatedSpan, st.Concurrency)
	if v := r.Vigil; v != nil {
		fmt.Fprintf(w, "vigil: %d replica(s) on %s, every role each; %s\n", v.Replicas, v.Store, v.Temporal)
	}
	fmt.Fprintf(w, "ingest: %d alerts accepted durably in %.2fs = %.0f alerts/s (target %d: %s); %d new events, %d duplicates; request p50 %s p99 %s\n",
		in.AlertsAccepted, in.Seconds, in.AlertsPerSecond, targetAlertsPerSecond, met(r.Targets.AlertsPerSecond), in.NewEvents, in.Duplicates, in.RequestP50, in.RequestP99)
	if len(in.ByReplica) > 0 {
		fmt.Fprintf(w, "ingest: payloads accepted by replica: %v\n", in.ByReplica)
	}
	if am := r.Alertmanager; am != nil {
		fmt.Fprintf(w, "alertmanager %s, before Vigil in the same run: %d alerts accepted in memory in %.2fs = %.0f alerts/s; request p50 %s p99 %s",
			am.Version, am.AlertsAccepted, am.Seconds, am.AlertsPerSecond, am.RequestP50, am.RequestP99)
		for _, k := range slices.Sorted(maps.Keys(am.Failed)) {
			fmt.Fprintf(w, "; failed %s×%d", k, am.Failed[k])
		}
		fmt.Fprintln(w)
		if r.Targets.VersusAlertmanager != nil {
			fmt.Fprintf(w, "vigil/alertmanager: %.0f / %.0f alerts/s = %.2f× (target ≥ %.1f×: %s)\n",
				in.AlertsPerSecond, am.AlertsPerSecond, am.VigilRatio, am.Target, met(*r.Targets.VersusAlertmanager))
		} else {
			fmt.Fprintf(w, "vigil/alertmanager: %.0f / %.0f alerts/s = %.2f×\n", in.AlertsPerSecond, am.AlertsPerSecond, am.VigilRatio)
		}
	}
	if len(in.Failed) > 0 {
		fmt.Fprintf(w, "ingest: failed payloads by status:")
		for _, k := range slices.Sorted(maps.Keys(in.Failed)) {
			fmt.Fprintf(w, " %s×%d", k, in.Failed[k])
		}
		fmt.Fprintln(w)
	}
	if g == nil || th == nil {
		fmt.Fprintf(w, "grouping and threads: not measured: Vigil at %s runs elsewhere (run without --url to measure them)\n", r.External)
		r.printOffline(w)
		return
	}
	fmt.Fprintf(w, "grouping: %d incidents opened for %d true ones; pairwise precision %.3f recall %.3f F1 %.3f (target %.2f: %s); %d alerts in no incident\n",
		g.IncidentsOpened, g.TrueIncidents, g.Precision, g.Recall, g.F1, targetF1, met(*r.Targets.F1), g.Unassigned)
	fmt.Fprintf(w, "thread: alert → first post p50 %s p99 %s max %s over %d incidents (target p99 < %s: %s); %d without a post, %d unattributed\n",
		th.P50, th.P99, th.Max, th.Measured, targetThreadP99, met(*r.Targets.ThreadP99), th.Missing, th.Unattributed)
	fmt.Fprintf(w, "thread: alert → workflow's first post of its own (evidence) p50 %s p99 %s max %s; %d without one\n",
		th.Workflow.P50, th.Workflow.P99, th.Workflow.Max, th.Workflow.Missing)
	sg := th.Stages
	fmt.Fprintf(w, "thread: workflow stages p50/p99: send → dispatcher %s/%s, SignalWithStart %s/%s, signal → workflow's first post %s/%s\n",
		sg.DispatchP50, sg.DispatchP99, sg.SignalP50, sg.SignalP99, sg.WorkflowP50, sg.WorkflowP99)
	r.printOffline(w)
	fmt.Fprintf(w, "settled in %.1fs (drained: %v; outbox empty: %v)\n", r.SettleSeconds, r.Drained, r.OutboxEmpty)
	if len(g.UnassignedExamples) > 0 {
		fmt.Fprintf(w, "alerts in no incident (fingerprints): %v\n", g.UnassignedExamples)
	}
}

func (r *Report) printOffline(w io.Writer) {
	fmt.Fprintf(w, "offline analyzers/correlate on the same firings: %d incidents; precision %.3f recall %.3f F1 %.3f\n",
		r.Offline.Incidents, r.Offline.Precision, r.Offline.Recall, r.Offline.F1)
}

// openerByAlerts attributes incidents when answers name none (spooled): an
// incident opened with the first sent payload carrying a firing alert it
// holds. An incident that took in alerts of one merged into it counts from
// the earliest of them, so this errs towards longer latencies.
func openerByAlerts(s *Storm, sent []Sent, assigned map[string]string) map[string]time.Time {
	opener := map[string]time.Time{}
	for i, p := range s.Payloads {
		x := sent[i]
		if x.Status != 200 {
			continue
		}
		var body struct {
			Alerts []struct {
				Status      string `json:"status"`
				Fingerprint string `json:"fingerprint"`
			} `json:"alerts"`
		}
		if json.Unmarshal(p.Body, &body) != nil {
			continue
		}
		for _, a := range body.Alerts {
			id, ok := assigned[a.Fingerprint]
			if !ok || a.Status != "firing" {
				continue
			}
			if t, seen := opener[id]; !seen || x.At.Before(t) {
				opener[id] = x.At
			}
		}
	}
	return opener
}
