// Package logsink is the node's asynchronous, buffered, leveled logr sink.
//
// The original Lotou logged synchronously, so heavy logging blocked game
// logic. Here a log call only formats its line and offers it to a bounded
// buffer; one writer goroutine (Run) does the I/O. When the buffer is full the
// line is dropped and counted (Dropped), never waited for; Run reports the
// count of dropped lines in the output as soon as it can.
//
// Lines look like:
//
//	2026-11-25T19:55:45.123Z INFO core "Service started" service="1:3"
//
// Verbosity follows logr: V(0) is always enabled, V(n) only when n is at most
// Options.Verbosity; errors are always written.
package logsink
