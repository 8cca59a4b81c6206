package tests

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium (the package of that name), or one on
// PATH; empty when there is none.
func chromiumPath() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	path, _ := exec.LookPath("chromium")
	return path
}

// browser is a headless Chromium with JavaScript off, on a profile of its
// own, that reaches nothing but the engine: chromedp starts the local
// binary and downloads nothing. It records every response it gets.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base *url.URL // the engine: the only host the browser may ask

	mu        sync.Mutex
	responses int
	strangers []string // requests for anything but the engine
	failures  []string // answers 5xx

	shots string // where to save screenshots; empty: nowhere
	steps int
}

// requireChromium is the chromium to drive. Without one the test is
// skipped, unless CI is true: CI installs it, so there its absence fails.
func requireChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("CI is true and no chromium binary was found (/usr/bin/chromium or chromium on PATH): install Debian's chromium package")
		}
		t.Skip("no chromium binary (/usr/bin/chromium or chromium on PATH): install Debian's chromium package to run the browser tests")
	}
	return path
}

// newBrowser starts the chromium at path for the engine at base.
func newBrowser(t *testing.T, path, base string) *browser {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 640),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: u, shots: screenshotDir(t)}
	// The first run starts the browser: it must have no timeout of its own.
	if _, err := chromedp.Run(ctx, chromedp.Location()); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	if err := chromedp.Listen(ctx, b.hear); err != nil {
		t.Fatal(err)
	}
	b.call("watch the network", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	})
	b.call("turn JavaScript off", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	return b
}

// hear keeps what the browser asked and got; it runs in the tab's loop.
func (b *browser) hear(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if u, err := url.Parse(ev.Request.URL); err != nil || u.Host != b.base.Host {
			b.strangers = append(b.strangers, ev.Request.URL)
		}
	case *network.EventResponseReceived:
		b.responses++
		if ev.Response.Status >= 500 {
			b.failures = append(b.failures, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
		}
	}
}

// call runs f with a context that ends after waitLimit, failing the test
// on an error.
func (b *browser) call(what string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, waitLimit)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Fatalf("browser: %s: %v (at %s)", what, err, b.location())
	}
}

// step logs one step of a scenario, numbered.
func (b *browser) step(format string, args ...any) {
	b.t.Helper()
	b.steps++
	b.t.Logf("step %d: %s", b.steps, fmt.Sprintf(format, args...))
}

// open loads a console address and requires the page named page, with
// status, there.
func (b *browser) open(path string, status int64, page string) {
	b.t.Helper()
	b.call("open "+path, func(ctx context.Context) error {
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base.String()+path))
		return b.arrived(resp, err, status, page)
	})
}

// follow clicks sel, which loads another page, and requires the page named
// page, with status.
func (b *browser) follow(sel string, status int64, page string) {
	b.t.Helper()
	b.call("click "+sel, func(ctx context.Context) error {
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		return b.arrived(resp, err, status, page)
	})
}

// fill types text into the field sel and submits its form, which loads
// the page named page with status.
func (b *browser) fill(sel, text string, status int64, page string) {
	b.t.Helper()
	b.call("fill "+sel, func(ctx context.Context) error {
		resp, err := chromedp.RunResponse(ctx, chromedp.Steps(
			chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible),
			chromedp.Submit(chromedp.CSS(sel)),
		))
		return b.arrived(resp, err, status, page)
	})
}

func (b *browser) arrived(resp *network.Response, err error, status int64, page string) error {
	if err != nil {
		return err
	}
	if resp.Status != status {
		return fmt.Errorf("answered %d, want %d", resp.Status, status)
	}
	if n := b.count(pageSelector(page)); n != 1 {
		return fmt.Errorf("not the %s page", page)
	}
	return nil
}

func pageSelector(page string) string { return fmt.Sprintf(`body[data-page=%q]`, page) }

// location is the address the browser shows, path and query.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return strings.TrimPrefix(loc, strings.TrimSuffix(b.base.String(), "/"))
}

// text is the text of the first node matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.call("read "+sel, func(ctx context.Context) (err error) {
		s, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		return err
	})
	return strings.TrimSpace(s)
}

// texts is the text of every node matching sel, none when none does.
func (b *browser) texts(sel string) []string {
	b.t.Helper()
	var out []string
	b.call("read every "+sel, func(ctx context.Context) (err error) {
		out, err = chromedp.Run(ctx, chromedp.EvaluateAsDevTools[[]string](
			fmt.Sprintf(`Array.from(document.querySelectorAll(%q), n => n.textContent.trim())`, sel)))
		return err
	})
	return out
}

// count is how many nodes match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	var n int
	b.call("count "+sel, func(ctx context.Context) (err error) {
		n, err = chromedp.Run(ctx, chromedp.EvaluateAsDevTools[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		return err
	})
	return n
}

// screenshot saves the whole page as name.png when CTJ_CONSOLE_SCREENSHOTS
// names a directory.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	var png []byte
	b.call("screenshot "+name, func(ctx context.Context) (err error) {
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
		return err
	})
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	b.t.Logf("screenshot %s (%d KiB)", path, len(png)>>10)
}

// check fails the test for any request to another host and any 5xx the
// browser got, and returns how many responses it got.
func (b *browser) check() int {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.strangers) > 0 {
		b.t.Errorf("the browser asked for something besides the engine: %v", b.strangers)
	}
	if len(b.failures) > 0 {
		b.t.Errorf("the engine answered the browser with server errors: %v", b.failures)
	}
	return b.responses
}

// screenshotDir is CTJ_CONSOLE_SCREENSHOTS, relative to the module root.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("CTJ_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return ""
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(moduleRoot(), dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot directory: %v", err)
	}
	return dir
}

// moduleRoot is the directory of go.mod.
func moduleRoot() string {
	if gomod, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		if path := strings.TrimSpace(string(gomod)); path != "" && path != os.DevNull {
			return filepath.Dir(path)
		}
	}
	return ".."
}
