// Command lotou-node runs one Lotou node: a master, a slave or a standalone
// node. Every flag falls back to an environment variable named in
// runtime/contract, then to the --config YAML file, then to its default.
package main
