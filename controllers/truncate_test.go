package controllers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		in    string
		limit int
		want  string // "" when only the bounds are checked
	}{
		{"short kept", "abc", 10, "abc"},
		{"exactly at the limit kept", strings.Repeat("a", 1024), 1024, strings.Repeat("a", 1024)},
		{"one over cut", strings.Repeat("a", 1025), 1024, ""},
		{"far over cut", strings.Repeat("a", 200_000), maxConditionMessage, ""},
		{"multi-byte runes never split", strings.Repeat("é", 1000), 1024, ""},
		{"four-byte runes never split", strings.Repeat("😀", 1000), 1023, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.in, tt.limit)
			if tt.want != "" && got != tt.want {
				t.Fatalf("truncate = %.40q..., want %.40q...", got, tt.want)
			}
			if len(got) > tt.limit {
				t.Fatalf("%d bytes, limit %d", len(got), tt.limit)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("not valid UTF-8: %q", got[len(got)-40:])
			}
			if len(tt.in) > tt.limit && !strings.Contains(got, "cut from") {
				t.Fatalf("cut without saying so: %q", got[len(got)-40:])
			}
		})
	}
}
