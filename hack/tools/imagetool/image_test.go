package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestParseFile(t *testing.T) {
	tests := []struct {
		in      string
		want    File
		wantErr bool
	}{
		{in: "bin/x:/x", want: File{Src: "bin/x", Dst: "/x", Mode: 0o755}},
		{in: "a:/etc/coredns/Corefile:644", want: File{Src: "a", Dst: "/etc/coredns/Corefile", Mode: 0o644}},
		{in: "a:/b/../c", want: File{Src: "a", Dst: "/c", Mode: 0o755}},
		{in: "a:rel", wantErr: true},
		{in: "a", wantErr: true},
		{in: ":/x", wantErr: true},
		{in: "a:/x:9z", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFile(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("ParseFile(%q) error = %v, want ErrBadSpec", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFile(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "node")
	if err := os.WriteFile(bin, []byte("#!binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := &Spec{
		Tag:        "lotou-node:dev",
		Files:      []File{{Src: bin, Dst: "/lotou-node", Mode: 0o755}, {Src: bin, Dst: "/usr/bin/lotouctl", Mode: 0o755}},
		Entrypoint: []string{"/lotou-node"},
		User:       "65532:65532",
		OS:         "linux",
		Arch:       "amd64",
	}
	out := filepath.Join(dir, "img.tar")
	if _, err := Write(spec, out); err != nil {
		t.Fatalf("Write: %v", err)
	}
	tag, err := name.NewTag("lotou-node:dev")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || cf.Config.User != "65532:65532" ||
		!reflect.DeepEqual(cf.Config.Entrypoint, []string{"/lotou-node"}) ||
		!reflect.DeepEqual(cf.Config.Env, []string{"PATH=/"}) {
		t.Fatalf("config = %+v", cf)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	got := map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h.Mode
	}
	want := map[string]int64{"tmp/": 0o1777, "usr/": 0o755, "usr/bin/": 0o755, "lotou-node": 0o755, "usr/bin/lotouctl": 0o755}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("layer entries = %v, want %v", got, want)
	}

	// Same inputs, same digest.
	out2 := filepath.Join(dir, "img2.tar")
	spec.ContentTag = true
	tags, err := Write(spec, out2)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := tarball.ImageFromPath(out2, &tag)
	if err != nil {
		t.Fatal(err)
	}
	d1, err1 := img.Digest()
	d2, err2 := img2.Digest()
	if err1 != nil || err2 != nil || d1 != d2 {
		t.Fatalf("digests differ: %v %v (%v %v)", d1, d2, err1, err2)
	}
	// The content tag names the same image, and is in the tarball too.
	wantCT := "lotou-node:dev-" + d1.Hex[:12]
	if !reflect.DeepEqual(tags, []string{"lotou-node:dev", wantCT}) {
		t.Fatalf("tags = %v, want [lotou-node:dev %s]", tags, wantCT)
	}
	ctTag, err := name.NewTag(wantCT)
	if err != nil {
		t.Fatal(err)
	}
	img3, err := tarball.ImageFromPath(out2, &ctTag)
	if err != nil {
		t.Fatalf("reading back %s: %v", wantCT, err)
	}
	if d3, err := img3.Digest(); err != nil || d3 != d1 {
		t.Fatalf("%s digest = %v, %v; want %v", wantCT, d3, err, d1)
	}
}

func TestContentTag(t *testing.T) {
	img, err := Build(&Spec{Tag: "x:y", Files: []File{{Src: "image.go", Dst: "/a", Mode: 0o644}}, Cmd: []string{"/a"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	h := d.Hex[:12]
	tests := []struct {
		in, want string
	}{
		{"lotou-node:dev", "lotou-node:dev-" + h},
		{"lotou-node", "lotou-node:latest-" + h},
		{"localhost:5000/lotou/node:v1", "localhost:5000/lotou/node:v1-" + h},
		{"localhost:5000/lotou-node", "localhost:5000/lotou-node:latest-" + h},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ContentTag(tt.in, img)
			if err != nil || got != tt.want {
				t.Fatalf("ContentTag(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	f := []File{{Src: "x", Dst: "/x"}}
	tests := []struct {
		name string
		spec Spec
	}{
		{"no tag", Spec{Files: f, Entrypoint: []string{"/x"}}},
		{"bad tag", Spec{Tag: "UPPER:case", Files: f, Entrypoint: []string{"/x"}}},
		{"no files", Spec{Tag: "a:b", Entrypoint: []string{"/x"}}},
		{"no entrypoint", Spec{Tag: "a:b", Files: f}},
		{"duplicate", Spec{Tag: "a:b", Files: append(f, f...), Entrypoint: []string{"/x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.spec.Validate(); !errors.Is(err, ErrBadSpec) {
				t.Fatalf("Validate() = %v, want ErrBadSpec", err)
			}
		})
	}
}
