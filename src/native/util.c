/* SPDX-License-Identifier: Apache-2.0 */
/* Errors, libbpf output capture and argument conversion shared by the addon. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "native.h"

/*
 * libbpf prints through one process-wide callback. Node may run the addon in
 * several worker threads, and libbpf prints from the calling thread, so the
 * capture buffer is per thread.
 */
#define LOG_CAP (32u << 20) /* verifier logs can be large; cap the capture */

static __thread char *log_buf;
static __thread size_t log_len, log_cap;

void libbpf_log_reset(void)
{
	log_len = 0;
	if (log_buf)
		log_buf[0] = '\0';
}

const char *libbpf_log_text(void)
{
	return log_buf ? log_buf : "";
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list copy;
	int need;

	/* debug output is a trace of every step; only warnings and info explain failures */
	if (level == LIBBPF_DEBUG)
		return 0;
	va_copy(copy, ap);
	need = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (need <= 0 || log_len + (size_t)need + 1 > LOG_CAP)
		return 0;
	if (log_len + (size_t)need + 1 > log_cap) {
		size_t cap = log_cap ? log_cap : 4096;
		char *p;

		while (cap < log_len + (size_t)need + 1)
			cap *= 2;
		p = realloc(log_buf, cap);
		if (!p)
			return 0;
		log_buf = p;
		log_cap = cap;
	}
	vsnprintf(log_buf + log_len, log_cap - log_len, fmt, ap);
	log_len += (size_t)need;
	return need;
}

__attribute__((constructor)) static void install_print(void)
{
	libbpf_set_print(libbpf_print);
}

static const char *errno_code(int err, char *scratch, size_t len)
{
	const char *name;

	/* kernel-internal values that leak out of bpf(2) and have no libc name */
	if (err == 524)
		return "ENOTSUPP";
	name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(scratch, len, "E%d", err);
	return scratch;
}

napi_value throw_errno_log(napi_env env, const char *op, int err, const char *detail,
			   const char *verifier_log)
{
	char text[256], codebuf[16], *msg;
	const char *code;
	napi_value error, jscode, jsmsg;
	size_t len;

	if (err < 0)
		err = -err;
	if (err == 0)
		err = EINVAL;
	libbpf_strerror(err, text, sizeof(text));
	if (err == 524)
		snprintf(text, sizeof(text), "Operation not supported by this map or program type");
	code = errno_code(err, codebuf, sizeof(codebuf));
	len = strlen(op) + strlen(text) + (detail ? strlen(detail) : 0) + 16;
	msg = malloc(len);
	if (!msg) {
		napi_throw_error(env, "ENOMEM", op);
		return NULL;
	}
	if (detail && detail[0])
		snprintf(msg, len, "%s: %s: %s", op, text, detail);
	else
		snprintf(msg, len, "%s: %s", op, text);
	napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jscode);
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jsmsg);
	free(msg);
	napi_create_error(env, jscode, jsmsg, &error);
	set_prop(env, error, "errno", make_int(env, err));
	if (verifier_log)
		set_prop(env, error, "verifierLog", make_string(env, verifier_log));
	napi_throw(env, error);
	return NULL;
}

napi_value throw_errno(napi_env env, const char *op, int err, const char *detail)
{
	return throw_errno_log(env, op, err, detail, NULL);
}

napi_value throw_invalid(napi_env env, const char *op, const char *what)
{
	return throw_errno(env, op, EINVAL, what);
}

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)
		return false;
	if (argc < want) {
		napi_throw_type_error(env, NULL, "flowlens_native: too few arguments");
		return false;
	}
	return true;
}

bool arg_string(napi_env env, napi_value v, char **out)
{
	size_t len;

	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		napi_throw_type_error(env, NULL, "flowlens_native: expected a string");
		return false;
	}
	*out = malloc(len + 1);
	if (!*out) {
		napi_throw_error(env, "ENOMEM", "flowlens_native: out of memory");
		return false;
	}
	napi_get_value_string_utf8(env, v, *out, len + 1, &len);
	return true;
}

bool arg_int(napi_env env, napi_value v, int64_t *out)
{
	if (napi_get_value_int64(env, v, out) != napi_ok) {
		napi_throw_type_error(env, NULL, "flowlens_native: expected a number");
		return false;
	}
	return true;
}

bool arg_double(napi_env env, napi_value v, double *out)
{
	if (napi_get_value_double(env, v, out) != napi_ok) {
		napi_throw_type_error(env, NULL, "flowlens_native: expected a number");
		return false;
	}
	return true;
}

bool arg_bool(napi_env env, napi_value v, bool *out)
{
	if (napi_get_value_bool(env, v, out) != napi_ok) {
		napi_throw_type_error(env, NULL, "flowlens_native: expected a boolean");
		return false;
	}
	return true;
}

bool arg_buffer(napi_env env, napi_value v, void **data, size_t *len)
{
	bool is_buf = false;

	napi_is_buffer(env, v, &is_buf);
	if (!is_buf || napi_get_buffer_info(env, v, data, len) != napi_ok) {
		napi_throw_type_error(env, NULL, "flowlens_native: expected a Buffer");
		return false;
	}
	return true;
}

napi_value make_int(napi_env env, int64_t v)
{
	napi_value r;

	napi_create_int64(env, v, &r);
	return r;
}

napi_value make_bigint(napi_env env, uint64_t v)
{
	napi_value r;

	napi_create_bigint_uint64(env, v, &r);
	return r;
}

napi_value make_string(napi_env env, const char *s)
{
	napi_value r;

	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
	return r;
}

napi_value make_undefined(napi_env env)
{
	napi_value r;

	napi_get_undefined(env, &r);
	return r;
}

napi_value make_bool(napi_env env, bool v)
{
	napi_value r;

	napi_get_boolean(env, v, &r);
	return r;
}

napi_value make_buffer_copy(napi_env env, const void *data, size_t len)
{
	napi_value r;
	void *dst;

	if (napi_create_buffer_copy(env, len, len ? data : "", &dst, &r) != napi_ok)
		return NULL;
	return r;
}

void set_prop(napi_env env, napi_value obj, const char *name, napi_value v)
{
	napi_set_named_property(env, obj, name, v);
}

void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb)
{
	napi_value fn;

	napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
	napi_set_named_property(env, exports, name, fn);
}
