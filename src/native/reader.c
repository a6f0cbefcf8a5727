/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ring buffer reading for a worker thread (src/bpf/ring-reader-thread.ts).
 * Unlike ringbuf.c, nothing is polled and nothing calls back into JS: the
 * caller hands an ArrayBuffer and gets the records waiting now copied into
 * it, one after another, so a batch of events costs one copy out of the ring
 * and no allocation per event.
 *
 * A batch is a sequence of frames: a u32 record length, a u32 of zero, then
 * the record, padded to 8 bytes. A record too large for any batch (none of
 * flowlens's programs sends one) is consumed and written as a frame of length
 * zero, which the reader counts as an unknown event.
 *
 * Also here: moving the calling thread to SCHED_IDLE, for that worker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "native.h"

#define FRAME_HEADER 8
/* The largest record copied whole; a batch stops while this much still fits. */
#define MAX_RECORD 4096
#define FRAME_MAX (FRAME_HEADER + MAX_RECORD)
#define BATCH_FULL (-4096) /* our sample callback's "stop here", never a libbpf errno */

struct ring_reader {
	struct ring_buffer *rb;
	int fd; /* the caller's duplicate of the map's fd, owned here */
	/* the batch being filled, valid during one ringReaderRead */
	uint8_t *out;
	size_t cap;
	size_t used;
	uint32_t count;
	uint32_t max;
};

static size_t frame_size(size_t len)
{
	return FRAME_HEADER + ((len + 7) & ~(size_t)7);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct ring_reader *r = ctx;
	uint32_t header[2] = { 0, 0 };

	/* the record is consumed whatever we return: checked room before taking it */
	if (len <= MAX_RECORD) {
		header[0] = (uint32_t)len;
		memcpy(r->out + r->used + FRAME_HEADER, data, len);
		memset(r->out + r->used + FRAME_HEADER + len, 0, frame_size(len) - FRAME_HEADER - len);
	}
	memcpy(r->out + r->used, header, sizeof(header));
	r->used += frame_size(header[0]);
	r->count++;
	return r->count >= r->max || r->cap - r->used < FRAME_MAX ? BATCH_FULL : 0;
}

void reader_release(struct ring_reader *r)
{
	ring_buffer__free(r->rb);
	close(r->fd);
	free(r);
}

/* ringReaderOpen(fd) -> handle; takes ownership of fd (a duplicate made for this reader), closed also on failure. */
static napi_value js_reader_open(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct ring_reader *r;
	struct resource *res;
	int64_t fd;
	int err;

	if (!get_args(env, info, 1, argv) || !arg_int(env, argv[0], &fd))
		return NULL;
	r = calloc(1, sizeof(*r));
	res = calloc(1, sizeof(*res));
	if (!r || !res) {
		free(r);
		free(res);
		close((int)fd);
		return throw_errno(env, "ring reader open", ENOMEM, NULL);
	}
	libbpf_log_reset();
	r->rb = ring_buffer__new((int)fd, on_record, r, NULL);
	if (!r->rb) {
		err = errno;
		free(r);
		free(res);
		close((int)fd);
		return throw_errno(env, "ring reader open", err, libbpf_log_text());
	}
	r->fd = (int)fd;
	res->kind = RES_RING_READER;
	res->u.reader = r;
	return make_handle(env, res, "ring reader open");
}

/*
 * ringReaderRead(handle, batch: ArrayBuffer, maxRecords) -> bytes written.
 * Stops at maxRecords, when the batch could not take the largest record, or
 * when the ring is empty; what is left stays in the ring for the next call.
 */
static napi_value js_reader_read(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct resource *res;
	struct ring_reader *r;
	double handle;
	int64_t max;
	void *data;
	size_t cap;
	bool is_ab;
	int err;

	if (!get_args(env, info, 3, argv) || !arg_double(env, argv[0], &handle) || !arg_int(env, argv[2], &max))
		return NULL;
	if (napi_is_arraybuffer(env, argv[1], &is_ab) != napi_ok || !is_ab ||
	    napi_get_arraybuffer_info(env, argv[1], &data, &cap) != napi_ok) {
		napi_throw_type_error(env, NULL, "flowlens_native: expected an ArrayBuffer");
		return NULL;
	}
	if (cap < FRAME_MAX || max < 1)
		return throw_invalid(env, "ring reader read", "a batch must hold at least one record of 4096 bytes");
	res = resource_get(env, handle, RES_RING_READER);
	if (!res)
		return throw_errno(env, "ring reader read", EBADF, "the ring reader is closed");
	r = res->u.reader;
	r->out = data;
	r->cap = cap;
	r->used = 0;
	r->count = 0;
	r->max = max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
	err = ring_buffer__consume(r->rb);
	r->out = NULL;
	if (err < 0 && err != BATCH_FULL)
		return throw_errno(env, "ring reader read", -err, NULL);
	return make_int(env, (int64_t)r->used);
}

/* fdDup(fd) -> a new fd (close-on-exec) for the same file: a reader owns its own. */
static napi_value js_fd_dup(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int64_t fd;
	int dup;

	if (!get_args(env, info, 1, argv) || !arg_int(env, argv[0], &fd))
		return NULL;
	dup = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return throw_errno(env, "fd dup", errno, NULL);
	return make_int(env, dup);
}

/* threadId() -> the calling thread's kernel id (gettid). */
static napi_value js_thread_id(napi_env env, napi_callback_info info)
{
	return make_int(env, (int64_t)syscall(SYS_gettid));
}

/*
 * threadSetIdle() -> the calling thread's id, after moving it to SCHED_IDLE:
 * it then runs only on CPU time no other (normal) thread wants. Linux
 * schedules threads, not processes: this changes the caller's thread only.
 */
static napi_value js_thread_set_idle(napi_env env, napi_callback_info info)
{
	struct sched_param param = { .sched_priority = 0 };
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (sched_setscheduler(tid, SCHED_IDLE, &param) != 0)
		return throw_errno(env, "sched_setscheduler(SCHED_IDLE)", errno, NULL);
	return make_int(env, tid);
}

void register_reader(napi_env env, napi_value exports)
{
	export_fn(env, exports, "ringReaderOpen", js_reader_open);
	export_fn(env, exports, "ringReaderRead", js_reader_read);
	export_fn(env, exports, "fdDup", js_fd_dup);
	export_fn(env, exports, "threadId", js_thread_id);
	export_fn(env, exports, "threadSetIdle", js_thread_set_idle);
}
