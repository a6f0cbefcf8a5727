#!/bin/bash
# podman with the options this host needs, detected rather than assumed; the
# Makefile (`make image`) and the container test (test/image) both call it.
#
# - A cgroup v1 or hybrid hierarchy (no cgroup2 at /sys/fs/cgroup): crun
#   refuses it, runc runs there.
# - No systemd running as init (no /run/systemd/system): podman cannot ask
#   systemd for the containers' cgroups, so it makes them itself (cgroupfs).
# - podman run as root raises a container's RLIMIT_NOFILE and RLIMIT_NPROC to
#   1048576 and 4194304, which runc's setrlimit is refused ("error setting
#   rlimits ... operation not permitted") where the host's hard limits are
#   lower, as on this VM: run, create and build get the host's hard limits,
#   and RLIMIT_NPROC no more than kernel.pid_max (conmon, which starts runc,
#   runs with that as its own hard limit here; more processes cannot exist).
set -eu

global=""
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
	global="$global --runtime runc"
fi
if [ ! -d /run/systemd/system ]; then
	global="$global --cgroup-manager=cgroupfs"
fi

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
run | create | build)
	nofile=$(ulimit -Hn)
	nproc=$(ulimit -Hu)
	[ "$nofile" = unlimited ] && nofile=1048576
	pidmax=$(cat /proc/sys/kernel/pid_max)
	if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pidmax" ]; then nproc=$pidmax; fi
	# shellcheck disable=SC2086 # $global is a list of options
	exec podman $global "$cmd" --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc" "$@"
	;;
*)
	# shellcheck disable=SC2086
	exec podman $global $cmd "$@"
	;;
esac
