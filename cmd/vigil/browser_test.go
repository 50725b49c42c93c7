package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package installs the browser; .ci/run
// installs it. VIGIL_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserApprove drives the real console in headless Chromium as an
// on-call engineer would: open the incident from the list, read the proposal,
// approve it with a comment, and watch the live thread until the incident
// resolves. It checks the runbook really ran, and saves screenshots to
// $VIGIL_SCREENSHOTS (default: the test's temporary directory) for humans.
func TestBrowserApprove(t *testing.T) {
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
	scratch := t.TempDir()
	stale := filepath.Join(scratch, "stale.tmp")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	v := startVigil(t, t.TempDir(), logs)
	defer func() { _ = v.stop() }()
	status, body := call(t, "POST", v.url+"/api/v1/alerts/alertmanager", alertPayload(scratch))
	if status != 200 {
		t.Fatalf("ingest: %d %v", status, body)
	}
	id := body["incidents"].([]any)[0].(string)
	waitFor(t, v, id, "awaiting_approval", hasStatus("awaiting_approval"))

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1100),
	)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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
			shot("failed.png")
			t.Fatalf("browser: %s: %v (screenshots in %s)", what, err, shots)
		}
	}
	link := `a[href="/incidents/` + id + `"]`
	approve := `button[value^="approve:P1"]`
	start := time.Now()
	do("open the incident list", chromedp.Navigate(v.url+"/"), chromedp.WaitVisible(link))
	shot("1-incidents.png")
	do("open the incident", chromedp.Click(link), chromedp.WaitVisible(approve), chromedp.WaitVisible(`section[aria-label="Timeline"]`))
	shot("2-incident-awaiting-approval.png")
	do("approve P1 with a comment",
		chromedp.SendKeys(`#m-proposal-P1 input[name=comment]`, "disk at 93%, approved from the browser test"),
		chromedp.Click(approve),
		chromedp.WaitVisible(`.flash.ok`),
		// The live thread (server-sent events) shows the run and the resolution
		// without a reload.
		chromedp.WaitVisible(`#live h1 .badge.resolved`))
	flash, err := chromedp.Run(ctx, chromedp.Text(`.flash.ok`))
	if err != nil {
		t.Fatal(err)
	}
	thread, err := chromedp.Run(ctx, chromedp.Text(`section.thread`))
	if err != nil {
		t.Fatal(err)
	}
	shot("3-incident-resolved.png")
	t.Logf("approved and resolved in the browser in %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(flash, "local-operator approved P1") {
		t.Errorf("flash after approving: %q", flash)
	}
	for _, want := range []string{"Step 2/3 delete-old-tmp: succeeded (exit 0", "Runbook clean-temp-files (P1) succeeded."} {
		if !strings.Contains(thread, want) {
			t.Errorf("thread on the page lacks %q:\n%s", want, thread)
		}
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale.tmp still exists: the runbook did not run (%v)", err)
	}
	inc := waitFor(t, v, id, "resolved", hasStatus("resolved"))
	decisions, _ := inc["decisions"].([]any)
	if len(decisions) != 1 || !strings.Contains(fmt.Sprint(decisions[0]), "approved from the browser test") {
		t.Errorf("decisions = %v, want one with the comment typed in the browser", decisions)
	}
}
