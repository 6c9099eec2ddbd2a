package cluster_test

import (
	"context"
	"fmt"
	"time"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// startMember starts a cluster member with a core attached.
func startMember(role, name, master string) (*cluster.Cluster, *core.Core, func()) {
	cl, err := cluster.New(cluster.Options{
		Role: role, Name: name, Listen: "127.0.0.1:0", Master: master,
		Token: []byte("example-token"), Codec: codec.NewRegistry(), Heartbeat: 100 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	if _, err := cl.Start(); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := cl.Join(ctx)
	if err != nil {
		panic(err)
	}
	k, _ := core.New(core.Options{Node: id, Incarnation: cl.Incarnation()})
	if err := cl.Attach(k); err != nil {
		panic(err)
	}
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = cl.Run(rctx); close(done) }()
	return cl, k, func() {
		cl.Leave()
		_ = k.Stop(context.Background())
		stop()
		<-done
		_ = cl.Close(context.Background())
	}
}

// Example forms a two-node cluster on loopback: the slave's service is
// called from the master by its global name, exactly like a local one.
func Example() {
	master, _, stopMaster := startMember(contract.RoleMaster, "m", "")
	defer stopMaster()
	_, slaveCore, stopSlave := startMember(contract.RoleSlave, "s", master.Addr())
	defer stopSlave()

	if _, err := slaveCore.Spawn(context.Background(), "adder", func(s *core.Service) error {
		s.Handle("add", func(a, b int) int { return a + b })
		return nil
	}); err != nil {
		panic(err)
	}

	_, ctlCore, stopClient := startMember(cluster.RoleClient, "ctl", master.Addr())
	defer stopClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	id, err := ctlCore.Lookup(ctx, "adder")
	if err != nil {
		panic(err)
	}
	ret, err := ctlCore.Call(ctx, id, "add", 40, 2)
	fmt.Println(ret, err)
	fmt.Println("Call(svc, \"echo\", 42) frame bytes:", cluster.CallFrameSize())
	// Output:
	// [42] <nil>
	// Call(svc, "echo", 42) frame bytes: 22
}
