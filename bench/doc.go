// Package bench holds side-by-side benchmarks of Lotou against its peers
// (protoactor-go, encoding/gob, msgpack, raw TCP). It is a separate module so
// that the peers stay out of the main module's dependencies.
package bench
