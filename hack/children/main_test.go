package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestRenderSample(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{filepath.Join("..", "..", "config", "score", "lotoucluster.yaml")}, &out); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for doc := range strings.SplitSeq(out.String(), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		md, _ := m["metadata"].(map[string]any)
		if md["namespace"] != "games" {
			t.Errorf("%v %v in namespace %v", m["kind"], md["name"], md["namespace"])
		}
		kinds = append(kinds, m["kind"].(string))
	}
	slices.Sort(kinds)
	want := []string{"NetworkPolicy", "PodDisruptionBudget", "PodDisruptionBudget", "Secret", "Service", "Service", "StatefulSet", "StatefulSet"}
	if !slices.Equal(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"/nonexistent.yaml"}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}
