#!/usr/bin/env bash
# Builds the local control plane (kube-apiserver, etcd, kube-controller-manager,
# kube-scheduler, kwok + its stages) from the Go module proxy, once per pin.
# Binaries live in the user's cache so a fresh clone on the same machine
# reuses them; bin/ in the repository links to them.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
k8s_version="v1.37.2"

# The stamp changes whenever a pin, this script or the Go version changes.
stamp="$( (cat "$here"/kube/go.mod "$here"/kube/go.sum "$here"/kwok/go.mod "$here"/kwok/go.sum \
	"$here"/kwok/stages/main.go "$here"/build.sh; go env GOVERSION GOARCH) | sha256sum | cut -c1-12)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/gotk/controlplane/${k8s_version}-${stamp}"
bin="$root/bin"
binaries=(kube-apiserver etcd kube-controller-manager kube-scheduler kwok kwok-stages.yaml)

link() {
	mkdir -p "$bin"
	for b in "${binaries[@]}"; do ln -sfn "$cache/$b" "$bin/$b"; done
	echo "control plane ${k8s_version} ready in bin/ (cache ${stamp})"
}

if [[ -f "$cache/.complete" ]]; then
	link
	exit 0
fi

echo "building the control plane ${k8s_version} from source (about 30 minutes on 2 cores, once per pin)"
mkdir -p "$(dirname "$cache")"
work="$(mktemp -d "${cache}.tmp.XXXX")"
trap 'rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0

major="${k8s_version#v}"; major="${major%%.*}"
minor="${k8s_version#v*.}"; minor="${minor%%.*}"
vars=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	vars+=" -X ${p}.gitVersion=${k8s_version} -X ${p}.gitMajor=${major} -X ${p}.gitMinor=${minor}"
	vars+=" -X ${p}.gitTreeState=clean -X ${p}.buildDate=1970-01-01T00:00:00Z"
done

start=$SECONDS
(cd "$here/kube" && go build -trimpath -ldflags "-s -w${vars}" -o "$work/" \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler \
	go.etcd.io/etcd/server/v3)
mv "$work/server" "$work/etcd"  # go names a .../v3 main after the element before it
echo "kubernetes + etcd built in $((SECONDS - start))s"
(cd "$here/kwok" && go build -trimpath -ldflags "-s -w" -o "$work/kwok" sigs.k8s.io/kwok/cmd/kwok \
	&& go run ./stages > "$work/kwok-stages.yaml")
echo "control plane built in $((SECONDS - start))s"

touch "$work/.complete"
mkdir -p "$(dirname "$cache")"
rm -rf "$cache"
mv "$work" "$cache"
trap - EXIT
link
