#!/usr/bin/env bash
# A real, local Kubernetes control plane for kubectl-ds's end-to-end tests and benchmarks.
#
#   hack/cluster.sh build    build etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
#                            kubectl, kwok, krew and validate-krew-manifest from their Go modules
#                            (cached; once per machine and Kubernetes version)
#
# K8S_VERSION (default 1.37.2) picks the Kubernetes release, 1.33.x through 1.37.x:
#   K8S_VERSION=1.33.13 hack/cluster.sh build && K8S_VERSION=1.33.13 hack/cluster.sh up
#   hack/cluster.sh up       start them on 127.0.0.1 (free ports, fresh certificates); prints env
#   hack/cluster.sh env      print `export KUBECONFIG=...` for the running cluster
#   hack/cluster.sh bin      print the directory of K8S_VERSION's binaries (kubectl among them)
#   hack/cluster.sh status   say whether a cluster is running
#   hack/cluster.sh down     stop every process `up` started (by pid) and remove its directory
#   hack/cluster.sh nodes N [PREFIX]   create N KWOK nodes (default prefix kwok-node-)
#   hack/cluster.sh restart NAME       restart one component (e.g. kube-apiserver) with its flags
#
# Everything built lives under $KDS_CACHE (default ~/.cache/kubectl-ds); the running cluster lives
# under $KDS_RUN (default $KDS_CACHE/run). Nothing is downloaded but Go modules and toolchains from
# the Go module proxy.
#
# Tuning knobs for `up` (defaults suit the e2e tests; bench/run.py raises them for 5,000 nodes):
#   KDS_KCM_QPS / KDS_KCM_BURST (500/1000), KDS_SCHED_QPS / KDS_SCHED_BURST (500/1000),
#   KDS_DS_SYNCS (concurrent DaemonSet syncs, 4), KDS_NODE_LEASE_SECONDS (KWOK node leases, 40: KWOK
#   renews every quarter of it, so 5,000 nodes at 40 s are 500 writes/s), KDS_NODE_MONITOR_GRACE
#   (40s; must exceed the renew interval), KDS_KWOK_CONFIG (one more KWOK config file, e.g. a
#   KwokConfiguration with podPlayStageParallelism), and KDS_APISERVER_ARGS / KDS_KCM_ARGS (extra
#   flags, split on spaces).
set -euo pipefail

# Supported: 1.33 through 1.37; the default is the newest. Each version's binaries are cached side
# by side ($KDS_CACHE/k8s/vX.Y.Z), so building a second version never overwrites the first.
K8S_VERSION=${K8S_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.5.21}
KWOK_VERSION=${KWOK_VERSION:-0.7.0}
KREW_VERSION=${KREW_VERSION:-0.4.4}
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
# The Go toolchain for Kubernetes itself. 1.33 declares go 1.24.0 and its json-iterator/reflect2
# predate newer runtimes: build it with a go1.24 toolchain (the go command takes it from the module
# proxy). 1.34-1.37 declare go 1.24.0-1.26.0, which this machine's Go (1.26) satisfies: "local".
if [ -z "${K8S_GOTOOLCHAIN:-}" ]; then
  case "$K8S_MINOR" in
    33) K8S_GOTOOLCHAIN=go1.24.13 ;;
    *) K8S_GOTOOLCHAIN=local ;;
  esac
fi

HERE=$(cd "$(dirname "$0")" && pwd)
KDS_CACHE=${KDS_CACHE:-$HOME/.cache/kubectl-ds}
KDS_RUN=${KDS_RUN:-$KDS_CACHE/run}
BIN=$KDS_CACHE/bin                      # etcd, kwok, krew: one build serves every version
KBIN=$KDS_CACHE/k8s/v$K8S_VERSION/bin   # kube-apiserver, -controller-manager, -scheduler, kubectl

log() { echo "cluster.sh: $*" >&2; }
die() { echo "cluster.sh: error: $*" >&2; exit 1; }

stamp_ok() { [ -x "$BIN/$1" ] && [ -f "$BIN/.$1.version" ] && [ "$(cat "$BIN/.$1.version")" = "$2" ]; }

build_etcd() {
  stamp_ok etcd "$ETCD_VERSION" && return 0
  log "building etcd v$ETCD_VERSION"
  local w=$KDS_CACHE/build/etcd-v$ETCD_VERSION
  mkdir -p "$w" "$BIN"
  ( cd "$w"
    # etcd's server module is itself `package main`; a wrapper module with no Go code builds it.
    printf 'module local/etcdbin\n\ngo 1.23.0\n' > go.mod
    export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3 )
  echo "$ETCD_VERSION" > "$BIN/.etcd.version"
}

build_kwok() {
  stamp_ok kwok "$KWOK_VERSION" && return 0
  log "building kwok v$KWOK_VERSION"
  mkdir -p "$BIN"
  GOBIN=$BIN CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  echo "$KWOK_VERSION" > "$BIN/.kwok.version"
}

kstamp_ok() { [ -x "$KBIN/$1" ] && [ -f "$KBIN/.$1.version" ] && [ "$(cat "$KBIN/.$1.version")" = "$K8S_VERSION" ]; }

build_k8s() {
  local all=1 b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    kstamp_ok "$b" || all=0
  done
  [ $all = 1 ] && return 0
  log "building Kubernetes v$K8S_VERSION (apiserver, controller-manager, scheduler, kubectl) with Go toolchain $K8S_GOTOOLCHAIN"
  local w=$KDS_CACHE/build/k8s-v$K8S_VERSION
  mkdir -p "$w" "$KBIN"
  ( cd "$w"
    export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=$K8S_GOTOOLCHAIN
    # k8s.io/kubernetes requires its staging modules at v0.0.0 with replace directives that only
    # apply when it is the main module; a wrapper module replaces each with its published v0.X.Y.
    printf 'module local/k8sbin\n\ngo 1.24.0\n' > go.mod
    local gomod m v goline godebug
    gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@v$K8S_VERSION"
    # the wrapper takes upstream's go and godebug lines, so the binaries get upstream's GODEBUG defaults
    goline=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -1)
    godebug=$(sed -n 's/^godebug \(.*\)$/\1/p' "$gomod" | head -1)
    printf 'module local/k8sbin\n\ngo %s\n' "${goline:-1.24.0}" > go.mod
    [ -n "$godebug" ] && printf '\ngodebug %s\n' "$godebug" >> go.mod
    for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*|\1|p' "$gomod"); do
      v="v0.$K8S_MINOR.${K8S_VERSION##*.}"
      go mod edit -replace="$m=$m@$v"
    done
    go get "k8s.io/kubernetes@v$K8S_VERSION"
    local ld="-s -w" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld="$ld -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    go build -trimpath -tags selinux,notest -ldflags "$ld" -o "$KBIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl )
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    echo "$K8S_VERSION" > "$KBIN/.$b.version"
  done
}

build_krew() {
  # krew (the plugin manager) and its manifest validator, for the distribution tests (tests/dist).
  # v0.4.4: the module proxy refuses v0.4.5 here (403 "not available"), and its @v/list too, so
  # `go install pkg@version` (which reads the list for deprecations) fails; a wrapper module that
  # requires krew builds the same binaries (krew has no replace directives: same build list).
  stamp_ok krew "$KREW_VERSION" && stamp_ok validate-krew-manifest "$KREW_VERSION" && return 0
  log "building krew v$KREW_VERSION and validate-krew-manifest"
  local w=$KDS_CACHE/build/krew-v$KREW_VERSION
  mkdir -p "$w" "$BIN"
  ( cd "$w"
    printf 'module local/krewbin\n\ngo 1.20\n' > go.mod
    export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
    go mod edit -require="sigs.k8s.io/krew@v$KREW_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$BIN/" sigs.k8s.io/krew/cmd/krew \
      sigs.k8s.io/krew/cmd/validate-krew-manifest )
  echo "$KREW_VERSION" > "$BIN/.krew.version"
  echo "$KREW_VERSION" > "$BIN/.validate-krew-manifest.version"
}

cmd_build() {
  command -v go >/dev/null || die "go is not installed (needed to build the control plane)"
  local t0=$SECONDS
  build_etcd
  build_kwok
  build_k8s
  build_krew
  log "binaries ready in $KBIN and $BIN ($((SECONDS - t0))s)"
  "$KBIN/kube-apiserver" --version >&2
  "$BIN/etcd" --version | head -1 >&2
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

running() {
  [ -f "$KDS_RUN/pids" ] || return 1
  local pid
  while read -r _ pid; do kill -0 "$pid" 2>/dev/null && return 0; done < "$KDS_RUN/pids"
  return 1
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local limit=$1 what=$2; shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then
      log "timed out after ${limit}s waiting for $what; last log lines:"
      tail -n 20 "$KDS_RUN"/logs/*.log >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

start() { # start NAME CMD...
  local name=$1; shift
  mkdir -p "$KDS_RUN/cmd"
  printf '%s\0' "$@" > "$KDS_RUN/cmd/$name"   # kept for `restart NAME`
  "$@" >>"$KDS_RUN/logs/$name.log" 2>&1 &
  echo "$name $!" >> "$KDS_RUN/pids"
}

cmd_restart() { # restart NAME: stop one component and start it again with the same flags
  local name=${1:?usage: restart NAME (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)}
  [ -f "$KDS_RUN/cmd/$name" ] || die "no running component named $name"
  local pid; pid=$(awk -v n="$name" '$1 == n {print $2}' "$KDS_RUN/pids" | tail -1)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    local end=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null; do
      [ $SECONDS -ge $end ] && { kill -9 "$pid" 2>/dev/null || true; break; }
      sleep 0.1
    done
  fi
  local args=(); while IFS= read -r -d '' a; do args+=("$a"); done < "$KDS_RUN/cmd/$name"
  awk -v n="$name" '$1 != n' "$KDS_RUN/pids" > "$KDS_RUN/pids.new" && mv "$KDS_RUN/pids.new" "$KDS_RUN/pids"
  start "$name" "${args[@]}"
  if [ "$name" = kube-apiserver ]; then
    wait_for 90 kube-apiserver "$KBIN/kubectl" --kubeconfig="$KDS_RUN/kubeconfig" get --raw /readyz
  fi
  log "restarted $name"
}

cmd_up() {
  if running; then die "a cluster is already running (KUBECONFIG=$KDS_RUN/kubeconfig); run 'hack/cluster.sh down' first"; fi
  for b in etcd kwok; do
    [ -x "$BIN/$b" ] || die "$BIN/$b is missing; run 'hack/cluster.sh build' first"
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$KBIN/$b" ] || die "$KBIN/$b is missing; run 'K8S_VERSION=$K8S_VERSION hack/cluster.sh build' first"
  done
  rm -rf "$KDS_RUN"; mkdir -p "$KDS_RUN/logs" "$KDS_RUN/pki" "$KDS_RUN/etcd"
  : > "$KDS_RUN/pids"
  trap 'log "start failed; stopping"; cmd_down >/dev/null 2>&1 || true' ERR
  local P=$KDS_RUN/pki K=$KDS_RUN/kubeconfig
  # Certificates: one CA, an apiserver serving cert for loopback, a service-account key pair.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=kubectl-ds-test-ca \
    -keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver \
    -keyout "$P/apiserver.key" -out "$P/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' > "$P/san.ext"
  openssl x509 -req -in "$P/apiserver.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
    -days 3650 -extfile "$P/san.ext" -out "$P/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$P/sa.key" 2048 2>/dev/null
  openssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
  local token; token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  # admin (system:masters) and a deliberately unprivileged user for RBAC tests
  { echo "$token,admin,admin-uid,\"system:masters\""
    echo "$token-nobody,nobody,nobody-uid"; } > "$P/tokens.csv"

  local etcd_port etcd_peer api_port kcm_port sched_port kwok_port
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  kcm_port=$(free_port); sched_port=$(free_port); kwok_port=$(free_port)

  "$KBIN/kubectl" config --kubeconfig="$K" set-cluster local --server="https://127.0.0.1:$api_port" \
    --certificate-authority="$P/ca.crt" --embed-certs >/dev/null
  "$KBIN/kubectl" config --kubeconfig="$K" set-credentials admin --token="$token" >/dev/null
  "$KBIN/kubectl" config --kubeconfig="$K" set-credentials nobody --token="$token-nobody" >/dev/null
  "$KBIN/kubectl" config --kubeconfig="$K" set-context local --cluster=local --user=admin >/dev/null
  "$KBIN/kubectl" config --kubeconfig="$K" set-context nobody --cluster=local --user=nobody >/dev/null
  "$KBIN/kubectl" config --kubeconfig="$K" use-context local >/dev/null

  start etcd "$BIN/etcd" --name=node0 --data-dir="$KDS_RUN/etcd" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
    --initial-cluster="node0=http://127.0.0.1:$etcd_peer" --auto-compaction-retention=1 \
    --quota-backend-bytes=8589934592 --unsafe-no-fsync --listen-metrics-urls=
  wait_for 30 etcd curl -sf "http://127.0.0.1:$etcd_port/health"

  start kube-apiserver "$KBIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --endpoint-reconciler-type=none \
    --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
    --token-auth-file="$P/tokens.csv" --authorization-mode=Node,RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true --cert-dir="$KDS_RUN/certs" \
    --max-requests-inflight=2000 --max-mutating-requests-inflight=1000 \
    --enable-priority-and-fairness=false ${KDS_APISERVER_ARGS:-}
  wait_for 90 kube-apiserver "$KBIN/kubectl" --kubeconfig="$K" get --raw /readyz

  start kube-controller-manager "$KBIN/kube-controller-manager" --kubeconfig="$K" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$kcm_port" \
    --authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics \
    --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
    --kube-api-qps="${KDS_KCM_QPS:-500}" --kube-api-burst="${KDS_KCM_BURST:-1000}" \
    --concurrent-daemonset-syncs="${KDS_DS_SYNCS:-4}" \
    --node-monitor-grace-period="${KDS_NODE_MONITOR_GRACE:-40s}" ${KDS_KCM_ARGS:-}
  start kube-scheduler "$KBIN/kube-scheduler" --kubeconfig="$K" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$sched_port" \
    --kube-api-qps="${KDS_SCHED_QPS:-500}" --kube-api-burst="${KDS_SCHED_BURST:-1000}"
  start kwok env HOME="$KDS_RUN" "$BIN/kwok" --kubeconfig="$K" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --manage-nodes-with-label-selector= \
    --cidr=10.128.0.1/9 --node-ip=10.0.0.1 --node-lease-duration-seconds="${KDS_NODE_LEASE_SECONDS:-40}" \
    --server-address="127.0.0.1:$kwok_port" --config="$HERE/kwok-pod-stages.yaml" \
    ${KDS_KWOK_CONFIG:+--config="$KDS_KWOK_CONFIG"}
  wait_for 60 kube-controller-manager curl -skf "https://127.0.0.1:$kcm_port/healthz"
  wait_for 60 kube-scheduler curl -skf "https://127.0.0.1:$sched_port/healthz"
  # the service-account controller creates "default" in every namespace; wait for it in default
  wait_for 60 "the default service account" "$KBIN/kubectl" --kubeconfig="$K" get serviceaccount default -n default
  trap - ERR
  printf 'api %s\netcd %s\n' "$api_port" "$etcd_port" > "$KDS_RUN/ports"
  log "control plane up: v$K8S_VERSION, etcd v$ETCD_VERSION, kwok v$KWOK_VERSION"
  cmd_env
}

cmd_env() {
  [ -f "$KDS_RUN/kubeconfig" ] || die "no cluster (run 'hack/cluster.sh up')"
  echo "export KUBECONFIG=$KDS_RUN/kubeconfig"
  echo "export PATH=$KBIN:$BIN:\$PATH"
}

cmd_bin() { echo "$KBIN"; }

cmd_status() {
  if running; then echo "running (KUBECONFIG=$KDS_RUN/kubeconfig)"; else echo "not running"; return 1; fi
}

cmd_down() {
  [ -f "$KDS_RUN/pids" ] || { log "no cluster is running"; return 0; }
  local name pid
  # reverse start order
  tac "$KDS_RUN/pids" | while read -r name pid; do
    kill "$pid" 2>/dev/null || true
  done
  local end=$((SECONDS + 15))
  tac "$KDS_RUN/pids" | while read -r name pid; do
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $end ]; then kill -9 "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
  done
  rm -rf "$KDS_RUN"
  log "stopped"
}

cmd_nodes() {
  local n=${1:?usage: nodes N [PREFIX]} prefix=${2:-kwok-node-}
  [ -f "$KDS_RUN/kubeconfig" ] || die "no cluster (run 'hack/cluster.sh up')"
  python3 - "$n" "$prefix" <<'PY' | "$KBIN/kubectl" --kubeconfig="$KDS_RUN/kubeconfig" apply -f - >/dev/null
import json, sys
n, prefix = int(sys.argv[1]), sys.argv[2]
items = []
for i in range(n):
    name = f"{prefix}{i}"
    items.append({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64", "type": "kwok"}},
        "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                   "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
  log "$n nodes created (prefix $prefix)"
}

case "${1:-}" in
  build) cmd_build ;;
  up) cmd_up ;;
  env) cmd_env ;;
  bin) cmd_bin ;;
  status) cmd_status ;;
  down) cmd_down ;;
  nodes) shift; cmd_nodes "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  *) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print} /^set -euo/ {exit}' "$0"; exit 2 ;;
esac
