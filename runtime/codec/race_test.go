package codec

import (
	"reflect"
	"sync"
	"testing"
)

// TestConcurrentUse shares one Registry between goroutines (run with -race).
func TestConcurrentUse(t *testing.T) {
	r := newTestRegistry()
	args := []any{ServiceID(1), Point{1, 2}, []Point{{3, 4}}, map[string]any{"a": 1}}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				buf, err := r.AppendArgs(nil, args)
				if err != nil {
					errs <- err
					return
				}
				got, err := r.DecodeArgs(buf)
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, args) {
					t.Errorf("got %#v", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
