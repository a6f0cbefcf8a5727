/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Map operations on a map fd. Sizes are read from the kernel for every call
 * rather than trusted from JS, so a wrong buffer length is an EINVAL error and
 * never a write past the end of a buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "native.h"

struct map_layout {
	uint32_t type, key_size, value_size, max_entries;
	size_t value_len; /* bytes the kernel reads/writes per value (all CPUs for per-CPU maps) */
	char name[BPF_OBJ_NAME_LEN];
};

static bool is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static bool map_layout_of(napi_env env, napi_value jsfd, const char *op, int *fd,
			  struct map_layout *l)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int64_t v;
	int ncpu;

	if (!arg_int(env, jsfd, &v))
		return false;
	*fd = (int)v;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(*fd, &info, &len)) {
		throw_errno(env, op, errno, "not a BPF map fd");
		return false;
	}
	l->type = info.type;
	l->key_size = info.key_size;
	l->value_size = info.value_size;
	l->max_entries = info.max_entries;
	memcpy(l->name, info.name, sizeof(l->name));
	l->name[sizeof(l->name) - 1] = '\0';
	l->value_len = info.value_size;
	if (is_percpu(info.type)) {
		ncpu = libbpf_num_possible_cpus();
		if (ncpu < 0) {
			throw_errno(env, op, -ncpu, "cannot count possible CPUs");
			return false;
		}
		l->value_len = (size_t)ncpu * (((size_t)info.value_size + 7) & ~(size_t)7);
	}
	return true;
}

static bool check_len(napi_env env, const char *op, const struct map_layout *l, const char *what,
		      size_t got, size_t want)
{
	char detail[160];

	if (got == want)
		return true;
	snprintf(detail, sizeof(detail), "map '%s' needs a %s of %zu bytes, got %zu", l->name, what,
		 want, got);
	throw_invalid(env, op, detail);
	return false;
}

/* mapLookup(fd, key) -> Buffer | null (null when the key is absent) */
static napi_value js_map_lookup(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ret;
	struct map_layout l;
	void *key, *value;
	size_t key_len;
	int fd, err;

	if (!get_args(env, info, 2, argv) || !map_layout_of(env, argv[0], "map lookup", &fd, &l) ||
	    !arg_buffer(env, argv[1], &key, &key_len) ||
	    !check_len(env, "map lookup", &l, "key", key_len, l.key_size))
		return NULL;
	value = malloc(l.value_len ? l.value_len : 1);
	if (!value)
		return throw_errno(env, "map lookup", ENOMEM, NULL);
	err = bpf_map_lookup_elem(fd, key, value);
	if (err) {
		err = errno;
		free(value);
		if (err == ENOENT) {
			napi_get_null(env, &ret);
			return ret;
		}
		return throw_errno(env, "map lookup", err, l.name);
	}
	ret = make_buffer_copy(env, value, l.value_len);
	free(value);
	return ret;
}

/* mapUpdate(fd, key, value, flags): flags is BPF_ANY / BPF_NOEXIST / BPF_EXIST */
static napi_value js_map_update(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct map_layout l;
	void *key, *value;
	size_t key_len, value_len;
	int64_t flags;
	int fd;

	if (!get_args(env, info, 4, argv) || !map_layout_of(env, argv[0], "map update", &fd, &l) ||
	    !arg_buffer(env, argv[1], &key, &key_len) ||
	    !arg_buffer(env, argv[2], &value, &value_len) || !arg_int(env, argv[3], &flags) ||
	    !check_len(env, "map update", &l, "key", key_len, l.key_size) ||
	    !check_len(env, "map update", &l, "value", value_len, l.value_len))
		return NULL;
	if (bpf_map_update_elem(fd, key, value, (uint64_t)flags))
		return throw_errno(env, "map update", errno, l.name);
	return make_undefined(env);
}

/* mapDelete(fd, key) -> true if deleted, false if absent */
static napi_value js_map_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct map_layout l;
	size_t key_len;
	void *key;
	int fd;

	if (!get_args(env, info, 2, argv) || !map_layout_of(env, argv[0], "map delete", &fd, &l) ||
	    !arg_buffer(env, argv[1], &key, &key_len) ||
	    !check_len(env, "map delete", &l, "key", key_len, l.key_size))
		return NULL;
	if (bpf_map_delete_elem(fd, key)) {
		if (errno == ENOENT)
			return make_bool(env, false);
		return throw_errno(env, "map delete", errno, l.name);
	}
	return make_bool(env, true);
}

struct dump {
	char *keys, *values;
	size_t count, cap;
};

static int dump_reserve(struct dump *d, const struct map_layout *l, size_t want)
{
	size_t cap = d->cap ? d->cap : 64;
	char *k, *v;

	if (want <= d->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	k = realloc(d->keys, cap * (l->key_size ? l->key_size : 1));
	if (!k)
		return -ENOMEM;
	d->keys = k;
	v = realloc(d->values, cap * (l->value_len ? l->value_len : 1));
	if (!v)
		return -ENOMEM;
	d->values = v;
	d->cap = cap;
	return 0;
}

/*
 * Batched dump. Returns 0, or -EOPNOTSUPP when the map type has no batch
 * support (the caller then iterates), or another negative errno.
 */
static int dump_batch(int fd, const struct map_layout *l, struct dump *d)
{
	size_t token_len = l->key_size > 8 ? l->key_size : 8;
	char *in = calloc(1, token_len), *out = calloc(1, token_len), *tmp;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	bool first = true;
	uint32_t chunk = 256, count;
	int err = 0;

	if (!in || !out) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		err = dump_reserve(d, l, d->count + chunk);
		if (err)
			goto out;
		count = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : in, out, d->keys + d->count * l->key_size,
					   d->values + d->count * l->value_len, &count, &opts);
		if (err) {
			err = errno;
			/* a hash bucket holds more entries than asked for: ask for more */
			if (err == ENOSPC && chunk < (1u << 20)) {
				chunk *= 2;
				continue;
			}
			if (err != ENOENT) {
				if (first && (err == EINVAL || err == EOPNOTSUPP || err == 524))
					err = EOPNOTSUPP;
				err = -err;
				goto out;
			}
		}
		d->count += count;
		/* ENOENT: this batch was the last */
		if (err == ENOENT) {
			err = 0;
			goto out;
		}
		first = false;
		tmp = in;
		in = out;
		out = tmp;
	}
out:
	free(in);
	free(out);
	return err;
}

/* Key by key; for map types without batch ops (LPM trie). */
static int dump_iterate(int fd, const struct map_layout *l, struct dump *d)
{
	/* the cursor survives a key that vanished between get_next_key and lookup */
	char *cursor = malloc(l->key_size ? l->key_size : 1), *key;
	bool started = false;
	int err = 0;

	if (!cursor)
		return -ENOMEM;
	d->count = 0;
	for (;;) {
		err = dump_reserve(d, l, d->count + 1);
		if (err)
			break;
		key = d->keys + d->count * l->key_size;
		if (bpf_map_get_next_key(fd, started ? cursor : NULL, key)) {
			err = errno == ENOENT ? 0 : -errno;
			break;
		}
		memcpy(cursor, key, l->key_size);
		started = true;
		if (bpf_map_lookup_elem(fd, key, d->values + d->count * l->value_len)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			continue;
		}
		d->count++;
	}
	free(cursor);
	return err;
}

/* mapDump(fd) -> { count, keys: Buffer, values: Buffer } packed back to back */
static napi_value js_map_dump(napi_env env, napi_callback_info info)
{
	napi_value argv[1], ret;
	struct map_layout l;
	struct dump d = { 0 };
	int fd, err;

	if (!get_args(env, info, 1, argv) || !map_layout_of(env, argv[0], "map dump", &fd, &l))
		return NULL;
	err = dump_batch(fd, &l, &d);
	if (err == -EOPNOTSUPP) {
		d.count = 0;
		err = dump_iterate(fd, &l, &d);
	}
	if (err) {
		free(d.keys);
		free(d.values);
		return throw_errno(env, "map dump", -err, l.name);
	}
	napi_create_object(env, &ret);
	set_prop(env, ret, "count", make_int(env, (int64_t)d.count));
	set_prop(env, ret, "keys", make_buffer_copy(env, d.keys, d.count * l.key_size));
	set_prop(env, ret, "values", make_buffer_copy(env, d.values, d.count * l.value_len));
	free(d.keys);
	free(d.values);
	return ret;
}

void register_maps(napi_env env, napi_value exports)
{
	export_fn(env, exports, "mapLookup", js_map_lookup);
	export_fn(env, exports, "mapUpdate", js_map_update);
	export_fn(env, exports, "mapDelete", js_map_delete);
	export_fn(env, exports, "mapDump", js_map_dump);
}
