/* SPDX-License-Identifier: Apache-2.0 */
/* Program-fd operations: BPF_PROG_TEST_RUN and run-time statistics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "native.h"

/* progTestRun(fd, data, repeat, dataOutSize) -> { retval, data, durationNs } */
static napi_value js_test_run(napi_env env, napi_callback_info info)
{
	napi_value argv[4], ret;
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts);
	int64_t fd, repeat, out_size;
	size_t in_len;
	void *in, *out;
	int err;

	if (!get_args(env, info, 4, argv) || !arg_int(env, argv[0], &fd) ||
	    !arg_buffer(env, argv[1], &in, &in_len) || !arg_int(env, argv[2], &repeat) ||
	    !arg_int(env, argv[3], &out_size))
		return NULL;
	if (repeat < 0 || repeat > UINT32_MAX || out_size < 0 || out_size > (64 << 20) ||
	    in_len > UINT32_MAX)
		return throw_invalid(env, "program test run", "repeat or dataOutSize out of range");
	out = malloc(out_size ? (size_t)out_size : 1);
	if (!out)
		return throw_errno(env, "program test run", ENOMEM, NULL);
	opts.data_in = in;
	opts.data_size_in = (uint32_t)in_len;
	opts.data_out = out_size ? out : NULL;
	opts.data_size_out = (uint32_t)out_size;
	opts.repeat = (int)repeat;
	err = bpf_prog_test_run_opts((int)fd, &opts);
	if (err) {
		err = errno;
		free(out);
		return throw_errno(env, "program test run", err,
				   err == ENOSPC ? "dataOutSize is too small for the output packet"
						 : NULL);
	}
	napi_create_object(env, &ret);
	set_prop(env, ret, "retval", make_int(env, (int32_t)opts.retval));
	set_prop(env, ret, "durationNs", make_int(env, opts.duration));
	set_prop(env, ret, "data",
		 make_buffer_copy(env, out,
				  opts.data_size_out < out_size ? opts.data_size_out : (size_t)out_size));
	free(out);
	return ret;
}

/* progInfo(fd) -> { id, name, runCount, runTimeNs } (counters are bigint) */
static napi_value js_prog_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], ret;
	struct bpf_prog_info pi;
	uint32_t len = sizeof(pi);
	int64_t fd;

	if (!get_args(env, info, 1, argv) || !arg_int(env, argv[0], &fd))
		return NULL;
	memset(&pi, 0, sizeof(pi));
	if (bpf_obj_get_info_by_fd((int)fd, &pi, &len))
		return throw_errno(env, "program info", errno, NULL);
	pi.name[sizeof(pi.name) - 1] = '\0';
	napi_create_object(env, &ret);
	set_prop(env, ret, "id", make_int(env, pi.id));
	set_prop(env, ret, "name", make_string(env, pi.name));
	set_prop(env, ret, "runCount", make_bigint(env, pi.run_cnt));
	set_prop(env, ret, "runTimeNs", make_bigint(env, pi.run_time_ns));
	return ret;
}

void register_programs(napi_env env, napi_value exports)
{
	export_fn(env, exports, "progTestRun", js_test_run);
	export_fn(env, exports, "progInfo", js_prog_info);
}
