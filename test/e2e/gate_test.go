package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/examples/chat/chat"
	"github.com/lotou-io/lotou/runtime/codec/binary"
	"github.com/lotou-io/lotou/runtime/contract"
	gateclient "github.com/lotou-io/lotou/runtime/gate/client"
)

// The gate story on a real cluster: the chat example (its own image) with a
// gate Service over 3 slaves, 100 clients connected through the Service, then
// `kubectl scale` to 1 slave. Every client on a removed slave gets the move
// notice and reconnects through the Service; no chat message acknowledged to
// a client is lost.
//
// Rooms live on the node of their first member, so observers connected
// straight to slave 0 (which a scale-down keeps) join every room first: the
// rooms stay on slave 0, and every acknowledged message must reach the
// room's observer.

const (
	gateNS      = "lotou-e2e-gate"
	gateLC      = "chat"
	gateClients = 100
	gateRooms   = 10
	gatePort    = 7000
)

// chatImage is the chat example's image: hack/dev.sh imports it as
// lotou-chat:dev (and under its content tag).
func chatImage() string { return envOr("LOTOU_CHAT_IMAGE", "lotou-chat:dev") }

func chatYAML(image string, slaves int) string {
	return fmt.Sprintf(`apiVersion: apps.lotou.io/v1alpha1
kind: LotouCluster
metadata:
  name: %s
  namespace: %s
spec:
  image: %s
  imagePullPolicy: IfNotPresent
  slaves:
    replicas: %d
    drainTimeout: 30s
  gate:
    enabled: true
    port: %d
    service:
      type: ClusterIP
    limits:
      maxConnections: 5000
      queueMessages: 512
`, gateLC, gateNS, image, slaves, gatePort)
}

// chatClient is one player: it reconnects through the Service when moved.
type chatClient struct {
	id, room    string
	addr        string
	mu          sync.Mutex
	c           *gateclient.Client
	moved       atomic.Int32 // move notices received
	unexpected  atomic.Int32 // connections lost without a move notice
	reconnected atomic.Int32
	acked       []string // messages the room acknowledged
	seen        map[string]bool
}

func (p *chatClient) connect(ctx context.Context) error {
	// One attempt is bounded: a Service address can still point at a pod that just went away,
	// and a SYN to it is answered by nobody.
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	movedNow := make(chan struct{}, 1)
	c, err := gateclient.Dial(actx, p.addr, gateclient.Options{Credentials: []byte(p.id),
		OnMove: func(string) {
			p.moved.Add(1)
			select {
			case movedNow <- struct{}{}:
			default:
			}
		},
		OnPush: func(cmd string, b []byte) {
			var m chat.Msg
			if cmd == "msg" && binary.Unmarshal(b, &m) == nil {
				p.mu.Lock()
				p.seen[m.Text] = true
				p.mu.Unlock()
			}
		}})
	if err != nil {
		return err
	}
	rb, _ := binary.Marshal(p.room)
	if _, err := c.Call(actx, "join", rb); err != nil {
		_ = c.Close()
		return fmt.Errorf("joining %s: %w", p.room, err)
	}
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
	go func() { // watches this connection: a move means reconnect through the Service
		select {
		case <-movedNow:
			_ = c.Close()
		case <-c.Done():
			p.unexpected.Add(1)
		case <-ctx.Done():
			return
		}
		for ctx.Err() == nil {
			if err := p.connect(ctx); err == nil {
				p.reconnected.Add(1)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return nil
}

// waitingToReconnect is true while the player's connection was moved or lost and no new one
// has joined its room yet.
func (p *chatClient) waitingToReconnect() bool {
	p.mu.Lock()
	c := p.c
	p.mu.Unlock()
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// countPlayers counts the players for which f is true.
func countPlayers(players []*chatClient, f func(*chatClient) bool) int {
	n := 0
	for _, p := range players {
		if f(p) {
			n++
		}
	}
	return n
}

// talk says a numbered message every period until ctx ends.
func (p *chatClient) talk(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		c := p.c
		p.mu.Unlock()
		text := fmt.Sprintf("%s-%d", p.id, n)
		b, _ := binary.Marshal(&chat.Say{Room: p.room, Text: text})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.Call(cctx, "say", b)
		cancel()
		if err == nil {
			p.mu.Lock()
			p.acked = append(p.acked, text)
			p.mu.Unlock()
		}
	}
}

func TestGateDrainOnScaleDown(t *testing.T) {
	s := newSuite(t)
	s.ns = gateNS
	ctx := t.Context()
	if _, err := s.installOperator(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.k(ctx, "explain", "lotouclusters.spec.gate.service.type"); err != nil {
		t.Skipf("the installed CRD has no spec.gate yet: %v", err)
	}
	if _, err := s.k(ctx, "create", "namespace", gateNS); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
	if os.Getenv("LOTOU_E2E_KEEP") != "1" {
		t.Cleanup(func() { _, _ = s.k(context.WithoutCancel(ctx), "delete", "namespace", gateNS, "--wait=false") })
	}
	if out, err := s.kIn(ctx, chatYAML(chatImage(), 3), "apply", "-f", "-"); err != nil {
		t.Fatalf("applying the chat LotouCluster: %v\n%s", err, out)
	}
	if err := eventually(ctx, 5*time.Minute, 2*time.Second, func(ctx context.Context) error { return s.settledChat(ctx, 3) }); err != nil {
		t.Fatal(err)
	}
	// spec.gate.limits reached the game's own binary (node.Main) in the pods.
	if logs, err := s.k(ctx, "-n", gateNS, "logs", gateLC+"-slaves-0"); err != nil || !strings.Contains(logs, "maxConns=5000") ||
		!strings.Contains(logs, "queue=512") {
		t.Fatalf("slave 0's gate does not run with spec.gate.limits (maxConns=5000, queue=512): %v\n%s", err, lastLines(logs, 20))
	}
	// The node view can be complete before the Service's endpoints are: wait until all three
	// slaves are ready endpoints of <name>-gate, or the Service sends every player to one slave.
	if err := eventually(ctx, 2*time.Minute, time.Second, func(ctx context.Context) error {
		return s.gateEndpointsReady(ctx, 3)
	}); err != nil {
		t.Fatal(err)
	}
	svc, err := s.k(ctx, "-n", gateNS, "get", "svc", gateLC+"-gate", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil || svc == "" {
		t.Fatalf("the gate Service %s-gate: %v", gateLC, err)
	}
	gateAddr := fmt.Sprintf("%s:%d", svc, gatePort)
	pod0, err := s.k(ctx, "-n", gateNS, "get", "pod", gateLC+"-slaves-0", "-o", "jsonpath={.status.podIP}")
	if err != nil || pod0 == "" {
		t.Fatalf("slave 0's pod IP: %v", err)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	// Observers first, straight to slave 0: every room is created there.
	var observers []*chatClient
	for r := range gateRooms {
		o := &chatClient{id: fmt.Sprintf("observer%d", r), room: fmt.Sprintf("room%d", r), addr: fmt.Sprintf("%s:%d", pod0, gatePort), seen: map[string]bool{}}
		if err := o.connect(runCtx); err != nil {
			t.Fatalf("observer %d: %v", r, err)
		}
		observers = append(observers, o)
	}
	// kube-proxy programs a Service's endpoints a moment after they turn ready; until it has,
	// every player lands on one slave. If none reached slaves 1 and 2, drop this set of players
	// and connect a new one.
	var (
		players   []*chatClient
		before    map[string]int
		onRemoved int
	)
	for attempt := 1; ; attempt++ {
		setCtx, dropSet := context.WithCancel(runCtx)
		defer dropSet() // at most 5 sets; the kept one ends with the run anyway
		players = nil
		for i := range gateClients {
			p := &chatClient{id: fmt.Sprintf("p%d", i), room: fmt.Sprintf("room%d", i%gateRooms), addr: gateAddr, seen: map[string]bool{}}
			// connect's context outlives the attempt: it also drives the reconnect after a move notice.
			connect := func(context.Context) error { return p.connect(setCtx) }
			if err := eventually(ctx, 30*time.Second, 200*time.Millisecond, connect); err != nil {
				t.Fatalf("player %d through %s: %v", i, gateAddr, err)
			}
			players = append(players, p)
		}
		err := eventually(ctx, 30*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
			var err error
			if before, err = s.sessionsByNode(ctx); err != nil {
				return err
			}
			if total := before[gateLC+"-slaves-0"] + before[gateLC+"-slaves-1"] + before[gateLC+"-slaves-2"]; total != gateClients+gateRooms {
				return fmt.Errorf("/cluster counts %d sessions, want %d", total, gateClients+gateRooms)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		onRemoved = before[gateLC+"-slaves-1"] + before[gateLC+"-slaves-2"]
		t.Logf("sessions before the scale-down: %v (%d on the slaves to remove)", before, onRemoved)
		if onRemoved > 0 {
			break
		}
		dropSet()
		for _, p := range players {
			p.mu.Lock()
			_ = p.c.Close()
			p.mu.Unlock()
		}
		if attempt == 5 {
			t.Fatal("the Service sent no client to slaves 1 and 2 in 5 attempts: nothing to drain")
		}
		time.Sleep(3 * time.Second)
	}

	var wg sync.WaitGroup
	for _, p := range players {
		wg.Go(func() { p.talk(runCtx, 500*time.Millisecond) })
	}
	time.Sleep(2 * time.Second)
	if _, err := s.k(ctx, "-n", gateNS, "scale", "lc/"+gateLC, "--replicas=1"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ctx, 3*time.Minute, 2*time.Second, func(ctx context.Context) error { return s.settledChat(ctx, 1) }); err != nil {
		t.Fatal(err)
	}
	// A client moved twice (to a slave that was itself removed next) reconnects twice: wait until
	// every move notice has been followed by a reconnect through the Service.
	if err := eventually(ctx, time.Minute, 500*time.Millisecond, func(context.Context) error {
		if n := countPlayers(players, (*chatClient).waitingToReconnect); n > 0 {
			return fmt.Errorf("%d moved clients not reconnected yet", n)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	time.Sleep(3 * time.Second) // messages after the scale-down, on reconnected clients
	stop()
	wg.Wait()

	var moved, unexpected, reconnected int32
	for _, p := range players {
		moved += p.moved.Load()
		unexpected += p.unexpected.Load()
		reconnected += p.reconnected.Load()
	}
	movedPlayers := countPlayers(players, func(p *chatClient) bool { return p.moved.Load() > 0 })
	t.Logf("move notices %d to %d players, reconnects %d, lost without a move %d", moved, movedPlayers, reconnected, unexpected)
	if movedPlayers < onRemoved {
		t.Errorf("%d clients got a move notice, want every one of the %d on removed slaves", movedPlayers, onRemoved)
	}
	if n := countPlayers(players, (*chatClient).waitingToReconnect); n > 0 {
		t.Errorf("%d moved clients never reconnected through the Service", n)
	}
	if unexpected > 0 {
		t.Errorf("%d connections ended without a move notice", unexpected)
	}
	lost := 0
	for _, p := range players {
		o := observers[0]
		for _, ob := range observers {
			if ob.room == p.room {
				o = ob
			}
		}
		p.mu.Lock()
		acked := append([]string(nil), p.acked...)
		p.mu.Unlock()
		o.mu.Lock()
		for _, text := range acked {
			if !o.seen[text] {
				lost++
				if lost <= 5 {
					t.Errorf("message %q acknowledged to %s never reached %s", text, p.id, p.room)
				}
			}
		}
		o.mu.Unlock()
		if len(acked) == 0 {
			t.Errorf("%s had no message acknowledged", p.id)
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged messages lost", lost)
	}
}

// gateEndpointsReady is nil once the gate Service has want ready endpoints.
func (s *suite) gateEndpointsReady(ctx context.Context, want int) error {
	var slices discoveryv1.EndpointSliceList
	if err := s.c.List(ctx, &slices, client.InNamespace(gateNS),
		client.MatchingLabels{discoveryv1.LabelServiceName: gateLC + "-gate"}); err != nil {
		return err
	}
	ready := 0
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				ready++
			}
		}
	}
	if ready != want {
		return fmt.Errorf("the gate Service has %d ready endpoints, want %d", ready, want)
	}
	return nil
}

// settledChat is nil once the chat cluster is Ready with the master and
// `slaves` slaves up.
func (s *suite) settledChat(ctx context.Context, slaves int) error {
	if _, err := s.k(ctx, "-n", gateNS, "wait", "--for=condition=Ready", "lc/"+gateLC, "--timeout=1s"); err != nil {
		return err
	}
	v, err := s.clusterView(ctx, gateNS, gateLC)
	if err != nil {
		return err
	}
	up := 0
	for _, n := range v.Nodes {
		if n.Up && n.Role == contract.RoleSlave {
			up++
		}
	}
	if up != slaves {
		return fmt.Errorf("%d slaves up, want %d", up, slaves)
	}
	return nil
}

// clusterView reads the /cluster of LotouCluster ns/name's master through the
// API server's service proxy.
func (s *suite) clusterView(ctx context.Context, ns, name string) (*contract.ClusterView, error) {
	out, err := s.k(ctx, "get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/services/%s-master:http/proxy%s", ns, name, contract.PathCluster))
	if err != nil {
		return nil, err
	}
	var v contract.ClusterView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("decoding /cluster: %w", err)
	}
	return &v, nil
}

// sessionsByNode is each node's gate sessions from the master's /cluster.
func (s *suite) sessionsByNode(ctx context.Context) (map[string]int, error) {
	v, err := s.clusterView(ctx, gateNS, gateLC)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, n := range v.Nodes {
		out[n.Name] = n.Sessions
	}
	if len(out) == 0 {
		return nil, errors.New("/cluster lists no node")
	}
	return out, nil
}
