/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TC attachment in two flavours. tcx (kernel 6.6+) is a BPF link: the program
 * stays attached exactly as long as the link fd is open, so nothing outlives
 * the process. clsact is the netlink filter path for older kernels; those
 * filters persist, so each one is recorded and removed on close and at exit.
 * Choosing between them is the TypeScript side's job.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "native.h"

/*
 * libbpf 1.1's uapi header predates tcx, so the BPF_LINK_CREATE attributes
 * are laid out here as in the kernel's union bpf_attr (include/uapi/linux/bpf.h,
 * link_create with the tcx member, Linux 6.6). Unused fields stay zero:
 * no relative program and no expected revision.
 */
#define FL_BPF_TCX_INGRESS 46
#define FL_BPF_TCX_EGRESS 47

struct tcx_link_create_attr {
	uint32_t prog_fd;
	uint32_t target_ifindex;
	uint32_t attach_type;
	uint32_t flags;
	uint32_t relative_fd;
	uint32_t _pad;
	uint64_t expected_revision;
};

static int tcx_attach(int prog_fd, int ifindex, bool egress)
{
	struct tcx_link_create_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)prog_fd;
	attr.target_ifindex = (uint32_t)ifindex;
	attr.attach_type = egress ? FL_BPF_TCX_EGRESS : FL_BPF_TCX_INGRESS;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : (int)fd;
}

static int clsact_attach(int prog_fd, int ifindex, bool egress, uint32_t priority,
			 struct clsact_filter *out)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .priority = priority);
	int err;

	/* the qdisc is shared with whoever else filters on this interface */
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return err;
	out->ifindex = ifindex;
	out->egress = egress;
	out->handle = opts.handle;
	out->priority = opts.priority;
	return 0;
}

/*
 * Every live clsact filter of the process. Node runs environment cleanup
 * hooks on a normal exit but not on process.exit() or an uncaught exception;
 * those still call exit(3), so an atexit handler removes whatever is left.
 */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct clsact_filter **live;
static size_t live_len, live_cap;
static bool atexit_installed;

static int detach_filter(const struct clsact_filter *f)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex,
			    .attach_point = f->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->priority);
	int err;

	err = bpf_tc_detach(&hook, &opts);
	/* the interface (or the filter with it) is already gone: nothing to undo */
	if (err == -ENODEV || err == -ENOENT)
		return 0;
	return err;
}

static void detach_all_at_exit(void)
{
	size_t i;

	pthread_mutex_lock(&live_lock);
	for (i = 0; i < live_len; i++)
		detach_filter(live[i]);
	live_len = 0;
	pthread_mutex_unlock(&live_lock);
}

static int live_add(struct clsact_filter *f)
{
	int err = 0;

	pthread_mutex_lock(&live_lock);
	if (!atexit_installed && atexit(detach_all_at_exit) == 0)
		atexit_installed = true;
	if (live_len == live_cap) {
		size_t cap = live_cap ? live_cap * 2 : 16;
		struct clsact_filter **p = realloc(live, cap * sizeof(*p));

		if (!p) {
			err = -ENOMEM;
			goto out;
		}
		live = p;
		live_cap = cap;
	}
	live[live_len++] = f;
out:
	pthread_mutex_unlock(&live_lock);
	return err;
}

static void live_remove(struct clsact_filter *f)
{
	size_t i;

	pthread_mutex_lock(&live_lock);
	for (i = 0; i < live_len; i++) {
		if (live[i] == f) {
			live[i] = live[--live_len];
			break;
		}
	}
	pthread_mutex_unlock(&live_lock);
}

int tc_release(struct resource *res)
{
	live_remove(&res->u.tc);
	return detach_filter(&res->u.tc);
}

/* tcAttach(progFd, ifindex, egress, mode 'tcx'|'clsact', priority) -> handle */
static napi_value js_tc_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct resource *res;
	int64_t prog_fd, ifindex, priority;
	char *mode = NULL, op[96];
	bool egress, tcx;
	int err;

	if (!get_args(env, info, 5, argv) || !arg_int(env, argv[0], &prog_fd) ||
	    !arg_int(env, argv[1], &ifindex) || !arg_bool(env, argv[2], &egress) ||
	    !arg_string(env, argv[3], &mode) || !arg_int(env, argv[4], &priority))
		goto fail;
	tcx = strcmp(mode, "tcx") == 0;
	snprintf(op, sizeof(op), "%s attach to ifindex %lld %s", tcx ? "tcx" : "clsact",
		 (long long)ifindex, egress ? "egress" : "ingress");
	if (!tcx && strcmp(mode, "clsact") != 0) {
		throw_invalid(env, op, "mode must be 'tcx' or 'clsact'");
		goto fail;
	}
	if (ifindex <= 0 || ifindex > INT32_MAX || priority < 0 || priority > UINT16_MAX) {
		throw_invalid(env, op, "ifindex or priority out of range");
		goto fail;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		throw_errno(env, op, ENOMEM, NULL);
		goto fail;
	}
	libbpf_log_reset();
	if (tcx) {
		err = tcx_attach((int)prog_fd, (int)ifindex, egress);
		res->kind = RES_TCX;
		res->u.fd = err;
	} else {
		err = clsact_attach((int)prog_fd, (int)ifindex, egress, (uint32_t)priority,
				    &res->u.tc);
		res->kind = RES_CLSACT;
	}
	if (err < 0) {
		free(res);
		throw_errno(env, op, -err, libbpf_log_text()[0] ? libbpf_log_text() : NULL);
		goto fail;
	}
	if (!tcx && live_add(&res->u.tc)) {
		detach_filter(&res->u.tc);
		free(res);
		throw_errno(env, op, ENOMEM, NULL);
		goto fail;
	}
	free(mode);
	return make_handle(env, res, op);
fail:
	free(mode);
	return NULL;
}

void register_tc(napi_env env, napi_value exports)
{
	export_fn(env, exports, "tcAttach", js_tc_attach);
}
