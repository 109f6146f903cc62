#!/bin/sh
# fake_node.sh: Open MPI's rsh agent for simulated nodes on one machine
# (mpirun --hostfile H --mca plm_rsh_agent tests/gpu/fake_node.sh): Open MPI
# calls it as `fake_node.sh NODE COMMAND...` to start its daemon on NODE; it
# runs the command here instead, in a UTS namespace of its own whose host
# name is NODE, so the ranks of different nodes see different host names
# and MPI puts them on different nodes (MPI_COMM_TYPE_SHARED). Needs
# `unshare --uts` (root, or unprivileged user namespaces with --user).
node=$1
shift
exec unshare --uts sh -c 'hostname "$0" && exec sh -c "$1"' "$node" "$*"
