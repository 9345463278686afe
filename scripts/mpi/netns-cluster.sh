#!/usr/bin/env bash
# Several "hosts" on one machine for multi-host MPI runs (issue 27): each host is a network
# namespace with its own veth pair onto one bridge, so Open MPI's TCP transport crosses real
# (virtual) links between separate network stacks, as between machines. The filesystem is
# shared, as a cluster's NFS would be. Needs root (ip netns) and iproute2.
#
#   scripts/mpi/netns-cluster.sh up N [RATE]   make hosts electra-h0..h{N-1} at 10.77.0.1..N;
#                                              RATE (e.g. 10gbit) shapes each link with tc
#   scripts/mpi/netns-cluster.sh run N ARGS    mpirun from host 0 with one rank per host:
#                                              mpirun ... ARGS (the electra command and its options)
#   scripts/mpi/netns-cluster.sh down N        remove them
#
# mpirun starts the remote ranks through scripts/mpi/netns-agent.sh (its rsh agent), which
# runs Open MPI's daemon inside the host's namespace instead of over ssh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: netns-cluster.sh up|run|down N ...}
n=${2:?number of hosts}
bridge=electra-br0

up() {
    ip link add "$bridge" type bridge 2>/dev/null || true
    ip link set "$bridge" up
    for i in $(seq 0 $((n - 1))); do
        ns=electra-h$i
        ip netns add "$ns"
        ip link add "veth-h$i" type veth peer name eth0 netns "$ns"
        ip link set "veth-h$i" master "$bridge" up
        ip netns exec "$ns" ip addr add "10.77.0.$((i + 1))/24" dev eth0
        ip netns exec "$ns" ip link set eth0 up
        ip netns exec "$ns" ip link set lo up
        if [ -n "${1:-}" ]; then
            ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$1" burst 1mbit latency 50ms
        fi
    done
}

down() {
    for i in $(seq 0 $((n - 1))); do
        ip netns del "electra-h$i" 2>/dev/null || true
        ip link del "veth-h$i" 2>/dev/null || true
    done
    ip link del "$bridge" 2>/dev/null || true
}

run() {
    hostfile=$(mktemp)
    trap 'rm -f "$hostfile"' RETURN
    for i in $(seq 0 $((n - 1))); do echo "10.77.0.$((i + 1)) slots=1" >> "$hostfile"; done
    ip netns exec electra-h0 mpirun --allow-run-as-root -np "$n" --hostfile "$hostfile" --map-by node --bind-to none \
        --mca plm_rsh_agent "$here/netns-agent.sh" --mca btl self,tcp \
        --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
        -x PATH ${LD_LIBRARY_PATH:+-x LD_LIBRARY_PATH} "$@"
}

case "$cmd" in
    up) shift 2; up "${1:-}" ;;
    down) down ;;
    run) shift 2; run "$@" ;;
    *) echo "usage: netns-cluster.sh up|run|down N ..." >&2; exit 2 ;;
esac
