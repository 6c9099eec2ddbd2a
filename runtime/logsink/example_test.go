package logsink_test

import (
	"context"
	"os"
	"time"

	"github.com/lotou-io/lotou/runtime/logsink"
)

func Example() {
	s := logsink.New(logsink.Options{
		Writer: os.Stdout,
		Clock:  func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	log := s.Logger().WithName("core")
	log.Info("Service started", "service", "1:3")
	log.V(1).Info("Not shown at verbosity 0")

	cancel()
	if err := <-done; err != nil {
		panic(err)
	}
	// Output: 2026-01-01T00:00:00.000Z INFO core "Service started" service="1:3"
}
