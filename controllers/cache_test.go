package controllers

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

func TestCacheByObject(t *testing.T) {
	lc := metricsCluster("demo", 1)
	byObject := CacheByObject()
	if len(byObject) != len(OwnedKinds()) {
		t.Fatalf("cache filters %d kinds, want every owned kind (%d)", len(byObject), len(OwnedKinds()))
	}
	for obj, c := range byObject {
		name := kindOf(obj)
		if c.Label == nil {
			t.Errorf("%s: cached unfiltered", name)
			continue
		}
		for _, role := range []string{"", contract.RoleMaster, contract.RoleSlave} {
			if !c.Label.Matches(labels.Set(resources.Labels(lc, role))) {
				t.Errorf("%s: filter %s hides the operator's own objects (role %q)", name, c.Label, role)
			}
		}
		if c.Label.Matches(labels.Set{"app": "someone-else"}) {
			t.Errorf("%s: filter %s admits objects the operator does not manage", name, c.Label)
		}
	}
}

func TestCacheOptionsNamespaces(t *testing.T) {
	if ns := CacheOptions(nil).DefaultNamespaces; ns != nil {
		t.Errorf("cluster-wide mode limits namespaces: %v", ns)
	}
	opts := CacheOptions([]string{"games", "lobby"})
	if len(opts.DefaultNamespaces) != 2 {
		t.Errorf("namespaces = %v", opts.DefaultNamespaces)
	}
	for _, ns := range []string{"games", "lobby"} {
		if _, ok := opts.DefaultNamespaces[ns]; !ok {
			t.Errorf("namespace %s not cached", ns)
		}
	}
	if len(opts.ByObject) != len(OwnedKinds()) {
		t.Error("namespaced mode drops the label filters")
	}
}
