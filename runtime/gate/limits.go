package gate

import "time"

// bucket is a token bucket: rate tokens per second, at most burst saved.
// It is pure state: the caller passes the time.
type bucket struct {
	tokens float64
	last   time.Time
}

// allow takes one token if there is one at now.
func (b *bucket) allow(now time.Time, rate float64, burst int) bool {
	if rate <= 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * rate
		if b.tokens > float64(burst) {
			b.tokens = float64(burst)
		}
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
