/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The per-CPU budget of ring-buffer events, for every program that sends
 * them: FLOWLENS_EVENTS_PER_WINDOW(per_second) events in each
 * FLOWLENS_EVENTS_WINDOW_NS(per_second) window (flowlens.h). Cheap, and it
 * bounds each ring's inflow; what is over it is counted as
 * FLOWLENS_LOST_RATE_LIMIT, what the ring has no room for as
 * FLOWLENS_LOST_RING_FULL (events_reserve).
 */
#ifndef __FLOWLENS_EVENTS_BPF_H
#define __FLOWLENS_EVENTS_BPF_H

#include "clock.bpf.h"
#include "counter.bpf.h"

/*
 * Takes one event from this CPU's budget (slot 0 of budget_map, a per-CPU
 * array of struct events_budget). *now is the caller's clock reading, or zero
 * to have it read here when needed. Over budget, the clock is read only every
 * clock_stride-th attempt: where this runs for every packet of a flood (the
 * drop tracer) a clock read costs more than the rest of the check, and the
 * window then reopens at most that many attempts late. A stride of 1 reads it
 * every time.
 */
static __always_inline bool events_budget_take(void *budget_map, __u32 per_second, __u32 clock_stride, __u64 *now)
{
	__u32 zero = 0;
	struct events_budget *budget = bpf_map_lookup_elem(budget_map, &zero);
	__u64 per_window = FLOWLENS_EVENTS_PER_WINDOW(per_second);

	if (!budget)
		return false;
	if (budget->sent >= per_window && (budget->sent - per_window) % clock_stride != 0) {
		budget->sent += 1;
		return false;
	}
	if (!*now)
		*now = bpf_ktime_get_ns();
	if (elapsed_since(budget->window_start_ns, *now) >= FLOWLENS_EVENTS_WINDOW_NS(per_second)) {
		budget->window_start_ns = *now;
		budget->sent = 0;
	}
	budget->sent += 1;
	return budget->sent <= per_window;
}

/*
 * Room for one event of size bytes (a constant: sizeof the event) on ring,
 * within this CPU's budget (events_budget_take's arguments); NULL when the
 * event is not to be sent, counted in the per-CPU array lost by
 * FLOWLENS_LOST_* reason. *now is as for events_budget_take, and holds the
 * clock once an event is reserved.
 */
static __always_inline void *events_reserve(void *ring, void *budget_map, void *lost, __u32 per_second, __u32 clock_stride,
					    __u64 size, __u64 *now)
{
	void *event;

	if (!events_budget_take(budget_map, per_second, clock_stride, now)) {
		array_inc(lost, FLOWLENS_LOST_RATE_LIMIT);
		return NULL;
	}
	event = bpf_ringbuf_reserve(ring, size, 0);
	if (!event)
		array_inc(lost, FLOWLENS_LOST_RING_FULL);
	return event;
}

#endif /* __FLOWLENS_EVENTS_BPF_H */
