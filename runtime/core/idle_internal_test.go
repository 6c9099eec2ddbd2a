package core

import (
	"context"
	"testing"
	"time"
)

// TestIdleServiceDoesNotSpin checks the adaptive spin: a service woken
// now and then parks at once after its work (no CPU burnt between
// messages), while a service in a tight call loop spins for the next call,
// unless the messages come from another node (a network round trip away).
func TestIdleServiceDoesNotSpin(t *testing.T) {
	tests := []struct {
		name      string
		calls     int
		gap       time.Duration // idle time between calls
		remote    bool          // the messages arrive from node 2 through DeliverLocal
		wantSpins bool
	}{
		{"idle, woken every 2ms", 5, 2 * time.Millisecond, false, false},
		{"busy, back-to-back calls", 2000, 0, false, true},
		{"busy, back-to-back messages from another node", 2000, 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Options{Node: 1})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			svc, err := c.Spawn(context.Background(), "", func(s *Service) error {
				s.Handle("ping", func() int { return 1 })
				s.Handle("far", func() { done <- struct{}{} })
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for range tt.calls {
				if tt.gap > 0 {
					time.Sleep(tt.gap) // the idleness under test, not a synchronisation
				}
				if tt.remote {
					m := Message{Kind: KindSend, From: MakeID(2, 1), To: svc.ID(), Cmd: "far"}
					if err := c.DeliverLocal(&m); err != nil {
						t.Fatal(err)
					}
					<-done
					continue
				}
				if _, err := c.Call(ctx, svc.ID(), "ping"); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			spins := svc.mb.spins // the service goroutine has exited: Stop joined it
			if got := spins > 0; got != tt.wantSpins {
				t.Errorf("spins = %d after %d calls, want spinning %v", spins, tt.calls, tt.wantSpins)
			}
		})
	}
}
