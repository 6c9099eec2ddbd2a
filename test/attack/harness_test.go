package attack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flynn/noise"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/node"
	"github.com/lotou-io/lotou/test/freeport"
	"github.com/lotou-io/lotou/test/nodebin"
)

const (
	token = "attack-test-token"
	// rssBound is the most resident memory any node may use during and
	// after the attacks (a fresh node uses 11-18 MiB; the holders of 1 MiB half-frames take b to about 32 MiB).
	rssBound = 100 << 20
)

// bins are lotou-node and lotouctl, built once for the whole suite.
var bins = nodebin.New(nodebin.LotouNode, nodebin.Lotouctl)

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// proc is a running lotou-node.
type proc struct {
	name, addr, http string
	cmd              *exec.Cmd
	log              *nodebin.Output
	done             chan struct{}
	maxRSS           atomic.Int64
}

type env struct {
	t         *testing.T
	bin       string
	tokenFile string
	procs     []*proc
	stop      chan struct{}
	wg        sync.WaitGroup
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("real-process test")
	}
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, bin: bins.Dir(t), tokenFile: tok, stop: make(chan struct{})}
	t.Cleanup(e.stopAll)
	return e
}

// node starts lotou-node; nofile, if > 0, is its RLIMIT_NOFILE.
func (e *env) node(role, name, master string, nofile int) *proc {
	e.t.Helper()
	p := &proc{name: name, addr: freeport.Addr(e.t), http: freeport.Addr(e.t), log: &nodebin.Output{}, done: make(chan struct{})}
	args := []string{"--role", role, "--name", name, "--listen", p.addr, "--http", p.http,
		"--token-file", e.tokenFile, "--services", "echo"} // default heartbeat: 1s, down after 3s
	if master != "" {
		args = append(args, "--master", master)
	}
	bin := filepath.Join(e.bin, "lotou-node")
	if nofile > 0 {
		// The shell sets the limit, then becomes lotou-node.
		args = append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), bin}, args...)
		bin = "/bin/sh"
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.log
	p.cmd.Env = []string{}
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	e.procs = append(e.procs, p)
	e.wg.Go(func() { e.watchRSS(p) })
	return p
}

// watchRSS samples the node's resident memory every 50ms.
func (e *env) watchRSS(p *proc) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if r := rss(p.cmd.Process.Pid); r > p.maxRSS.Load() {
			p.maxRSS.Store(r)
		}
		select {
		case <-tick.C:
		case <-e.stop:
			return
		case <-p.done:
			return
		}
	}
}

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// stopAll stops the slaves, then the master (so that the slaves' leave
// reaches it), and fails the test if a node does not stop gracefully.
func (e *env) stopAll() {
	close(e.stop)
	if len(e.procs) > 1 {
		e.stopProcs(e.procs[1:])
	}
	if len(e.procs) > 0 {
		e.stopProcs(e.procs[:1])
	}
	e.wg.Wait()
	if e.t.Failed() {
		for _, p := range e.procs {
			e.t.Logf("--- log of %s:\n%s", p.name, p.log.String())
		}
	}
}

func (e *env) stopProcs(procs []*proc) {
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			e.t.Errorf("%s did not stop within 10s of SIGTERM", p.name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func httpGet(addr, path string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ready(p *proc) bool { c, _ := httpGet(p.http, contract.PathReadyz); return c == 200 }

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var rejectedLine = regexp.MustCompile(`lotou_handshake_rejected_total\{reason="([a-z_]+)"\} (\S+)`)

// rejections reads a node's lotou_handshake_rejected_total by reason.
func rejections(t *testing.T, p *proc) map[string]float64 {
	t.Helper()
	code, body := httpGet(p.http, contract.PathMetrics)
	if code != 200 {
		t.Fatalf("metrics of %s: %d %s", p.name, code, body)
	}
	out := map[string]float64{}
	for _, m := range rejectedLine.FindAllStringSubmatch(body, -1) {
		out[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	return out
}

// caller is an in-process cluster client that calls the echo service of
// every node in a loop and counts failures.
type caller struct {
	cl      *cluster.Cluster
	core    *core.Core
	ok, bad atomic.Int64
	lastErr atomic.Value
	errMu   sync.Mutex
	errs    []error // every failure, for tests that sort them
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newCaller(t *testing.T, master string, targets ...string) *caller {
	t.Helper()
	cl, err := cluster.New(cluster.Options{
		Role: cluster.RoleClient, Name: "attack-caller", Master: master, Token: []byte(token),
		Codec: node.NewCodec(), LookupTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := cl.Join(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, err := core.New(core.Options{Node: id, CallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Attach(k); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	c := &caller{cl: cl, core: k, cancel: rcancel}
	c.wg.Go(func() { _ = cl.Run(rctx) })
	for _, target := range targets {
		c.wg.Go(func() { c.loop(rctx, contract.EchoName(target)) })
	}
	t.Cleanup(c.close)
	return c
}

func (c *caller) call(ctx context.Context, name string) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	id, err := c.core.Lookup(cctx, name)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", name, err)
	}
	ret, err := c.core.Call(cctx, id, "echo", 42)
	if err != nil {
		return fmt.Errorf("calling %s: %w", name, err)
	}
	if len(ret) != 1 || ret[0] != 42 {
		return fmt.Errorf("calling %s: reply %v", name, ret)
	}
	return nil
}

func (c *caller) loop(ctx context.Context, name string) {
	for ctx.Err() == nil {
		if err := c.call(ctx, name); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.bad.Add(1)
			c.lastErr.Store(err.Error())
			c.errMu.Lock()
			c.errs = append(c.errs, err)
			c.errMu.Unlock()
		} else {
			c.ok.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *caller) close() {
	c.cancel()
	c.cl.Leave()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.core.Stop(ctx)
	_ = c.cl.Close(ctx)
	c.wg.Wait()
}

// dialFrom opens a TCP connection to addr from the loopback address local.
func dialFrom(local, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
	return d.Dial("tcp", addr)
}

// closedWithin reports whether the peer closes nc within d, discarding
// what it sends.
func closedWithin(nc net.Conn, d time.Duration) bool {
	_ = nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	return err == nil || !errors.As(err, &ne) || !ne.Timeout()
}

// The attacker's side of the handshake, written from the protocol as
// runtime/transport/doc.go documents it (not with the transport package).

func writeFrame(w io.Writer, payload []byte) error {
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(payload))))
	if err == nil {
		_, err = w.Write(payload)
	}
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > 1<<16 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

var initHeader = []byte{0x01, 'L', 'O', 'T', 'N', 0x03} // protocol version 3

func handshakeState(tok string) (*noise.HandshakeState, error) {
	psk := sha256.Sum256(append([]byte("lotou cluster token psk v2"), tok...))
	return noise.NewHandshakeState(noise.Config{
		CipherSuite: noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashSHA256),
		Random:      rand.Reader, Pattern: noise.HandshakeNN, Initiator: true,
		Prologue: append([]byte("lotou-noise-v2"), initHeader...), PresharedKey: psk[:], PresharedKeyPlacement: 0,
	})
}

// noiseDial completes a handshake with tok on nc as a node named name and
// returns the listener's identity message plaintext.
func noiseDial(nc net.Conn, tok, name string) ([]byte, error) { return noiseDialAs(nc, tok, name, 0) }

// noiseDialAs is noiseDial claiming node id id.
func noiseDialAs(nc net.Conn, tok, name string, id uint16) ([]byte, error) {
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	defer func() { _ = nc.SetDeadline(time.Time{}) }()
	hs, err := handshakeState(tok)
	if err != nil {
		return nil, err
	}
	msg1, _, _, err := hs.WriteMessage(bytes.Clone(initHeader), nil)
	if err != nil {
		return nil, err
	}
	if err := writeFrame(nc, msg1); err != nil {
		return nil, err
	}
	msg2, err := readFrame(nc)
	if err != nil {
		return nil, fmt.Errorf("reading message 2: %w", err)
	}
	if len(msg2) == 0 || msg2[0] != 0x02 {
		return nil, fmt.Errorf("refused: %q", msg2)
	}
	_, send, recv, err := hs.ReadMessage(nil, msg2[1:])
	if err != nil {
		return nil, err
	}
	ident := binary.LittleEndian.AppendUint16(nil, id)
	ident = binary.AppendUvarint(ident, uint64(len(name)))
	ident = append(append(ident, name...), 0, 0) // flags, empty application payload
	ct, err := send.Encrypt([]byte{0x03}, nil, ident)
	if err != nil {
		return nil, err
	}
	if err := writeFrame(nc, ct); err != nil {
		return nil, err
	}
	resp, err := readFrame(nc)
	if err != nil {
		return nil, fmt.Errorf("reading identity: %w", err)
	}
	if len(resp) == 0 || resp[0] != 0x03 {
		return nil, fmt.Errorf("refused: %q", resp)
	}
	return recv.Decrypt(nil, nil, resp[1:])
}
