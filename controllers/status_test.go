package controllers

import (
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

func ready(n int32) roleState {
	return roleState{Exists: true, Desired: n, SpecReplicas: n, Replicas: n, Ready: n, Updated: n, Generation: 2, ObservedGeneration: 2, CurrentRevision: "a", UpdateRevision: "a"}
}

func withReady(r roleState, n int32) roleState { r.Ready = n; return r }

func TestRoleState(t *testing.T) {
	tests := []struct {
		name           string
		r              roleState
		rolledOut, rdy bool
	}{
		{"absent", roleState{Desired: 1}, false, false},
		{"ready", ready(3), true, true},
		{"zero slaves", ready(0), true, true},
		{"not observed", func() roleState { r := ready(3); r.ObservedGeneration = 1; return r }(), false, false},
		{"revision pending", func() roleState { r := ready(3); r.UpdateRevision = "b"; return r }(), false, false},
		{"scaling", func() roleState { r := ready(3); r.Desired = 5; return r }(), false, false},
		{"pods not ready", withReady(ready(3), 2), true, false},
		{"no revisions yet (envtest)", func() roleState { r := ready(1); r.CurrentRevision, r.UpdateRevision = "", ""; return r }(), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.RolledOut(); got != tt.rolledOut {
				t.Errorf("RolledOut = %v, want %v", got, tt.rolledOut)
			}
			if got := tt.r.IsReady(); got != tt.rdy {
				t.Errorf("IsReady = %v, want %v", got, tt.rdy)
			}
		})
	}
}

func TestComputeStatusConditions(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	in := statusInput{Now: now, ProgressDeadline: 5 * time.Minute}
	view3 := &contract.ClusterView{Nodes: []contract.NodeInfo{{Name: "m", Up: true}, {Name: "s0", Up: true}, {Name: "s1", Up: true}}}
	progressingSince := func(d time.Duration) []metav1.Condition {
		return []metav1.Condition{{Type: lotouv1alpha1.ConditionProgressing, Status: metav1.ConditionTrue, Reason: "RollingOut", LastTransitionTime: metav1.NewTime(now.Add(-d))}}
	}
	tests := []struct {
		name string
		prev []metav1.Condition
		obs  observation
		want map[string]string
	}{
		{"creating", nil, observation{Master: roleState{Desired: 1}, Slaves: roleState{Desired: 2}}, map[string]string{
			"Ready": "False/MasterNotReady", "Progressing": "True/Creating", "Degraded": "False/AsExpected",
			"MasterReady": "False/NotFound", "SlavesReady": "False/NotFound"}},
		{"all ready", nil, observation{Master: ready(1), Slaves: ready(2), Membership: view3, MembershipChecked: true}, map[string]string{
			"Ready": "True/Ready", "Progressing": "False/Reconciled", "Degraded": "False/AsExpected",
			"MasterReady": "True/Ready", "SlavesReady": "True/Ready"}},
		{"ready without membership reader", nil, observation{Master: ready(1), Slaves: ready(2)}, map[string]string{"Ready": "True/Ready"}},
		{"membership unavailable", nil, observation{Master: ready(1), Slaves: ready(2), MembershipChecked: true, MembershipErr: errors.New("refused")}, map[string]string{
			"Ready": "False/MembershipUnavailable", "Degraded": "False/AsExpected"}},
		{"node not registered", nil, observation{Master: ready(1), Slaves: ready(3), Membership: view3, MembershipChecked: true}, map[string]string{
			"Ready": "False/NodesNotRegistered"}},
		{"scaling", nil, observation{Master: ready(1), Slaves: func() roleState { r := ready(2); r.Desired = 4; r.SpecReplicas = 4; return r }()}, map[string]string{
			"Progressing": "True/Scaling", "SlavesReady": "False/RollingOut"}},
		{"updating slaves", nil, observation{Master: ready(1), Slaves: func() roleState { r := ready(2); r.Generation = 3; return r }()}, map[string]string{
			"Progressing": "True/UpdatingSlaves"}},
		{"waiting for slaves", nil, observation{Master: ready(1), Slaves: withReady(ready(2), 1), MasterPending: true}, map[string]string{
			"Progressing": "True/WaitingForSlaves"}},
		{"updating master", nil, observation{Master: func() roleState { r := ready(1); r.UpdateRevision = "b"; return r }(), Slaves: ready(2)}, map[string]string{
			"Progressing": "True/UpdatingMaster", "MasterReady": "False/RollingOut"}},
		{"pods starting within deadline", progressingSince(time.Minute), observation{Master: withReady(ready(1), 0), Slaves: ready(2)}, map[string]string{
			"Progressing": "True/RollingOut", "Degraded": "False/AsExpected", "MasterReady": "False/PodsNotReady"}},
		{"pods never ready past deadline", progressingSince(10 * time.Minute), observation{Master: ready(1), Slaves: withReady(ready(2), 1)}, map[string]string{
			"Progressing": "False/SlavesNotReady", "Degraded": "True/SlavesNotReady"}},
		{"master lost readiness", []metav1.Condition{{Type: "MasterReady", Status: metav1.ConditionTrue, Reason: "Ready"}}, observation{Master: withReady(ready(1), 0), Slaves: ready(2)}, map[string]string{
			"Degraded": "True/MasterNotReady", "Ready": "False/MasterNotReady", "Progressing": "False/MasterNotReady"}},
		{"degraded is sticky", []metav1.Condition{{Type: "MasterReady", Status: metav1.ConditionFalse, Reason: "PodsNotReady"}, {Type: "Degraded", Status: metav1.ConditionTrue, Reason: "MasterNotReady"}}, observation{Master: withReady(ready(1), 0), Slaves: ready(2)}, map[string]string{
			"Degraded": "True/MasterNotReady"}},
		{"reconcile error", nil, observation{Master: ready(1), Slaves: ready(2), ReconcileErr: errors.New("boom")}, map[string]string{
			"Degraded": "True/ReconcileFailed", "Progressing": "False/Reconciled"}},
		{"paused", nil, observation{Paused: true, Master: ready(1), Slaves: ready(2)}, map[string]string{
			"Progressing": "False/Paused", "Ready": "True/Ready"}},
		{"slaves rollout stalled past deadline", progressingSince(10 * time.Minute), observation{Master: ready(1),
			Slaves:       func() roleState { r := withReady(ready(2), 1); r.Updated = 1; r.UpdateRevision = "b"; return r }(),
			StallReasons: []string{"d-slaves-1 ImagePullBackOff: Back-off pulling image"}}, map[string]string{
			"Progressing": "False/RolloutStalled", "Degraded": "True/RolloutStalled", "SlavesReady": "False/RollingOut"}},
		{"pods refused past deadline", progressingSince(10 * time.Minute), observation{Master: roleState{Exists: true, Desired: 1, SpecReplicas: 1, Generation: 1, ObservedGeneration: 1}, Slaves: ready(2),
			StallReasons: []string{"d-master FailedCreate: pods is forbidden"}}, map[string]string{
			"Degraded": "True/RolloutStalled", "Ready": "False/MasterNotReady"}},
		{"stall is sticky after progressing stopped", []metav1.Condition{{Type: "Degraded", Status: metav1.ConditionTrue, Reason: "RolloutStalled"}, {Type: "Progressing", Status: metav1.ConditionFalse, Reason: "RolloutStalled"}},
			observation{Master: ready(1), Slaves: func() roleState { r := ready(2); r.Generation = 3; return r }()}, map[string]string{
				"Degraded": "True/RolloutStalled", "Progressing": "False/RolloutStalled"}},
		{"stall clears when ready", []metav1.Condition{{Type: "Degraded", Status: metav1.ConditionTrue, Reason: "RolloutStalled"}},
			observation{Master: ready(1), Slaves: ready(2)}, map[string]string{
				"Degraded": "False/AsExpected", "Progressing": "False/Reconciled"}},
		{"token missing", nil, observation{Master: ready(1), Slaves: ready(2), TokenMissing: true}, map[string]string{
			"TokenMissing": "True/TokenMissing", "Degraded": "True/TokenMissing", "NameConflict": "False/NoConflict"}},
		{"name conflict", nil, observation{Master: roleState{Desired: 1}, Slaves: roleState{Desired: 2}, ReconcileErr: nameConflict("Service", "demo-master")}, map[string]string{
			"NameConflict": "True/NameConflict", "Degraded": "True/NameConflict", "TokenMissing": "False/TokenPresent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := &lotouv1alpha1.LotouCluster{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns", Generation: 7}}
			lc.Status.Conditions = tt.prev
			computeStatus(lc, tt.obs, in)
			for typ, want := range tt.want {
				c := meta.FindStatusCondition(lc.Status.Conditions, typ)
				if c == nil {
					t.Fatalf("condition %s missing", typ)
				}
				if got := string(c.Status) + "/" + c.Reason; got != want {
					t.Errorf("%s = %s (%s), want %s", typ, got, c.Message, want)
				}
				if c.ObservedGeneration != 7 {
					t.Errorf("%s observedGeneration = %d", typ, c.ObservedGeneration)
				}
			}
			if len(lc.Status.Conditions) != 7 {
				t.Errorf("conditions = %d, want 7", len(lc.Status.Conditions))
			}
			if d := meta.FindStatusCondition(lc.Status.Conditions, "Degraded"); d.Reason == "RolloutStalled" {
				for _, r := range tt.obs.StallReasons {
					if !strings.Contains(d.Message, r) {
						t.Errorf("Degraded message %q lacks %q", d.Message, r)
					}
				}
			}
			if lc.Status.ObservedGeneration != 7 || lc.Status.Selector != "lotou.io/cluster=demo,lotou.io/role=slave" || lc.Status.MasterEndpoint != "demo-master.ns.svc:4000" {
				t.Errorf("status = %+v", lc.Status)
			}
		})
	}
}

func TestUntilDeadline(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	in := statusInput{Now: now, ProgressDeadline: 5 * time.Minute}
	tests := []struct {
		name string
		cond *metav1.Condition
		want time.Duration
	}{
		{"not progressing", nil, 5 * time.Minute},
		{"progressing for 2m", &metav1.Condition{Type: "Progressing", Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-2 * time.Minute))}, 3*time.Minute + time.Second},
		{"already past", &metav1.Condition{Type: "Progressing", Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}, time.Second},
		{"stopped", &metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := &lotouv1alpha1.LotouCluster{}
			if tt.cond != nil {
				lc.Status.Conditions = []metav1.Condition{*tt.cond}
			}
			if got := untilDeadline(lc, in); got != tt.want {
				t.Errorf("untilDeadline = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSessionsSummed(t *testing.T) {
	lc := &lotouv1alpha1.LotouCluster{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns"}}
	view := &contract.ClusterView{Nodes: []contract.NodeInfo{{Name: "m", Up: true}, {Name: "s0", Up: true, Sessions: 40}, {Name: "s1", Up: true, Sessions: 2}}}
	computeStatus(lc, observation{Master: ready(1), Slaves: ready(2), Membership: view}, statusInput{Now: time.Now()})
	if lc.Status.Sessions != 42 || lc.Status.RegisteredNodes[1].Sessions != 40 {
		t.Errorf("sessions = %d, nodes = %+v", lc.Status.Sessions, lc.Status.RegisteredNodes)
	}
}

func TestMembershipStatus(t *testing.T) {
	v := &contract.ClusterView{
		Nodes:   []contract.NodeInfo{{Name: "b", Addr: "b:1", Role: "slave", Up: true}, {Name: "a", Role: "master", Up: true}, {Name: "b"}, {Name: ""}},
		Globals: []contract.GlobalName{{Name: "z"}, {Name: "echo:a"}, {Name: "z"}},
	}
	nodes, globals := membershipStatus(v)
	if len(nodes) != 2 || nodes[0].Name != "a" || nodes[1].Address != "b:1" || !nodes[1].Up {
		t.Errorf("nodes = %+v", nodes)
	}
	if len(globals) != 2 || globals[0] != "echo:a" || globals[1] != "z" {
		t.Errorf("globals = %v", globals)
	}
}

func TestLowerResult(t *testing.T) {
	s, m := ctrl.Result{RequeueAfter: time.Second}, ctrl.Result{RequeueAfter: time.Minute}
	tests := []struct {
		name string
		a, b ctrl.Result
		want time.Duration
	}{
		{"none", ctrl.Result{}, ctrl.Result{}, 0},
		{"left", s, ctrl.Result{}, time.Second},
		{"right", ctrl.Result{}, m, time.Minute},
		{"sooner wins", m, s, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lowerResult(tt.a, tt.b).RequeueAfter; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
