/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address -> security identity, for every program: the ipcache trie that user
 * space fills, and a per-CPU memo in front of it. Each object that includes
 * this gets its own maps; user space makes them share the flow object's
 * ipcache and ipcache_generation (BpfObject.reuseMap), so all programs
 * resolve addresses alike.
 */
#ifndef __FLOWLENS_IDENTITY_BPF_H
#define __FLOWLENS_IDENTITY_BPF_H

/*
 * Address -> identity by longest prefix. User space also inserts every
 * cluster CIDR with FLOWLENS_IDENTITY_UNMANAGED, so an address inside a
 * cluster range without a workload of its own resolves to "unmanaged" by the
 * longest-prefix rule alone; only addresses outside every entry are "world".
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
} ipcache SEC(".maps");

/*
 * Bumped by user space after each write to the ipcache, so that identity_cache
 * entries resolved before the write stop matching. Slot 0 only.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ipcache_generation SEC(".maps");

/*
 * Per-CPU memo of ipcache results for recent address pairs: packets of one
 * connection come in runs, and two LPM trie walks per packet cost more than
 * the rest of the program's map work together. Direct-mapped by a hash of the
 * pair; a collision only costs the trie walks.
 */
#define IDENTITY_CACHE_SLOTS 256

struct identity_cache_entry {
	__u64 saddr[2]; /* struct flowlens_packet's addresses, as words */
	__u64 daddr[2];
	__u64 generation; /* ipcache_generation when resolved */
	__u32 src_identity;
	__u32 dst_identity;
	__u32 family; /* 0: empty slot */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IDENTITY_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct identity_cache_entry);
} identity_cache SEC(".maps");

static __always_inline __u32 identity_of(__u8 family, const __u8 *addr)
{
	struct ipcache_key key = {};
	struct ipcache_value *value;

	key.family = family;
	if (family == FLOWLENS_FAMILY_IPV4) {
		key.prefixlen = 32 + 32;
		__builtin_memcpy(key.addr, addr, 4);
	} else {
		key.prefixlen = 32 + 128;
		__builtin_memcpy(key.addr, addr, 16);
	}
	value = bpf_map_lookup_elem(&ipcache, &key);
	return value ? value->identity : FLOWLENS_IDENTITY_WORLD;
}

/* Not symmetric in the two ends, so a request and its reply do not evict each other. */
static __always_inline __u32 identity_cache_slot(const __u64 *saddr, const __u64 *daddr)
{
	__u64 s = saddr[0] ^ saddr[1];
	__u64 d = daddr[0] ^ daddr[1];
	__u32 h = (__u32)(s ^ (s >> 32)) * 0x9e3779b1 + (__u32)(d ^ (d >> 32));

	return (h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24)) & (IDENTITY_CACHE_SLOTS - 1);
}

/*
 * The ipcache identities of both ends, as identity_of would give them. The
 * generation is read before the trie walks: a write that lands in between
 * leaves the entry stamped with the older generation, so it is resolved again.
 */
static __always_inline void identities_of(__u8 family, const __u8 *src_addr, const __u8 *dst_addr,
					  __u32 *src_identity, __u32 *dst_identity)
{
	__u32 zero = 0;
	__u64 *generation = bpf_map_lookup_elem(&ipcache_generation, &zero);
	struct identity_cache_entry *entry;
	__u64 saddr[2], daddr[2];
	__u32 slot;

	__builtin_memcpy(saddr, src_addr, 16);
	__builtin_memcpy(daddr, dst_addr, 16);
	slot = identity_cache_slot(saddr, daddr);
	entry = bpf_map_lookup_elem(&identity_cache, &slot);
	if (!generation || !entry) {
		*src_identity = identity_of(family, src_addr);
		*dst_identity = identity_of(family, dst_addr);
		return;
	}
	if (entry->family == family && entry->generation == *generation &&
	    ((entry->saddr[0] ^ saddr[0]) | (entry->saddr[1] ^ saddr[1]) | (entry->daddr[0] ^ daddr[0]) |
	     (entry->daddr[1] ^ daddr[1])) == 0) {
		*src_identity = entry->src_identity;
		*dst_identity = entry->dst_identity;
		return;
	}
	/* emptied while it is rewritten, so a run of the program that interleaves (PREEMPT_RT) misses */
	entry->family = 0;
	entry->generation = *generation;
	*src_identity = identity_of(family, src_addr);
	*dst_identity = identity_of(family, dst_addr);
	entry->saddr[0] = saddr[0];
	entry->saddr[1] = saddr[1];
	entry->daddr[0] = daddr[0];
	entry->daddr[1] = daddr[1];
	entry->src_identity = *src_identity;
	entry->dst_identity = *dst_identity;
	entry->family = family;
}

#endif /* __FLOWLENS_IDENTITY_BPF_H */
