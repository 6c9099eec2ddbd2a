package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "imagetool:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("imagetool", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		s                      Spec
		out                    string
		entry, cmd, adds, envs listFlag
	)
	fs.StringVar(&out, "o", "", "output docker-save tarball (required)")
	fs.StringVar(&s.Tag, "t", "", "image tag, e.g. lotou-node:dev (required)")
	fs.Var(&adds, "add", "SRC:/DST[:MODE] file to add (repeatable)")
	fs.Var(&entry, "entrypoint", "entrypoint element (repeatable, in order)")
	fs.Var(&cmd, "cmd", "cmd element (repeatable, in order)")
	fs.Var(&envs, "env", "KEY=VALUE environment entry (repeatable)")
	fs.StringVar(&s.User, "user", "", "user, e.g. 65532:65532 (default root)")
	fs.StringVar(&s.OS, "os", "linux", "image OS")
	fs.StringVar(&s.Arch, "arch", runtime.GOARCH, "image architecture")
	fs.StringVar(&s.WorkingDir, "workdir", "/", "working directory")
	fs.BoolVar(&s.ContentTag, "content-tag", false, "also tag the image <tag>-<12 hex of its digest> and print that tag on stdout")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parsing flags: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", ErrBadSpec, fs.Args())
	}
	if out == "" {
		return errors.Join(ErrBadSpec, errors.New("-o is required"))
	}
	for _, a := range adds {
		f, err := ParseFile(a)
		if err != nil {
			return err
		}
		s.Files = append(s.Files, f)
	}
	s.Entrypoint, s.Cmd, s.Env = entry, cmd, envs
	tags, err := Write(&s, out)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stderr, "imagetool: wrote %s (%s)\n", out, strings.Join(tags, ", ")); err != nil {
		return fmt.Errorf("reporting: %w", err)
	}
	if s.ContentTag {
		if _, err := fmt.Fprintln(stdout, tags[len(tags)-1]); err != nil {
			return fmt.Errorf("printing the content tag: %w", err)
		}
	}
	return nil
}
