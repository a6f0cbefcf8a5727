/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Clock readings (bpf_ktime_get_ns(), CLOCK_MONOTONIC) compared across CPUs. */
#ifndef __FLOWLENS_CLOCK_BPF_H
#define __FLOWLENS_CLOCK_BPF_H

/*
 * Time elapsed from an earlier clock reading taken on any CPU. A reading
 * stored by another CPU may be later than a `now` this CPU read just before
 * looking it up; that counts as no time elapsed, never as an unsigned
 * underflow to centuries.
 */
static __always_inline __u64 elapsed_since(__u64 then, __u64 now)
{
	return now > then ? now - then : 0;
}

#endif /* __FLOWLENS_CLOCK_BPF_H */
