// Tools module of hack/imagetool: writes FROM-scratch images as docker-save tarballs, plus the pause and
// probe programs used by hack/local-cluster.sh. Kept out of the project's main module.
module github.com/lotou-io/lotou/hack/tools/imagetool

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
)
