#!/usr/bin/env bash
# Open MPI's rsh agent for scripts/mpi/netns-cluster.sh: called as `netns-agent.sh HOST COMMAND...`
# (where ssh would be), it runs COMMAND in the network namespace of HOST (10.77.0.K -> electra-h{K-1}).
set -euo pipefail
# Open MPI may pass ssh-style options first; skip them.
while [[ "${1:-}" == -* ]]; do shift; done
host=$1
shift
k=${host##*.}
exec ip netns exec "electra-h$((k - 1))" /bin/sh -c "$*"
