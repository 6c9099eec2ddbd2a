package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "children:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: children <lotoucluster.yaml>")
	}
	raw, err := os.ReadFile(args[0]) //nolint:gosec // G703: a developer tool reading the file it is pointed at
	if err != nil {
		return fmt.Errorf("reading %s: %w", args[0], err)
	}
	lc := &lotouv1alpha1.LotouCluster{}
	if err := yaml.UnmarshalStrict(raw, lc); err != nil {
		return fmt.Errorf("parsing %s as a LotouCluster: %w", args[0], err)
	}
	docs, err := render(lc)
	if err != nil {
		return err
	}
	_, err = out.Write(docs)
	return err
}

// render builds every child of lc as the reconciler would on first
// creation, with a fixed placeholder token.
func render(lc *lotouv1alpha1.LotouCluster) ([]byte, error) {
	if lc.Namespace == "" {
		lc.Namespace = "default"
	}
	if lc.UID == "" {
		lc.UID = "00000000-0000-0000-0000-000000000000"
	}
	token := []byte("placeholder-token-for-rendering")
	hash := resources.TokenHash(token)
	objs := []client.Object{
		resources.TokenSecret(lc, token),
		resources.MasterService(lc),
		resources.NodesService(lc),
		resources.MasterStatefulSet(lc, "", hash),
		resources.SlavesStatefulSet(lc, hash),
		resources.MasterPDB(lc),
		resources.SlavesPDB(lc),
		resources.NetworkPolicy(lc),
	}
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("marshalling %s: %w", o.GetName(), err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
