// Package nodebin gives the tests that run real Lotou processes what each of
// them needs around a child process: the binaries, built once per test
// binary from this module (Binaries), and a buffer its output can be written
// to while the test reads it (Output).
package nodebin
