package gate

import "time"

func mustTime(ms int64) time.Time       { return time.UnixMilli(1_000_000 + ms) }
func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
