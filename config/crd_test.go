package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// loadCRD reads the generated LotouCluster CRD.
func loadCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("crd", "bases", "apps.lotou.io_lotouclusters.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(raw, crd); err != nil {
		t.Fatalf("parsing the CRD: %v", err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("versions = %d, want 1", len(crd.Spec.Versions))
	}
	return crd
}

// TestCRDPrinterColumns checks what `kubectl get lc` shows.
func TestCRDPrinterColumns(t *testing.T) {
	v := loadCRD(t).Spec.Versions[0]
	want := []struct{ name, typ, path string }{
		{"Master", "string", `.status.conditions[?(@.type=="MasterReady")].status`},
		{"Desired", "integer", ".spec.slaves.replicas"},
		{"Ready Slaves", "integer", ".status.readySlaves"},
		{"Ready", "string", `.status.conditions[?(@.type=="Ready")].status`},
		{"Sessions", "integer", ".status.sessions"},
		{"Age", "date", ".metadata.creationTimestamp"},
	}
	if len(v.AdditionalPrinterColumns) != len(want) {
		t.Fatalf("printer columns = %+v", v.AdditionalPrinterColumns)
	}
	for i, w := range want {
		c := v.AdditionalPrinterColumns[i]
		if c.Name != w.name || c.Type != w.typ || c.JSONPath != w.path {
			t.Errorf("column %d = %s %s %s, want %s %s %s", i, c.Name, c.Type, c.JSONPath, w.name, w.typ, w.path)
		}
	}
}

// TestCRDScaleSubresource checks that `kubectl scale` and an HPA can drive
// the slaves: the selector path is what Agones lacks.
func TestCRDScaleSubresource(t *testing.T) {
	crd := loadCRD(t)
	sr := crd.Spec.Versions[0].Subresources
	if sr == nil || sr.Status == nil || sr.Scale == nil {
		t.Fatalf("subresources = %+v", sr)
	}
	if sr.Scale.SpecReplicasPath != ".spec.slaves.replicas" || sr.Scale.StatusReplicasPath != ".status.replicas" ||
		sr.Scale.LabelSelectorPath == nil || *sr.Scale.LabelSelectorPath != ".status.selector" {
		t.Errorf("scale = %+v", sr.Scale)
	}
	if crd.Spec.Names.ShortNames[0] != "lc" || crd.Spec.Names.Plural != "lotouclusters" {
		t.Errorf("names = %+v", crd.Spec.Names)
	}
}

// TestCRDDescriptions checks that `kubectl explain` has something to say
// about every field: each property has a description, except the standard
// metadata and the items of lists of strings or integers.
func TestCRDDescriptions(t *testing.T) {
	root := loadCRD(t).Spec.Versions[0].Schema.OpenAPIV3Schema
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	count := 0
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		count++
		exempt := path == "lotoucluster.metadata" || strings.HasSuffix(path, "[]") && (s.Type == "string" || s.Type == "integer")
		if strings.TrimSpace(s.Description) == "" && !exempt {
			t.Errorf("%s has no description", path)
		}
		for name, p := range s.Properties {
			walk(path+"."+name, &p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(path+"[]", s.Items.Schema)
		}
	}
	walk("lotoucluster", root)
	if count < 100 {
		t.Errorf("walked only %d schemas", count)
	}
}

// TestCRDValidationRulesNameTheirField checks every CEL rule's message
// names the spec field it guards, so a refused `kubectl apply` says what to fix.
func TestCRDValidationRulesNameTheirField(t *testing.T) {
	spec := loadCRD(t).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	rules := 0
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		for _, r := range s.XValidations {
			rules++
			if !strings.HasPrefix(r.Message, "spec.") {
				t.Errorf("%s: rule %q has message %q that names no spec field", path, r.Rule, r.Message)
			}
		}
		for name, p := range s.Properties {
			walk(path+"."+name, &p)
		}
	}
	walk("spec", &spec)
	if rules < 6 {
		t.Errorf("found %d CEL rules, want at least 6 (ports, image, replicas, maxUnavailable, two durations)", rules)
	}
}
