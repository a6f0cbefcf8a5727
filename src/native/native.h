/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of the flowlens N-API addon. The addon is mechanics only:
 * it wraps libbpf and a few raw bpf(2) commands; every decision (which mode,
 * fallbacks, value layouts) is taken by src/bpf in TypeScript.
 */
#ifndef FLOWLENS_NATIVE_H
#define FLOWLENS_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAPI_VERSION 8
#include <node_api.h>

/* Kinds of handle held in the per-environment resource table. */
enum resource_kind {
	RES_OBJECT = 1,
	RES_LINK,	/* struct bpf_link from bpf_program__attach */
	RES_TCX,	/* fd of a tcx link */
	RES_CLSACT,	/* a tc filter added through a clsact qdisc */
	RES_RINGBUF,
	RES_STATS_FD,
	RES_RING_READER, /* reader.c: a ring read into caller batches */
};

struct bpf_object;
struct bpf_link;
struct ringbuf_sub;
struct ring_reader;

struct clsact_filter {
	int ifindex;
	bool egress;
	uint32_t handle;
	uint32_t priority;
};

struct resource {
	enum resource_kind kind;
	union {
		struct bpf_object *obj;
		struct bpf_link *link;
		int fd;
		struct clsact_filter tc;
		struct ringbuf_sub *rb;
		struct ring_reader *reader;
	} u;
};

/* Resource table: handles are small numbers given to JS. */
double resource_add(napi_env env, struct resource *res);
struct resource *resource_get(napi_env env, double handle, enum resource_kind kind);
/* Adds res to the table and returns its handle; on failure releases res and throws. */
napi_value make_handle(napi_env env, struct resource *res, const char *op);
/* Removes the handle from the table; the caller releases what it held. */
void resource_forget(napi_env env, double handle);

/* libbpf's printed output for the current operation (thread-local). */
void libbpf_log_reset(void);
const char *libbpf_log_text(void);

/*
 * Throw a JS Error with errno, code and a message "<op>: <strerror>[: detail]".
 * err is a positive errno value. Always returns NULL so callers can
 * `return throw_errno(...)`.
 */
napi_value throw_errno(napi_env env, const char *op, int err, const char *detail);
/* Same, but also sets a verifierLog property on the error. */
napi_value throw_errno_log(napi_env env, const char *op, int err, const char *detail,
			   const char *verifier_log);
napi_value throw_invalid(napi_env env, const char *op, const char *what);

/* Argument helpers: each throws a TypeError (and returns false) on mismatch. */
bool arg_string(napi_env env, napi_value v, char **out); /* malloc'd */
bool arg_int(napi_env env, napi_value v, int64_t *out);
bool arg_double(napi_env env, napi_value v, double *out);
bool arg_bool(napi_env env, napi_value v, bool *out);
bool arg_buffer(napi_env env, napi_value v, void **data, size_t *len);
bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);

napi_value make_int(napi_env env, int64_t v);
napi_value make_bigint(napi_env env, uint64_t v);
napi_value make_string(napi_env env, const char *s);
napi_value make_undefined(napi_env env);
napi_value make_bool(napi_env env, bool v);
napi_value make_buffer_copy(napi_env env, const void *data, size_t len);
void set_prop(napi_env env, napi_value obj, const char *name, napi_value v);

/* Releases one resource; used by close() and by the exit cleanup hook. */
int resource_release(napi_env env, struct resource *res);

/* Per-module registration. */
void register_object(napi_env env, napi_value exports);
void register_maps(napi_env env, napi_value exports);
void register_programs(napi_env env, napi_value exports);
void register_tc(napi_env env, napi_value exports);
void register_ringbuf(napi_env env, napi_value exports);
void register_reader(napi_env env, napi_value exports);

int tc_release(struct resource *res);
void ringbuf_release(napi_env env, struct ringbuf_sub *rb);
void reader_release(struct ring_reader *r);

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

#endif
