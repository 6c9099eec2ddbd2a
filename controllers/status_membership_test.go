package controllers

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

func TestMembershipRead(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	view := &contract.ClusterView{Nodes: []contract.NodeInfo{{Name: "m", Role: "master", Up: true}}}
	nodes, _ := membershipStatus(view)
	readAt := func(at time.Time) *lotouv1alpha1.MembershipStatus {
		tm := metav1.NewTime(at)
		return &lotouv1alpha1.MembershipStatus{LastReadTime: &tm}
	}
	tests := []struct {
		name  string
		prev  *lotouv1alpha1.MembershipStatus
		nodes []lotouv1alpha1.RegisteredNode
		obs   observation
		now   time.Time
		want  *time.Time // nil: no membership status
	}{
		{"never read, no read now", nil, nil, observation{}, t0, nil},
		{"read failed keeps the old time", readAt(t0), nodes, observation{MembershipErr: errors.New("refused")}, t0.Add(time.Hour), &t0},
		{"first read", nil, nil, observation{Membership: view}, t0, &t0},
		{"same view soon after keeps the time", readAt(t0), nodes, observation{Membership: view}, t0.Add(time.Minute), &t0},
		{"same view after the refresh period", readAt(t0), nodes, observation{Membership: view}, t0.Add(MembershipRefresh), ptrTime(t0.Add(MembershipRefresh))},
		{"changed view", readAt(t0), nil, observation{Membership: view}, t0.Add(time.Second), ptrTime(t0.Add(time.Second))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &lotouv1alpha1.LotouClusterStatus{Membership: tt.prev, RegisteredNodes: tt.nodes}
			got := membershipRead(st, tt.obs, tt.now)
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("membership = %+v, want none", got)
			case tt.want != nil && (got == nil || got.LastReadTime == nil || !got.LastReadTime.Time.Equal(*tt.want)):
				t.Errorf("membership = %+v, want lastReadTime %v", got, *tt.want)
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
