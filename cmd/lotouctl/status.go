package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/lotou-io/lotou/runtime/core"
)

func cmdStatus(ctx context.Context, g *globals, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, err := subFlags("status", g, args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{fmt.Errorf("status takes no arguments, got %q", fs.Args())}
	}
	c, err := join(ctx, g, getenv, stderr)
	if err != nil {
		return err
	}
	defer c.close()
	v := c.cl.View()
	if g.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "ID\tNODE\tADDRESS\tROLE\tSTATE")
	for _, n := range v.Nodes {
		state := "up"
		if !n.Up {
			state = "down"
		}
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", n.ID, n.Name, n.Addr, n.Role, state)
	}
	_, _ = fmt.Fprintln(tw, "\nGLOBAL NAME\tSERVICE\t\t\t")
	for _, n := range v.Globals {
		_, _ = fmt.Fprintf(tw, "%s\t%s\t\t\t\n", n.Name, core.ServiceID(n.ID))
	}
	return tw.Flush()
}
