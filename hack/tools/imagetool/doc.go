// Command imagetool writes single-layer FROM-scratch container images as docker-save tarballs, without a
// Docker engine or a registry. hack/dev.sh and hack/local-cluster.sh use it to package the project's static
// binaries (lotou-node with lotouctl, the manager, the pause and probe programs, CoreDNS); the tarballs are
// loaded with `ctr -n k8s.io images import` and run with imagePullPolicy Never.
//
// Usage:
//
//	imagetool -o lotou-node.tar -t lotou-node:dev --entrypoint /lotou-node \
//	    --add bin/lotou-node:/lotou-node --add bin/lotouctl:/lotouctl --user 65532:65532
//
// Files are added with their directories, owned by root, mode 0755 (or the mode given as SRC:DST:MODE in
// octal), with a zero modification time so that the same inputs give the same image digest. The image has an
// empty /tmp (mode 1777) and PATH=/ so that `kubectl exec pod -- lotouctl ...` finds binaries at the root.
//
// With --content-tag the tarball also carries the tag "<tag>-<first 12 hex digits of the manifest digest>"
// (lotou-node:dev-0123456789ab), printed on stdout. hack/dev.sh points the operator's Deployment and the
// LotouCluster at that tag, so a rebuilt image rolls the pods, where reusing "lotou-node:dev" would not.
package main
