package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one host file copied into the image.
type File struct {
	// Src is the path on the host.
	Src string
	// Dst is the absolute path inside the image.
	Dst string
	// Mode is the permission bits inside the image.
	Mode int64
}

// Spec describes a FROM-scratch image: its files and its runtime configuration.
type Spec struct {
	// Tag names the image, e.g. "lotou-node:dev" (docker.io/library/lotou-node:dev once imported).
	Tag string
	// Files are copied into the single layer.
	Files []File
	// Entrypoint and Cmd are the image's ENTRYPOINT and CMD.
	Entrypoint []string
	Cmd        []string
	// Env entries are KEY=VALUE; PATH=/ is added when no PATH is given.
	Env []string
	// User is the USER ("65532:65532"); empty means root.
	User string
	// OS and Arch are the platform the binaries were built for.
	OS, Arch string
	// WorkingDir is the WORKDIR; empty means "/".
	WorkingDir string
	// ContentTag also tags the image "<Tag>-<first 12 hex digits of its manifest digest>", a tag that changes
	// whenever the content does, so that pointing a pod spec at it rolls the pods (a rebuilt image under the
	// same tag would not).
	ContentTag bool
}

// ErrBadSpec reports an unusable image description.
var ErrBadSpec = errors.New("invalid image spec")

// ParseFile parses SRC:DST or SRC:DST:MODE (octal mode).
func ParseFile(s string) (File, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !path.IsAbs(parts[1]) {
		return File{}, fmt.Errorf("%w: --add %q: want SRC:/DST[:MODE]", ErrBadSpec, s)
	}
	f := File{Src: parts[0], Dst: path.Clean(parts[1]), Mode: 0o755}
	if len(parts) == 3 {
		m, err := strconv.ParseInt(parts[2], 8, 32)
		if err != nil {
			return File{}, fmt.Errorf("%w: --add %q: mode: %w", ErrBadSpec, s, err)
		}
		f.Mode = m
	}
	return f, nil
}

// Validate checks the spec before any file is read.
func (s *Spec) Validate() error {
	if s.Tag == "" {
		return fmt.Errorf("%w: no tag", ErrBadSpec)
	}
	if _, err := name.NewTag(s.Tag); err != nil {
		return fmt.Errorf("%w: tag %q: %w", ErrBadSpec, s.Tag, err)
	}
	if len(s.Files) == 0 {
		return fmt.Errorf("%w: no files", ErrBadSpec)
	}
	if len(s.Entrypoint) == 0 && len(s.Cmd) == 0 {
		return fmt.Errorf("%w: no entrypoint or cmd", ErrBadSpec)
	}
	seen := map[string]bool{}
	for _, f := range s.Files {
		if seen[f.Dst] {
			return fmt.Errorf("%w: %s added twice", ErrBadSpec, f.Dst)
		}
		seen[f.Dst] = true
	}
	return nil
}

// Build assembles the image described by s.
func Build(s *Spec) (v1.Image, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	layerTar, err := layerBytes(s.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("making layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "hack/imagetool", Created: v1.Time{Time: time.Unix(0, 0).UTC()}},
	})
	if err != nil {
		return nil, fmt.Errorf("appending layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = s.OS, s.Arch
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.Cmd = s.Cmd
	cf.Config.User = s.User
	cf.Config.WorkingDir = s.WorkingDir
	if cf.Config.WorkingDir == "" {
		cf.Config.WorkingDir = "/"
	}
	cf.Config.Env = withPath(s.Env)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting config: %w", err)
	}
	return img, nil
}

// Write builds the image and writes it as a docker-save tarball (what `ctr images import` reads). It returns
// the tags written: s.Tag, then the content tag when s.ContentTag is set.
func Write(s *Spec, out string) ([]string, error) {
	img, err := Build(s)
	if err != nil {
		return nil, err
	}
	tag, err := name.NewTag(s.Tag)
	if err != nil {
		return nil, fmt.Errorf("parsing tag %q: %w", s.Tag, err)
	}
	refs := map[name.Reference]v1.Image{tag: img}
	written := []string{s.Tag}
	if s.ContentTag {
		ct, err := ContentTag(s.Tag, img)
		if err != nil {
			return nil, err
		}
		ctRef, err := name.NewTag(ct)
		if err != nil {
			return nil, fmt.Errorf("parsing tag %q: %w", ct, err)
		}
		refs[ctRef] = img
		written = append(written, ct)
	}
	tmp := out + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		return nil, fmt.Errorf("writing %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, fmt.Errorf("renaming %s: %w", tmp, err)
	}
	return written, nil
}

// ContentTag returns tag with "-<first 12 hex digits of img's manifest digest>" appended to its tag part
// ("latest" when tag has none), the repository kept as written: lotou-node:dev -> lotou-node:dev-0123456789ab.
func ContentTag(tag string, img v1.Image) (string, error) {
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("computing the digest of %s: %w", tag, err)
	}
	repo, ver := tag, "latest"
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		repo, ver = tag[:i], tag[i+1:]
	}
	ct := repo + ":" + ver + "-" + d.Hex[:12]
	if _, err := name.NewTag(ct); err != nil {
		return "", fmt.Errorf("%w: content tag %q: %w", ErrBadSpec, ct, err)
	}
	return ct, nil
}

func withPath(env []string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			return env
		}
	}
	return append([]string{"PATH=/"}, env...)
}

// layerBytes writes the layer tar: parent directories, /tmp, then the files, in a stable order.
func layerBytes(files []File) ([]byte, error) {
	dirs := map[string]bool{"tmp": true}
	for _, f := range files {
		for d := path.Dir(strings.TrimPrefix(f.Dst, "/")); d != "." && d != ""; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	dirList := make([]string, 0, len(dirs))
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range dirList {
		mode := int64(0o755)
		if d == "tmp" {
			mode = 0o1777
		}
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("writing dir %s: %w", d, err)
		}
	}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Dst < sorted[j].Dst })
	for _, f := range sorted {
		if err := addFile(tw, f); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing layer: %w", err)
	}
	return buf.Bytes(), nil
}

func addFile(tw *tar.Writer, f File) error {
	data, err := os.ReadFile(f.Src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", f.Src, err)
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     strings.TrimPrefix(f.Dst, "/"),
		Mode:     f.Mode,
		Size:     int64(len(data)),
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing header of %s: %w", f.Dst, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", f.Dst, err)
	}
	return nil
}
