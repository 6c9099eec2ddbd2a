// Package browser tests the chat example the way players use it: real
// chat processes (a master and two slaves on 127.0.0.1, started by the
// test) and real headless Chromium pages (github.com/chromedp/chromedp) on
// the /play page of two different slaves' gates. TestChatGoClients runs the
// same story with the Go client and needs no browser.
//
// The browser test runs when LOTOU_BROWSER=1 (make test-browser installs
// Debian's chromium when missing); screenshots of every page are written
// to $LOTOU_ARTIFACTS (default: a temporary directory, logged) on failure.
package browser
