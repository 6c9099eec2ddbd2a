module github.com/lotou-io/lotou/bench

go 1.26

replace github.com/lotou-io/lotou => ../

require (
	github.com/asynkron/protoactor-go v0.0.0-20240822202345-3c0e61ca19c9 // indirect
	github.com/lotou-io/lotou v0.0.0-00010101000000-000000000000
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
)
