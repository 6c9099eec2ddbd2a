package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The quick start (docs/quickstart.md) is checked by running it: every "$ command" line of its ```console blocks
// runs, in order, in bash from the repository root with the suite's KUBECONFIG and kubectl first on PATH, and what
// it prints (stdout and stderr) must match the output the page shows under it, after normalize has blurred what
// differs from run to run (ages, addresses, hashes, durations, column widths). A line "..." in the page stands for
// any number of lines.

// docCommand is one "$ command" of the page and the output shown under it.
type docCommand struct {
	line int    // line of the page where the command starts
	cmd  string // the command, continuation lines joined
	want []string
}

// parseConsoleBlocks reads the ```console blocks of a Markdown page.
func parseConsoleBlocks(page []byte) ([]docCommand, error) {
	var (
		cmds    []docCommand
		in      bool
		cur     *docCommand
		contCmd bool
	)
	sc := bufio.NewScanner(bytes.NewReader(page))
	n := 0
	flush := func() {
		if cur != nil {
			cmds = append(cmds, *cur)
			cur = nil
		}
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case !in && strings.TrimSpace(line) == "```console":
			in = true
		case in && strings.TrimSpace(line) == "```":
			if contCmd {
				return nil, fmt.Errorf("line %d: block ends inside a continued command", n)
			}
			flush()
			in = false
		case in && contCmd:
			cur.cmd += "\n" + line
			contCmd = strings.HasSuffix(line, "\\")
		case in && strings.HasPrefix(line, "$ "):
			flush()
			cur = &docCommand{line: n, cmd: strings.TrimPrefix(line, "$ ")}
			contCmd = strings.HasSuffix(line, "\\")
		case in:
			if cur == nil {
				return nil, fmt.Errorf("line %d: output before any \"$ \" command in a console block", n)
			}
			cur.want = append(cur.want, line)
		}
	}
	if in {
		return nil, fmt.Errorf("unterminated ```console block")
	}
	return cmds, sc.Err()
}

var blur = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d+:\d+@\d+\b`), "<service-id>"},
	{regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`), "<ip>"},
	{regexp.MustCompile(`\b[0-9a-f]{8,}\b`), "<hex>"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms)\b`), "<dur>"},
	{regexp.MustCompile(`\b(\d+d)?(\d+h)?(\d+m)?\d+(\.\d+)?s\b`), "<dur>"},
	{regexp.MustCompile(`\b(\d+d)?(\d+h)?\d+m\b`), "<dur>"},
	{regexp.MustCompile(`\b\d+h\b`), "<dur>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), "<time>"},
	{regexp.MustCompile(`\s+`), " "},
}

// normalize blurs what differs between two runs of the same command.
func normalize(s string) string {
	s = strings.TrimRight(s, " \t")
	for _, b := range blur {
		s = b.re.ReplaceAllString(s, b.with)
	}
	return strings.TrimSpace(s)
}

// matchOutput reports whether got matches want line by line after normalize; "..." in want matches any lines.
func matchOutput(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if strings.TrimSpace(want[0]) == "..." {
		for i := 0; i <= len(got); i++ {
			if matchOutput(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || normalize(want[0]) != normalize(got[0]) {
		return false
	}
	return matchOutput(want[1:], got[1:])
}

func readQuickstart(t *testing.T) []docCommand {
	t.Helper()
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "quickstart.md"))
	if err != nil {
		t.Fatalf("reading docs/quickstart.md: %v", err)
	}
	cmds, err := parseConsoleBlocks(page)
	if err != nil {
		t.Fatalf("docs/quickstart.md: %v", err)
	}
	return cmds
}

// TestQuickstartPage runs without a cluster: the page parses, and every command shows its output.
func TestQuickstartPage(t *testing.T) {
	cmds := readQuickstart(t)
	if len(cmds) < 10 {
		t.Fatalf("docs/quickstart.md has %d commands in console blocks, want the whole walk-through (≥ 10)", len(cmds))
	}
	for _, c := range cmds {
		if len(c.want) == 0 {
			t.Errorf("docs/quickstart.md:%d: %q shows no output; every command's real output is shown", c.line, c.cmd)
		}
	}
}

func TestMatchOutput(t *testing.T) {
	cases := []struct {
		name      string
		want, got []string
		ok        bool
	}{
		{"same", []string{"a b"}, []string{"a b"}, true},
		{"columns and ages", []string{"demo   3   3   True   5m12s"}, []string{"demo 3 3 True 41s"}, true},
		{"ip and port", []string{"1  master  10.244.0.7:4000  up"}, []string{"1 master 10.244.0.12:4000 up"}, true},
		{"different word", []string{"demo True"}, []string{"demo False"}, false},
		{"missing line", []string{"a", "b"}, []string{"a"}, false},
		{"extra line", []string{"a"}, []string{"a", "b"}, false},
		{"ellipsis", []string{"head", "...", "tail"}, []string{"head", "x", "y", "tail"}, true},
		{"ellipsis empty", []string{"head", "...", "tail"}, []string{"head", "tail"}, true},
		{"ellipsis no tail", []string{"head", "...", "tail"}, []string{"head", "x"}, false},
		{"service id", []string{"echo:a  1:1@4506"}, []string{"echo:a 1:1@91"}, true},
		{"latency", []string{"p50 37µs p99 1.2ms"}, []string{"p50 41µs p99 900µs"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchOutput(tc.want, tc.got); got != tc.ok {
				t.Fatalf("matchOutput(%q, %q) = %v, want %v", tc.want, tc.got, got, tc.ok)
			}
		})
	}
}

func TestParseConsoleBlocks(t *testing.T) {
	page := "text\n```console\n$ kubectl get lc\nNAME\ndemo\n$ echo a \\\n  b\na b\n```\n```sh\n$ not a console block\n```\n"
	cmds, err := parseConsoleBlocks([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 || cmds[0].cmd != "kubectl get lc" || len(cmds[0].want) != 2 || cmds[1].cmd != "echo a \\\n  b" {
		t.Fatalf("parsed %+v", cmds)
	}
	if _, err := parseConsoleBlocks([]byte("```console\noutput first\n```\n")); err == nil {
		t.Fatal("output before a command was accepted")
	}
}

// TestQuickstart runs docs/quickstart.md against the real cluster, as a newcomer would type it.
func TestQuickstart(t *testing.T) {
	s := newSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	if _, err := s.installOperator(ctx); err != nil {
		t.Fatal(err)
	}
	cmds := readQuickstart(t)
	t.Cleanup(func() {
		_, _ = s.k(context.Background(), "delete", "lc", "arena", "--ignore-not-found", "--wait=true", "--timeout=2m")
	})
	path := filepath.Dir(s.kubectl) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, c := range cmds {
		cctx, ccancel := context.WithTimeout(ctx, 6*time.Minute)
		cmd := exec.CommandContext(cctx, "bash", "-o", "pipefail", "-c", c.cmd)
		cmd.Dir = s.root
		cmd.Env = append(os.Environ(), "PATH="+path)
		out, err := cmd.CombinedOutput()
		ccancel()
		got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(out) == 0 {
			got = nil
		}
		if err != nil {
			t.Fatalf("docs/quickstart.md:%d: %s: %v\n%s", c.line, c.cmd, err, out)
		}
		if !matchOutput(c.want, got) {
			t.Fatalf("docs/quickstart.md:%d: %s\nthe page shows:\n%s\nthe command printed:\n%s", c.line, c.cmd,
				strings.Join(c.want, "\n"), strings.Join(got, "\n"))
		}
		t.Logf("docs/quickstart.md:%d: %s: output as shown", c.line, c.cmd)
	}
}
