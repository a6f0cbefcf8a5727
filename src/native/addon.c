/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module entry and the resource table. Every kernel-side handle the addon
 * creates (objects, links, tc filters, ring buffers, stats fds) lives in this
 * table until JS closes it; at environment teardown the cleanup hook releases
 * what is left, so a crashed or forgetful caller does not leave tc filters
 * behind on an interface.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "native.h"

/*
 * A handle is slot index + generation * SLOT_SPAN, so a stale handle from a
 * closed resource never reaches a new resource that reuses the slot.
 */
#define SLOT_SPAN 16777216.0 /* 2^24 slots; generation fits easily in a double */

struct slot {
	struct resource *res;
	uint32_t generation;
};

struct table {
	struct slot *slots;
	size_t len, cap;
	size_t free_hint;
};

static struct table *env_table(napi_env env)
{
	void *data = NULL;

	napi_get_instance_data(env, &data);
	return data;
}

double resource_add(napi_env env, struct resource *res)
{
	struct table *t = env_table(env);
	size_t i;

	for (i = t->free_hint; i < t->len; i++)
		if (!t->slots[i].res)
			break;
	if (i == t->len) {
		if (t->len == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 64;
			struct slot *s = realloc(t->slots, cap * sizeof(*s));

			if (!s)
				return -1;
			memset(s + t->cap, 0, (cap - t->cap) * sizeof(*s));
			t->slots = s;
			t->cap = cap;
		}
		t->len++;
	}
	t->slots[i].res = res;
	t->slots[i].generation++;
	t->free_hint = i + 1;
	return (double)i + (double)t->slots[i].generation * SLOT_SPAN;
}

napi_value make_handle(napi_env env, struct resource *res, const char *op)
{
	double handle = resource_add(env, res);
	napi_value v;

	if (handle < 0) {
		resource_release(env, res);
		return throw_errno(env, op, ENOMEM, NULL);
	}
	napi_create_double(env, handle, &v);
	return v;
}

static struct slot *slot_of(struct table *t, double handle)
{
	double gen_d, idx_d;
	size_t idx;

	if (!(handle >= 0) || handle > 9007199254740991.0)
		return NULL;
	gen_d = (double)(uint64_t)(handle / SLOT_SPAN);
	idx_d = handle - gen_d * SLOT_SPAN;
	idx = (size_t)idx_d;
	if (idx >= t->len || !t->slots[idx].res || (double)t->slots[idx].generation != gen_d)
		return NULL;
	return &t->slots[idx];
}

struct resource *resource_get(napi_env env, double handle, enum resource_kind kind)
{
	struct slot *s = slot_of(env_table(env), handle);

	if (!s || s->res->kind != kind)
		return NULL;
	return s->res;
}

void resource_forget(napi_env env, double handle)
{
	struct table *t = env_table(env);
	struct slot *s = slot_of(t, handle);

	if (!s)
		return;
	s->res = NULL;
	if ((size_t)(s - t->slots) < t->free_hint)
		t->free_hint = (size_t)(s - t->slots);
}

int resource_release(napi_env env, struct resource *res)
{
	int err = 0;

	switch (res->kind) {
	case RES_OBJECT:
		bpf_object__close(res->u.obj);
		break;
	case RES_LINK:
		err = bpf_link__destroy(res->u.link);
		break;
	case RES_TCX:
	case RES_STATS_FD:
		close(res->u.fd);
		break;
	case RES_CLSACT:
		err = tc_release(res);
		break;
	case RES_RINGBUF:
		ringbuf_release(env, res->u.rb);
		break;
	case RES_RING_READER:
		reader_release(res->u.reader);
		break;
	}
	free(res);
	return err;
}

/* Order matters at teardown: what points into an object goes before the object. */
static const enum resource_kind teardown_order[] = {
	RES_RINGBUF, RES_RING_READER, RES_LINK, RES_CLSACT, RES_TCX, RES_STATS_FD, RES_OBJECT,
};

static void cleanup_env(void *arg)
{
	struct table *t = arg;
	size_t k, i;

	for (k = 0; k < sizeof(teardown_order) / sizeof(teardown_order[0]); k++) {
		for (i = 0; i < t->len; i++) {
			struct resource *res = t->slots[i].res;

			if (!res || res->kind != teardown_order[k])
				continue;
			t->slots[i].res = NULL;
			/*
			 * Ring buffers have their own (asynchronous) teardown hook, which
			 * ran before this one; only the table entry is left here.
			 */
			if (res->kind == RES_RINGBUF)
				free(res);
			else
				resource_release(NULL, res);
		}
	}
	free(t->slots);
	t->slots = NULL;
	t->len = t->cap = 0;
}

/* close(handle): releases any kind of handle; closing a stale handle does nothing. */
static napi_value js_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct slot *s;
	struct resource *res;
	double handle;
	int err;

	if (!get_args(env, info, 1, argv) || !arg_double(env, argv[0], &handle))
		return NULL;
	s = slot_of(env_table(env), handle);
	if (!s)
		return make_undefined(env);
	res = s->res;
	resource_forget(env, handle);
	err = resource_release(env, res);
	if (err)
		return throw_errno(env, "close", -err, NULL);
	return make_undefined(env);
}

static napi_value js_possible_cpus(napi_env env, napi_callback_info info)
{
	int n = libbpf_num_possible_cpus();

	(void)info;
	if (n < 0)
		return throw_errno(env, "libbpf_num_possible_cpus", -n, NULL);
	return make_int(env, n);
}

/* Run-time statistics stay on for as long as the returned fd is open. */
static napi_value js_enable_stats(napi_env env, napi_callback_info info)
{
	struct resource *res;
	int fd;

	(void)info;
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return throw_errno(env, "bpf_enable_stats(BPF_STATS_RUN_TIME)", errno, NULL);
	res = calloc(1, sizeof(*res));
	if (!res) {
		close(fd);
		return throw_errno(env, "bpf_enable_stats", ENOMEM, NULL);
	}
	res->kind = RES_STATS_FD;
	res->u.fd = fd;
	return make_handle(env, res, "bpf_enable_stats");
}

NAPI_MODULE_INIT()
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t) {
		napi_throw_error(env, "ENOMEM", "flowlens_native: out of memory");
		return NULL;
	}
	napi_set_instance_data(env, t, NULL, NULL);
	napi_add_env_cleanup_hook(env, cleanup_env, t);

	export_fn(env, exports, "close", js_close);
	export_fn(env, exports, "possibleCpus", js_possible_cpus);
	export_fn(env, exports, "enableStats", js_enable_stats);
	register_object(env, exports);
	register_maps(env, exports);
	register_programs(env, exports);
	register_tc(env, exports);
	register_ringbuf(env, exports);
	register_reader(env, exports);
	return exports;
}
