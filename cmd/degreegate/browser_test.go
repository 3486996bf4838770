package main

// The public page in a real browser: headless Chromium (Debian's chromium
// package) drives `degreegate dev` as a visitor would, with JavaScript
// switched off, since the page must work without it.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

const chromiumPath = "/usr/bin/chromium"

// startDevForBrowser runs `degreegate dev` on a free port and returns its
// address, the records of samples.json and the demo holder token; it
// stops the server with SIGTERM when the test ends.
func startDevForBrowser(t *testing.T) (string, []registry.Record, string) {
	t.Helper()
	dir := t.TempDir()
	base, _ := startDev(t, dir)
	var samples struct {
		Records []registry.Record `json:"records"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "samples.json"))
	if err != nil || json.Unmarshal(b, &samples) != nil {
		t.Fatalf("samples.json: %v", err)
	}
	return base, samples.Records, devTokens(t, dir)["holder"]
}

// startDev runs `degreegate dev --state-dir dir` on a free port until stop
// is called or the test ends, and returns its address.
func startDev(t *testing.T, dir string) (base string, stop func()) {
	t.Helper()
	cmd := exec.Command(binary, "dev", "--records", "3000", "--state-dir", dir, "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
			}
		})
	}
	t.Cleanup(stop)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case base = <-addr:
	case <-time.After(60 * time.Second):
		t.Fatal("dev did not start listening")
	}
	return base, stop
}

// devTokens reads the demo tokens dev wrote into dir.
func devTokens(t *testing.T, dir string) map[string]string {
	t.Helper()
	var tokens map[string]string
	b, err := os.ReadFile(filepath.Join(dir, "tokens.json"))
	if err != nil || json.Unmarshal(b, &tokens) != nil {
		t.Fatalf("tokens.json: %v", err)
	}
	return tokens
}

// newBrowser starts headless Chromium with a fresh profile; its console
// (CSP violations, failed loads) is collected for the test to check.
func newBrowser(t *testing.T, downloads string) (context.Context, func() []string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("the browser test needs Debian's chromium package at %s (apt-get install chromium fonts-noto-cjk)", chromiumPath)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	var mu sync.Mutex
	var console []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				console = append(console, m.String())
				mu.Unlock()
			}
		}
	}()
	// No JavaScript: the page must work without it (it has none, and its
	// CSP would refuse any).
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	yes := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &yes,
	}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), console...)
	}
}

// fillAndSubmit opens the page, types the number and name and presses the
// button, as a person would; it returns the answer's HTTP status.
func fillAndSubmit(t *testing.T, ctx context.Context, page, cert, name string) int64 {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("certificate_number")),
		chromedp.SendKeys(chromedp.ID("certificate_number"), cert),
		chromedp.SendKeys(chromedp.ID("name"), name),
	); err != nil {
		t.Fatalf("fill the form: %v", err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("form[action='/verify'] button[type=submit]")))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return resp.Status
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func TestBrowserVerifiesThroughThePage(t *testing.T) {
	downloads := t.TempDir()
	ctx, consoleErrors := newBrowser(t, downloads)
	base, samples, holderToken := startDevForBrowser(t)
	var filed, revoked *registry.Record
	for i := range samples {
		switch samples[i].Status {
		case registry.StatusFiled:
			if filed == nil {
				filed = &samples[i]
			}
		case registry.StatusRevoked:
			revoked = &samples[i]
		}
	}
	if filed == nil || revoked == nil {
		t.Fatal("samples.json lacks a filed or a revoked record")
	}

	// The start page, in the browser's language (Chinese).
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("certificate_number"))); err != nil {
		t.Fatal(err)
	}
	if lang, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang")); lang.Value != "zh-Hans" {
		t.Errorf("start page in %q for a Chinese browser", lang.Value)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		savePNG(t, "home-zh.png", shot)
	}

	// A valid degree.
	if st := fillAndSubmit(t, ctx, base+"/", filed.CertificateNumber, filed.Name); st != 200 {
		t.Fatalf("verify: HTTP %d", st)
	}
	masked, _ := policies.MaskName.Apply(filed.Name, policies.ApplyOptions{})
	if got := text(t, ctx, "#status strong"); got != "有效" {
		t.Errorf("status %q, want 有效", got)
	}
	if got := text(t, ctx, `dd[data-field="name"]`); got != masked || got == filed.Name {
		t.Errorf("name shown as %q, want the masked %q", got, masked)
	}
	if got := text(t, ctx, "#certificate"); got != filed.CertificateNumber {
		t.Errorf("certificate number shown as %q", got)
	}
	if got := text(t, ctx, ".qr-link"); !strings.HasPrefix(got, base+"/?certificate_number="+filed.CertificateNumber) {
		t.Errorf("QR code links to %q", got)
	}
	body := text(t, ctx, "body")
	for what, v := range map[string]string{"ID number": filed.IDNumber, "birth date": filed.BirthDate.String(), "phone": filed.Phone, "e-mail": filed.Email} {
		if v != "" && strings.Contains(body, v) {
			t.Errorf("the page shows the %s", what)
		}
	}
	// The style sheet applied (CSP allowed it): the status box is green.
	styles, err := chromedp.Run(ctx, chromedp.ComputedStyle(chromedp.CSS(".status")))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range styles {
		if s.Name == "background-color" && s.Value != "rgb(231, 245, 236)" {
			t.Errorf("status background %s: the style sheet did not apply", s.Value)
		}
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	savePNG(t, "verify-valid-zh.png", shot)
	checkQR(t, shot, text(t, ctx, ".qr-link"))

	// The receipt downloads as a file, identical to the one on the page.
	receipt := text(t, ctx, "#receipt")
	done := make(chan browser.EventDownloadProgress, 1)
	events := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if ev.State == browser.DownloadProgressStateCompleted || ev.State == browser.DownloadProgressStateCanceled {
				done <- ev
				return
			}
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("receipt-download"))); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-done:
		got, err := os.ReadFile(filepath.Join(downloads, ev.GUID))
		if ev.State != browser.DownloadProgressStateCompleted || err != nil || string(got) != receipt || receipt == "" {
			t.Errorf("receipt download: state %s, %v, %d bytes, want the %d of the page", ev.State, err, len(got), len(receipt))
		}
	case <-time.After(20 * time.Second):
		t.Error("the receipt did not download")
	}

	// Printed, the result stands alone: no forms, no navigation, no receipt.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{"header.site", ".receipt", ".again"} {
		if d := display(t, ctx, sel); d != "none" {
			t.Errorf("printed, %s is displayed (%s)", sel, d)
		}
	}
	if d := display(t, ctx, ".status"); d == "none" {
		t.Error("printed, the status is hidden")
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		savePNG(t, "verify-valid-print.png", shot)
	}
	chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})

	// A revoked degree, in English.
	if st := fillAndSubmit(t, ctx, base+"/?lang=en", revoked.CertificateNumber, revoked.Name); st != 200 {
		t.Fatalf("verify revoked: HTTP %d", st)
	}
	if got := text(t, ctx, "#status strong"); got != "Revoked" {
		t.Errorf("revoked status %q", got)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		savePNG(t, "verify-revoked-en.png", shot)
	}

	// A wrong name: no match, and the name is not shown back.
	const wrong = "错名测试"
	if st := fillAndSubmit(t, ctx, base+"/", filed.CertificateNumber, wrong); st != 200 {
		t.Fatalf("verify wrong name: HTTP %d", st)
	}
	if got := text(t, ctx, "#status strong"); got != "未找到匹配的学位" {
		t.Errorf("wrong name: status %q", got)
	}
	if strings.Contains(text(t, ctx, "body"), wrong) {
		t.Error("the wrong name is shown back")
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("name"))); v != "" {
		t.Error("the name field is filled in again")
	}

	// A number of the wrong shape never leaves the browser: the form's own
	// constraints (the same as the server's) hold it back.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/?lang=en"),
		chromedp.SendKeys(chromedp.ID("certificate_number"), "12-345"),
		chromedp.SendKeys(chromedp.ID("name"), filed.Name),
		chromedp.Click(chromedp.CSS("form[action='/verify'] button[type=submit]")),
		chromedp.Sleep(500*time.Millisecond),
	); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/?lang=en" {
		t.Errorf("a malformed number was submitted: at %s", loc)
	}

	// A code the holder of samples[0] shares: typed into the code form,
	// it opens the shared report, whose QR code leads back to it.
	code := issueCode(t, base, holderToken, samples[0].CertificateNumber)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.SendKeys(chromedp.ID("code"), strings.ToLower(code)),
	); err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("form[action='/'] button[type=submit]")))
	if err != nil || resp.Status != 200 {
		t.Fatalf("code form: %v %v", err, resp)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/code/"+code+"?lang=zh" {
		t.Errorf("code form led to %s", loc)
	}
	if got := text(t, ctx, "#status strong"); got != "有效" && samples[0].Status == registry.StatusFiled {
		t.Errorf("shared report status %q", got)
	}
	if got := text(t, ctx, ".qr-link"); got != base+"/code/"+code+"?lang=zh" {
		t.Errorf("shared report's QR code links to %q", got)
	}
	if got := text(t, ctx, "#certificate"); got != samples[0].CertificateNumber {
		t.Errorf("shared report for %q", got)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		savePNG(t, "code-view-zh.png", shot)
		checkQR(t, shot, base+"/code/"+code+"?lang=zh")
	}

	for _, m := range consoleErrors() {
		// The browser's own complaints about this sandbox are not the page's.
		if strings.Contains(m, "Content Security Policy") || strings.Contains(m, base) {
			t.Errorf("browser console: %s", m)
		}
	}
}

func display(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	styles, err := chromedp.Run(ctx, chromedp.ComputedStyle(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("style of %s: %v", sel, err)
	}
	for _, s := range styles {
		if s.Name == "display" {
			return s.Value
		}
	}
	return ""
}

// checkQR reads the QR code in a screenshot with an independent decoder
// (zbarimg, Debian's zbar-tools) when one is installed, and checks that
// it opens want.
func checkQR(t *testing.T, png []byte, want string) {
	t.Helper()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Log("zbarimg not installed (apt-get install zbar-tools): the QR code is not decoded")
		return
	}
	f := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(f, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--quiet", "--raw", f).Output()
	if got := strings.TrimSpace(string(out)); err != nil || got != want {
		t.Errorf("the QR code reads %q (%v), want %q", got, err, want)
	}
}

// savePNG keeps a screenshot with the test's files, and also in
// DEGREEGATE_SCREENSHOTS when set, for a person to look at.
func savePNG(t *testing.T, name string, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("%s: not a PNG", name)
		return
	}
	dirs := []string{t.TempDir()}
	if d := os.Getenv("DEGREEGATE_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// issueCode asks the holder API for a share code, as the holder's own app
// would, and returns it as shown to the holder.
func issueCode(t *testing.T, base, holderToken, cert string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/holder/codes", strings.NewReader(`{"certificate_number":"`+cert+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+holderToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var issued struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&issued); err != nil || resp.StatusCode != 201 || issued.Code == "" {
		t.Fatalf("issue a share code: HTTP %d, %v", resp.StatusCode, err)
	}
	return issued.Code
}

// TestBrowserChecksAReceipt: a receipt from the API, uploaded through the
// check-a-receipt form in English and pasted in Chinese, with
// JavaScript off: the page says the signature is valid and that the log
// holds the receipt's leaf.
func TestBrowserChecksAReceipt(t *testing.T) {
	ctx, consoleErrors := newBrowser(t, t.TempDir())
	base, samples, _ := startDevForBrowser(t)
	filed := firstFiled(t, samples)
	code, a, _, err := verifyOn(base, *filed)
	if err != nil || code != 200 || a.Receipt == "" {
		t.Fatalf("verify: %d %v", code, err)
	}
	file := filepath.Join(t.TempDir(), "receipt.jws")
	os.WriteFile(file, []byte(a.Receipt), 0o600)
	time.Sleep(1500 * time.Millisecond) // the next checkpoint covers it

	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/receipt?lang=en"),
		chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
	); err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("form[action='/receipt'] button[type=submit]")))
	if err != nil || resp.Status != 200 {
		t.Fatalf("submit the upload: %v", err)
	}
	if s := text(t, ctx, "#signature"); !strings.Contains(s, "The signature is valid") {
		t.Errorf("uploaded: %q", s)
	}
	if s := text(t, ctx, "#log"); !strings.Contains(s, "In the newest signed checkpoint") {
		t.Errorf("uploaded, the log: %q", s)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		savePNG(t, "receipt-check-en.png", shot)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/receipt?lang=zh"),
		chromedp.WaitVisible(chromedp.ID("receipt")),
		chromedp.SetValue(chromedp.ID("receipt"), a.Receipt),
	); err != nil {
		t.Fatal(err)
	}
	if resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("form[action='/receipt'] button[type=submit]"))); err != nil || resp.Status != 200 {
		t.Fatalf("submit the paste: %v", err)
	}
	if s := text(t, ctx, "#signature"); !strings.Contains(s, "签名有效") {
		t.Errorf("pasted: %q", s)
	}
	if msgs := consoleErrors(); len(msgs) > 0 {
		t.Errorf("console errors: %v", msgs)
	}
}

// TestBrowserPageFitsANarrowPhone: at 390 px wide, the start page, a
// result with its details table and QR code, and the receipt check
// scroll only up and down: nothing is wider than the screen or its card
// (issue 16, item 22); so do the documentation pages (item 14).
func TestBrowserPageFitsANarrowPhone(t *testing.T) {
	ctx, _ := newBrowser(t, t.TempDir())
	base, samples, _ := startDevForBrowser(t)
	filed := firstFiled(t, samples)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	// The widest element's overflow past the viewport or its own box.
	const overflow = `(() => {
		const vw = document.documentElement.clientWidth;
		const out = [];
		if (document.documentElement.scrollWidth > vw) out.push("page " + document.documentElement.scrollWidth + " > " + vw);
		for (const el of document.querySelectorAll(".card, .result, .fields, .receipt, .qr, dl, table")) {
			if (el.scrollWidth > el.clientWidth + 1) out.push((el.className || el.tagName) + " " + el.scrollWidth + " > " + el.clientWidth);
		}
		return out.join("; ");
	})()`
	check := func(what string) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.EvaluateAsDevTools[string](overflow))
		if err != nil {
			t.Fatal(err)
		}
		if got != "" {
			t.Errorf("%s at 390 px: %s", what, got)
		}
		if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			savePNG(t, "narrow-"+strings.ReplaceAll(what, " ", "-")+".png", shot)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("certificate_number"))); err != nil {
		t.Fatal(err)
	}
	check("start page")
	for _, lang := range []string{"zh", "en"} {
		if st := fillAndSubmit(t, ctx, base+"/?lang="+lang, filed.CertificateNumber, filed.Name); st != 200 {
			t.Fatalf("verify: %d", st)
		}
		check("result " + lang)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/receipt?lang=en"), chromedp.WaitVisible(chromedp.ID("receipt"))); err != nil {
		t.Fatal(err)
	}
	check("receipt form")
	// The documentation pages: problem types, one type, the API reference.
	for _, path := range []string{"/problems?lang=zh", "/problems/rate-limited?lang=en", "/docs/api?lang=en"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.ID("doc-title"))); err != nil {
			t.Fatal(err)
		}
		check(strings.NewReplacer("/", " ", "?", " ", "=", " ").Replace(path))
	}
}

// firstFiled is the first sample whose degree is filed, not revoked.
func firstFiled(t *testing.T, samples []registry.Record) *registry.Record {
	t.Helper()
	for i := range samples {
		if samples[i].Status == registry.StatusFiled {
			return &samples[i]
		}
	}
	t.Fatal("samples.json has no filed record")
	return nil
}

// TestBrowserResultPrintsOnOnePage: a verification result, printed on
// A4 or Letter in either language, is one page (so the QR box is whole
// and nothing spills onto a second sheet).
func TestBrowserResultPrintsOnOnePage(t *testing.T) {
	ctx, _ := newBrowser(t, t.TempDir())
	base, samples, _ := startDevForBrowser(t)
	filed := firstFiled(t, samples)
	var revoked *registry.Record
	for i := range samples {
		if samples[i].Status == registry.StatusRevoked {
			revoked = &samples[i]
		}
	}
	if revoked == nil {
		t.Fatal("samples.json has no revoked record")
	}
	pages := regexp.MustCompile(`/Type\s*/Pages\b[^>]*?/Count\s+(\d+)`)
	for _, c := range []struct {
		lang string
		rec  *registry.Record
	}{{"zh", filed}, {"en", filed}, {"zh", revoked}, {"en", revoked}} {
		lang := c.lang + "-" + string(c.rec.Status)
		if st := fillAndSubmit(t, ctx, base+"/?lang="+c.lang, c.rec.CertificateNumber, c.rec.Name); st != 200 {
			t.Fatalf("verify: %d", st)
		}
		for _, paper := range []struct {
			name string
			size chromedp.PaperSize
		}{{"A4", chromedp.PaperA4}, {"Letter", chromedp.PaperLetter}} {
			pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(paper.size)))
			if err != nil {
				t.Fatal(err)
			}
			m := pages.FindSubmatch(pdf)
			if m == nil {
				t.Fatalf("%s on %s: no page count in the PDF", lang, paper.name)
			}
			if string(m[1]) != "1" {
				if d := os.Getenv("DEGREEGATE_SCREENSHOTS"); d != "" {
					os.WriteFile(filepath.Join(d, "print-"+lang+"-"+paper.name+".pdf"), pdf, 0o644)
				}
				t.Errorf("the %s result prints on %s pages of %s, want 1", lang, m[1], paper.name)
			}
		}
	}
}
