package resources

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

func TestTokenHash(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"empty", "", ""},
		// sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
		{"known vector", "abc", "ba7816bf8f01cfea"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenHash([]byte(tt.token)); got != tt.want {
				t.Errorf("TokenHash(%q) = %q, want %q", tt.token, got, tt.want)
			}
		})
	}
	tok := []byte("0123456789abcdef0123456789abcdef")
	h := TokenHash(tok)
	if strings.Contains(string(tok), h) || len(h) != tokenHashLen {
		t.Errorf("hash %q must be %d digits and not a piece of the token", h, tokenHashLen)
	}
	if h == TokenHash([]byte("0123456789abcdef0123456789abcdeg")) {
		t.Error("different tokens gave the same hash")
	}
}

func TestStatefulSetsCarryTokenHash(t *testing.T) {
	lc := &lotouv1alpha1.LotouCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "games"},
		Spec:       lotouv1alpha1.LotouClusterSpec{Image: "lotou-node:dev", Slaves: lotouv1alpha1.SlavesSpec{Replicas: ptr.To[int32](2)}},
	}
	// A user annotation with the operator's key must not override it.
	lc.Spec.Master.PodAnnotations = map[string]string{"team": "blue", AnnotationTokenHash: "forged"}
	lc.Spec.Slaves.PodAnnotations = map[string]string{AnnotationTokenHash: "forged"}
	tests := []struct {
		name      string
		hash      string
		wantHash  string
		wantExtra map[string]string
		build     func(hash string) map[string]string
	}{
		{"master", "aaaa", "aaaa", map[string]string{"team": "blue"}, func(h string) map[string]string {
			return MasterStatefulSet(lc, "", h).Spec.Template.Annotations
		}},
		{"slaves", "bbbb", "bbbb", nil, func(h string) map[string]string {
			return SlavesStatefulSet(lc, h).Spec.Template.Annotations
		}},
		{"master without hash drops the forged one", "", "", map[string]string{"team": "blue"}, func(h string) map[string]string {
			return MasterStatefulSet(lc, "", h).Spec.Template.Annotations
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.build(tt.hash)
			if got[AnnotationTokenHash] != tt.wantHash {
				t.Errorf("%s = %q, want %q", AnnotationTokenHash, got[AnnotationTokenHash], tt.wantHash)
			}
			for k, v := range tt.wantExtra {
				if got[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	if lc.Spec.Master.PodAnnotations[AnnotationTokenHash] != "forged" {
		t.Error("builder modified the spec's annotations")
	}
}
