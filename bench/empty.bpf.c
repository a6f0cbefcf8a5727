// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The baseline of `make bench`: a TC program that does nothing. Its ns per
 * packet (bpf_stats) is what the hook itself costs, so flow.bpf.c's cost is
 * reported as a ratio against it, measured on the same packets.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC: pass on to whatever comes next, like flow.bpf.c */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
