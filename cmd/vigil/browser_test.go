package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigilops/vigil/config"
)

// chromiumPath is where Debian's chromium package installs the browser; .ci/run
// installs it. VIGIL_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserDemo drives the real console in headless Chromium through the
// story `vigil dev --demo` plays, as an on-call engineer would: open the
// incident from the list, find the four kinds of evidence and their charts,
// read the likely cause and the recommended rollback at the top of the
// thread without scrolling, approve it with a comment, watch the live thread
// run the steps and resolve the incident, then read its timeline and the
// report. It checks the rollback really ran, and saves screenshots to
// $VIGIL_SCREENSHOTS (default: the test's temporary directory) for humans;
// 2-incident.png is the README's docs/demo.png.
func TestBrowserDemo(t *testing.T) {
	bin := chromiumPath
	if p := os.Getenv("VIGIL_CHROMIUM"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no Chromium at %s (Debian: apt-get install chromium; or set VIGIL_CHROMIUM): %v", bin, err)
	}
	shots := os.Getenv("VIGIL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o750); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vigil logs:\n%s", logs)
		}
	})

	var cfg config.Config
	v := startVigilWith(t, t.TempDir(), logs, func(c *config.Config) {
		if err := demoConfig(c); err != nil {
			t.Fatal(err)
		}
		cfg = *c
	})
	defer func() { _ = v.stop() }()
	story := &syncBuffer{}
	d, err := newDemo(v.url, cfg, story)
	if err != nil {
		t.Fatal(err)
	}
	id, err := d.play(context.Background())
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, story)
	}
	t.Logf("demo:%s", story)
	// Log anomalies close with the detectors' intervals, a few seconds after
	// the lines arrive.
	inc := waitFor(t, v, id, "awaiting approval with all four kinds of evidence", func(inc map[string]any) bool {
		return inc["status"] == "awaiting_approval" && len(evidenceKinds(inc)) == 4
	})
	if c := inc["candidates"].([]any); len(c) == 0 || c[0].(map[string]any)["component"] != "payments" {
		t.Errorf("candidates = %v, want payments first", c)
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()

	shot := func(name string, full bool) {
		t.Helper()
		var png []byte
		var err error
		if full {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		} else {
			png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(shots, name), png, 0o644)
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		t.Logf("screenshot: %s", filepath.Join(shots, name))
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shot("failed.png", true)
			t.Fatalf("browser: %s: %v (screenshots in %s)", what, err, shots)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	link := `a[href="/incidents/` + id + `"]`
	approve := `#recommended button[value^="approve:P1"]`
	do("open the incident list", chromedp.Navigate(v.url+"/"), chromedp.WaitVisible(link))
	shot("1-incidents.png", false)
	do("open the incident", chromedp.Click(link), chromedp.WaitVisible(approve), chromedp.WaitVisible(`section[aria-label="Timeline"]`))
	shot("2-incident.png", false)

	evidence := text(`section[aria-label="Evidence"]`)
	for _, kind := range []string{"alert", "change", "metric_anomaly", "log_anomaly"} {
		if !strings.Contains(evidence, kind) {
			t.Errorf("evidence panel lacks %s:\n%s", kind, evidence)
		}
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('section[aria-label="Evidence"] svg.spark').length`))
	if err != nil || charts < 6 {
		t.Errorf("evidence charts: %d (%v), want one per anomalous series (6)", charts, err)
	}
	// Nothing runs out of its card: not the long series names and label sets
	// of the evidence panel, nor the thread's messages.
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.panel, .ev, .cand, .prop, .msg')].filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className + ": " + e.textContent.trim().slice(0, 80))`))
	if err != nil || len(overflow) != 0 {
		t.Errorf("cards whose content runs out of them (%v):\n%s", err, strings.Join(overflow, "\n"))
	}
	// innerText follows the CSS, which capitalises the headline's keys.
	headline := strings.ToLower(strings.Join(strings.Fields(text(`#live .msg.summary .headline`)), " "))
	for _, want := range []string{"likely cause payments", "strongest factor", "recommended p1 roll back to the previous release directory"} {
		if !strings.Contains(headline, want) {
			t.Errorf("root message lacks %q:\n%s", want, headline)
		}
	}
	// In a 1400×900 window the recommended action's Approve button is above
	// the fold, without scrolling.
	fold, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('`+approve+`').getBoundingClientRect().bottom - window.innerHeight`))
	if err != nil || fold > 0 {
		t.Errorf("Approve P1 ends %.0f px below the fold (%v)", fold, err)
	}

	start := time.Now()
	do("approve P1 with a comment",
		chromedp.SendKeys(`#recommended input[name=comment]`, "deploy at the onset, rolling back from the browser test"),
		chromedp.Click(approve),
		chromedp.WaitVisible(`.flash.ok`),
		// The live thread (server-sent events) shows the run and the resolution
		// without a reload.
		chromedp.WaitVisible(`#live h1 .badge.resolved`))
	flash := text(`.flash.ok`)
	thread := text(`section.thread`)
	shot("3-incident-resolved.png", true)
	t.Logf("approved and resolved in the browser in %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(flash, "local-operator approved P1") {
		t.Errorf("flash after approving: %q", flash)
	}
	for _, want := range []string{"Step 3/5 switch: succeeded (exit 0", "Runbook rollback-release (P1) succeeded."} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread on the page lacks %q:\n%s", want, thread)
		}
	}
	folded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#m-proposal-P1.folded details:not([open])')`))
	if err != nil || !folded {
		t.Errorf("the decided proposal P1 is not folded (%v)", err)
	}
	if live, err := os.Readlink(filepath.Join(d.release, "current")); err != nil || live != filepath.Join("releases", demoGoodRel) {
		t.Errorf("current -> %q (%v), want the rollback to %s", live, err, demoGoodRel)
	}
	inc = waitFor(t, v, id, "resolved", hasStatus("resolved"))
	decisions, _ := inc["decisions"].([]any)
	if len(decisions) != 1 || !strings.Contains(fmt.Sprint(decisions[0]), "from the browser test") {
		t.Errorf("decisions = %v, want one with the comment typed in the browser", decisions)
	}

	do("open the timeline", chromedp.Click(`a[href="/incidents/`+id+`/timeline"]`), chromedp.WaitVisible(`p.crumbs`))
	shot("4-timeline.png", true)
	if tl := text(`main`); !strings.Contains(tl, "approved P1") || !strings.Contains(tl, "rollback-release") {
		t.Errorf("timeline page lacks the approval and the run:\n%s", tl)
	}
	do("open the report", chromedp.Click(`a[href="/reports"]`), chromedp.WaitVisible(`form.report-query`))
	shot("5-report.png", true)
	if rep := text(`main`); !strings.Contains(rep, "payments") || !strings.Contains(rep, "rollback-release") {
		t.Errorf("report page lacks the incident's service and runbook:\n%s", rep)
	}
}

// evidenceKinds are the kinds of evidence an incident (from the API) holds.
func evidenceKinds(inc map[string]any) map[string]bool {
	kinds := map[string]bool{}
	ev, _ := inc["evidence"].([]any)
	for _, e := range ev {
		if k, ok := e.(map[string]any)["kind"].(string); ok {
			kinds[k] = true
		}
	}
	return kinds
}
