package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// page is one browser tab on a gate's /play page.
type page struct {
	name string
	ctx  context.Context
}

// eval evaluates a JavaScript expression on p, awaiting it when it is a
// promise, and returns its value.
func eval[T any](t *testing.T, p *page, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %s: %v", p.name, expr, err)
	}
	return v
}

// run awaits a JavaScript expression for its effect.
func (p *page) run(t *testing.T, expr string) {
	t.Helper()
	eval[bool](t, p, "(async () => { await "+expr+"; return true })()")
}

func (p *page) lines(t *testing.T) []string { return eval[[]string](t, p, "chat.lines()") }

func (p *page) status(t *testing.T) string { return eval[string](t, p, "chat.status()") }

// TestChatInBrowsers: two Chromium pages on the gates of two different
// slaves join one room and see each other's messages; a third page sends a
// malformed message, is disconnected and shows the reason, while the
// others carry on.
func TestChatInBrowsers(t *testing.T) {
	if os.Getenv("LOTOU_BROWSER") != "1" {
		t.Skip("set LOTOU_BROWSER=1 (make test-browser) to drive a real Chromium")
	}
	cl := startCluster(t, 2)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.Flag("headless", true))
	if p := os.Getenv("LOTOU_CHROMIUM"); p != "" {
		opts = append(opts, chromedp.ExecPath(p))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var pages []*page
	open := func(name, gate string) *page {
		ctx, _ := chromedp.NewContext(bctx, chromedp.WithListener(func(ev any) { // closed with the browser
			switch e := ev.(type) {
			case *runtime.EventConsoleAPICalled:
				for _, a := range e.Args {
					t.Logf("%s console: %s", name, a.Value)
				}
			case *runtime.EventExceptionThrown:
				t.Logf("%s exception: %+v", name, e.ExceptionDetails)
			}
		}))
		p := &page{name: name, ctx: ctx}
		pages = append(pages, p)
		// The first action on a tab's context creates the tab and ties it to
		// the ctx it runs with: give it the tab's own, not a timeout child.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("%s: opening a tab: %v", name, err)
		}
		tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, chromedp.Navigate("http://"+gate+"/play"), chromedp.WaitVisible(`#join`)); err != nil {
			t.Fatalf("%s: opening /play on %s: %v", name, gate, err)
		}
		return p
	}
	defer func() {
		if t.Failed() {
			screenshots(t, pages)
		}
	}()

	ann := open("ann", cl.slaves[0].gate)
	bob := open("bob", cl.slaves[1].gate)
	ann.run(t, `chat.join("ann", "lobby")`)
	bob.run(t, `chat.join("bob", "lobby")`)
	ann.run(t, `chat.say("lobby", "hello from ann")`)
	bob.run(t, `chat.say("lobby", "hi from bob")`)
	for _, p := range []*page{ann, bob} {
		eventually(t, p.name+" sees both messages", func() bool {
			ls := p.lines(t)
			return slices.Contains(ls, "[lobby] ann: hello from ann") && slices.Contains(ls, "[lobby] bob: hi from bob")
		})
	}

	eve := open("eve", cl.slaves[0].gate)
	eve.run(t, `chat.join("eve", "lobby")`)
	eve.run(t, `chat.malformed()`)
	eventually(t, "eve shows why she was disconnected", func() bool {
		return strings.HasPrefix(eve.status(t), "disconnected: malformed")
	})

	bob.run(t, `chat.say("lobby", "still here")`)
	eventually(t, "ann and bob carry on", func() bool {
		return slices.Contains(ann.lines(t), "[lobby] bob: still here") && slices.Contains(bob.lines(t), "[lobby] bob: still here")
	})
	if s := ann.status(t); s != "in room lobby" {
		t.Fatalf("ann's status %q", s)
	}
}

// screenshots saves a full-page PNG of every page for the failure report.
func screenshots(t *testing.T, pages []*page) {
	dir := os.Getenv("LOTOU_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("lotou-browser-%d", time.Now().Unix()))
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Logf("screenshots: %v", err)
		return
	}
	for _, p := range pages {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		cancel()
		if err != nil {
			t.Logf("screenshot of %s: %v", p.name, err)
			continue
		}
		f := filepath.Join(dir, p.name+".png")
		if err := os.WriteFile(f, png, 0o600); err != nil {
			t.Logf("screenshot of %s: %v", p.name, err)
			continue
		}
		t.Logf("screenshot: %s", f)
	}
}
