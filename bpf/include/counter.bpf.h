/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-CPU counters for every program: array slots, and hash-map counters
 * keyed by identity pair with an overflow path.
 *
 * A counter hash map can fill up (a port scan, an identity storm). A key that
 * cannot be created is not lost: its counts go to the map's overflow key
 * (every byte 0xff, FLOWLENS_COUNTER_OVERFLOW_BYTE), which user space inserts
 * right after load, so it is always there; the miss itself is counted in the
 * object's map-errors array. The sum over every key of a map therefore always
 * equals what the program saw.
 */
#ifndef __FLOWLENS_COUNTER_BPF_H
#define __FLOWLENS_COUNTER_BPF_H

/* The largest counter value (dns_response_value, http_response_value): the size of the zeroed initial value. */
#define FLOWLENS_COUNTER_VALUE_MAX 128
/* The largest counter key: the size of the overflow key built here. */
#define FLOWLENS_COUNTER_KEY_MAX 16

/*
 * A zeroed value to create counters from: one entry nothing ever writes. Read
 * from a map rather than built on the stack, which the subprograms of a
 * program share (512 bytes for the whole call chain).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__uint(value_size, FLOWLENS_COUNTER_VALUE_MAX);
} counter_zero SEC(".maps");

static __always_inline void array_inc(void *map, __u32 index)
{
	__u64 *count = bpf_map_lookup_elem(map, &index);

	/* per-CPU slot: no other CPU writes it, and programs do not nest on one CPU */
	if (count)
		*count += 1;
}

/*
 * Slow path of counter_value(): the key's first count on this map. A
 * subprogram, so that its instructions and the overflow key's stack stay off
 * the path every packet takes.
 */
static __noinline void *counter_create(void *map, const void *key, void *errors, __u32 map_id)
{
	__u8 overflow[FLOWLENS_COUNTER_KEY_MAX];
	__u32 slot = 0;
	void *zero = bpf_map_lookup_elem(&counter_zero, &slot);
	void *value;

	if (!zero)
		return NULL;
	/* NOEXIST: another CPU may have created the key meanwhile; the lookup then finds it */
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	value = bpf_map_lookup_elem(map, key);
	if (value)
		return value;
	array_inc(errors, map_id);
	__builtin_memset(overflow, FLOWLENS_COUNTER_OVERFLOW_BYTE, sizeof(overflow));
	return bpf_map_lookup_elem(map, overflow);
}

/*
 * This CPU's value under key, created zeroed when absent; when the map is
 * full, the overflow key's value (the miss counted in errors[map_id]). NULL
 * only if user space did not insert the overflow key.
 */
static __always_inline void *counter_value(void *map, const void *key, void *errors, __u32 map_id)
{
	void *value = bpf_map_lookup_elem(map, key);

	if (value)
		return value;
	return counter_create(map, key, errors, map_id);
}

/* Adds inc to a per-CPU __u64 counter under key (see counter_value). */
static __always_inline void counter_add(void *map, const void *key, __u64 inc, void *errors, __u32 map_id)
{
	__u64 *count = counter_value(map, key, errors, map_id);

	if (count)
		*count += inc;
}

#endif /* __FLOWLENS_COUNTER_BPF_H */
