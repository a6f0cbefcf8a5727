/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ring buffer consumption on the Node.js event loop. libbpf's ring buffer
 * exposes an epoll fd; libuv polls it like any socket, and each wakeup drains
 * the ring and hands JS one array of records. No thread, no busy polling.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <uv.h>

#include "native.h"

/*
 * Records handed to JS per wakeup at most, so a flooding producer cannot hold
 * the event loop; the epoll fd stays readable and the rest comes next turn.
 */
#define MAX_BATCH 4096
#define BATCH_FULL (-4096) /* our sample_cb's "stop here" value, never a libbpf errno */

struct record {
	void *data;
	size_t len;
};

struct ringbuf_sub {
	napi_env env;
	struct ring_buffer *rb;
	uv_poll_t *poll; /* separately allocated: freed in its close callback */
	napi_ref callback;
	napi_async_context async;
	/*
	 * Teardown of the environment waits for this hook to be removed, which
	 * happens only once libuv has closed the poll handle: Node unloads the
	 * addon after a worker's teardown, and a close callback must not run
	 * after that.
	 */
	napi_async_cleanup_hook_handle teardown;
	struct record *batch;
	size_t count;
	bool closed;
};

static int on_sample(void *ctx, void *data, size_t len)
{
	struct ringbuf_sub *sub = ctx;
	void *copy = malloc(len ? len : 1);

	/* the record is consumed whatever we return; losing it beats crashing */
	if (!copy)
		return 0;
	memcpy(copy, data, len);
	sub->batch[sub->count].data = copy;
	sub->batch[sub->count].len = len;
	sub->count++;
	return sub->count >= MAX_BATCH ? BATCH_FULL : 0;
}

static void free_batch(struct ringbuf_sub *sub)
{
	size_t i;

	for (i = 0; i < sub->count; i++)
		free(sub->batch[i].data);
	sub->count = 0;
}

static void deliver(struct ringbuf_sub *sub)
{
	napi_env env = sub->env;
	napi_handle_scope scope;
	napi_value arr, fn, recv, buf, exc;
	size_t i;

	napi_open_handle_scope(env, &scope);
	napi_create_array_with_length(env, sub->count, &arr);
	for (i = 0; i < sub->count; i++) {
		buf = make_buffer_copy(env, sub->batch[i].data, sub->batch[i].len);
		napi_set_element(env, arr, (uint32_t)i, buf);
	}
	free_batch(sub);
	napi_get_reference_value(env, sub->callback, &fn);
	/* make_callback needs an object as receiver */
	napi_get_global(env, &recv);
	/* make_callback drains microtasks and reports a throw as an uncaught exception */
	if (napi_make_callback(env, sub->async, recv, fn, 1, &arr, NULL) == napi_pending_exception) {
		napi_get_and_clear_last_exception(env, &exc);
		napi_fatal_exception(env, exc);
	}
	napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *poll, int status, int events)
{
	struct ringbuf_sub *sub = poll->data;
	int err;

	(void)events;
	if (sub->closed)
		return;
	if (status < 0)
		return;
	err = ring_buffer__consume(sub->rb);
	if (err < 0 && err != BATCH_FULL) {
		/* a consume error is not recoverable for this ring; stop polling it */
		free_batch(sub);
		uv_poll_stop(poll);
		return;
	}
	if (sub->count > 0)
		deliver(sub);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct ringbuf_sub *sub = h->data;

	free(h);
	napi_remove_async_cleanup_hook(sub->teardown);
	free(sub);
}

/* Explicit close (env given) or environment teardown (env NULL); runs once. */
void ringbuf_release(napi_env env, struct ringbuf_sub *sub)
{
	if (sub->closed)
		return;
	sub->closed = true;
	uv_poll_stop(sub->poll);
	ring_buffer__free(sub->rb);
	sub->rb = NULL;
	free_batch(sub);
	free(sub->batch);
	sub->batch = NULL;
	if (env) {
		napi_delete_reference(env, sub->callback);
		napi_async_destroy(env, sub->async);
	}
	/* sub itself goes in on_poll_closed */
	sub->poll->data = sub;
	uv_close((uv_handle_t *)sub->poll, on_poll_closed);
}

static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg)
{
	(void)handle;
	ringbuf_release(NULL, arg);
}

/* ringBufferOpen(mapFd, onEvents(records: Buffer[])) -> handle */
static napi_value js_ringbuf_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2], name;
	napi_valuetype type;
	struct ringbuf_sub *sub;
	struct resource *res;
	struct uv_loop_s *loop;
	int64_t fd;
	int err;

	if (!get_args(env, info, 2, argv) || !arg_int(env, argv[0], &fd))
		return NULL;
	napi_typeof(env, argv[1], &type);
	if (type != napi_function) {
		napi_throw_type_error(env, NULL, "flowlens_native: expected a function");
		return NULL;
	}
	sub = calloc(1, sizeof(*sub));
	res = calloc(1, sizeof(*res));
	if (sub)
		sub->batch = calloc(MAX_BATCH, sizeof(*sub->batch));
	if (!sub || !res || !sub->batch) {
		if (sub)
			free(sub->batch);
		free(sub);
		free(res);
		return throw_errno(env, "ring buffer open", ENOMEM, NULL);
	}
	sub->env = env;
	libbpf_log_reset();
	sub->rb = ring_buffer__new((int)fd, on_sample, sub, NULL);
	if (!sub->rb) {
		err = errno;
		free(sub->batch);
		free(sub);
		free(res);
		return throw_errno(env, "ring buffer open", err, libbpf_log_text());
	}
	sub->poll = calloc(1, sizeof(*sub->poll));
	napi_get_uv_event_loop(env, &loop);
	if (!sub->poll || uv_poll_init(loop, sub->poll, ring_buffer__epoll_fd(sub->rb)) != 0) {
		free(sub->poll);
		sub->poll = NULL;
		ring_buffer__free(sub->rb);
		free(sub->batch);
		free(sub);
		free(res);
		return throw_errno(env, "ring buffer open", EIO, "cannot poll the ring buffer");
	}
	if (napi_add_async_cleanup_hook(env, on_env_teardown, sub, &sub->teardown) != napi_ok) {
		uv_close((uv_handle_t *)sub->poll, (uv_close_cb)free);
		ring_buffer__free(sub->rb);
		free(sub->batch);
		free(sub);
		free(res);
		return throw_errno(env, "ring buffer open", ENOMEM, NULL);
	}
	sub->poll->data = sub;
	napi_create_reference(env, argv[1], 1, &sub->callback);
	napi_create_string_utf8(env, "flowlens:ringbuf", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &sub->async);
	res->kind = RES_RINGBUF;
	res->u.rb = sub;
	uv_poll_start(sub->poll, UV_READABLE, on_readable);
	return make_handle(env, res, "ring buffer open");
}

/*
 * ringBufferConsume(handle): delivers what is waiting now, for rings whose
 * producer submits without wakeups (BPF_RB_NO_WAKEUP) and are read on a timer.
 */
static napi_value js_ringbuf_consume(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct resource *res;
	double handle;

	if (!get_args(env, info, 1, argv) || !arg_double(env, argv[0], &handle))
		return NULL;
	res = resource_get(env, handle, RES_RINGBUF);
	if (!res)
		return throw_errno(env, "ring buffer consume", EBADF, "the ring buffer is closed");
	on_readable(res->u.rb->poll, 0, UV_READABLE);
	return NULL;
}

void register_ringbuf(napi_env env, napi_value exports)
{
	export_fn(env, exports, "ringBufferOpen", js_ringbuf_open);
	export_fn(env, exports, "ringBufferConsume", js_ringbuf_consume);
}
