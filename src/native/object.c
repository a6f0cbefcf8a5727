/* SPDX-License-Identifier: Apache-2.0 */
/* BPF object lifecycle: open, pre-load settings, load, and lookups by name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "native.h"

#define LOG_BEGIN "-- BEGIN PROG LOAD LOG --\n"
#define LOG_END "-- END PROG LOAD LOG --"
#define DETAIL_MAX 1024

static struct bpf_object *arg_object(napi_env env, napi_value v, const char *op)
{
	struct resource *res;
	double handle;

	if (!arg_double(env, v, &handle))
		return NULL;
	res = resource_get(env, handle, RES_OBJECT);
	if (!res) {
		throw_errno(env, op, EBADF, "the BPF object is closed");
		return NULL;
	}
	return res->u.obj;
}

/*
 * libbpf's warnings for the last operation on one line, for an error message.
 * The verifier log travels separately (verifierLog), and when the text is
 * too long the tail is kept: the last lines say what failed.
 */
static void summarize_log(const char *log, char *out, size_t len)
{
	size_t total = strlen(log), n = 0, start;
	char *flat = malloc(total * 2 + 1);
	const char *p = log, *begin, *end;

	out[0] = '\0';
	if (!flat)
		return;
	while (*p) {
		begin = strstr(p, LOG_BEGIN);
		end = begin ? begin : p + strlen(p);
		for (; p < end; p++) {
			if (*p == '\n') {
				if (p[1] && n > 0 && !(n >= 2 && flat[n - 2] == ';' && flat[n - 1] == ' ')) {
					flat[n++] = ';';
					flat[n++] = ' ';
				}
			} else {
				flat[n++] = *p;
			}
		}
		if (!begin)
			break;
		/* drop the "libbpf: prog 'x': " prefix printed on the marker's line */
		while (n > 0 && !(n >= 2 && flat[n - 2] == ';' && flat[n - 1] == ' '))
			n--;
		end = strstr(begin, LOG_END);
		p = end ? end + strlen(LOG_END) : begin + strlen(begin);
	}
	while (n > 0 && (flat[n - 1] == ' ' || flat[n - 1] == ';'))
		n--;
	flat[n] = '\0';
	if (n < len) {
		memcpy(out, flat, n + 1);
	} else {
		start = n - (len - 4);
		snprintf(out, len, "...%s", flat + start);
	}
	free(flat);
}

/* The verifier's own text when libbpf printed it, else all that libbpf said. */
static char *extract_verifier_log(const char *log)
{
	const char *begin = strstr(log, LOG_BEGIN), *end;
	char *out;

	if (!begin)
		return strdup(log);
	begin += strlen(LOG_BEGIN);
	end = strstr(begin, LOG_END);
	if (!end)
		end = begin + strlen(begin);
	out = malloc((size_t)(end - begin) + 1);
	if (out) {
		memcpy(out, begin, (size_t)(end - begin));
		out[end - begin] = '\0';
	}
	return out;
}

static napi_value js_object_open(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct resource *res;
	struct bpf_object *obj;
	char *path, detail[DETAIL_MAX], op[64 + 256];
	int err;

	if (!get_args(env, info, 1, argv) || !arg_string(env, argv[0], &path))
		return NULL;
	snprintf(op, sizeof(op), "open BPF object %.256s", path);
	libbpf_log_reset();
	obj = bpf_object__open_file(path, NULL);
	free(path);
	if (!obj) {
		err = errno;
		summarize_log(libbpf_log_text(), detail, sizeof(detail));
		return throw_errno(env, op, err, detail);
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		bpf_object__close(obj);
		return throw_errno(env, op, ENOMEM, NULL);
	}
	res->kind = RES_OBJECT;
	res->u.obj = obj;
	return make_handle(env, res, op);
}

static struct bpf_map *find_map(napi_env env, struct bpf_object *obj, const char *name,
				const char *op)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	char detail[256];

	if (!map) {
		snprintf(detail, sizeof(detail), "no map named '%.128s' in object '%.64s'", name,
			 bpf_object__name(obj));
		throw_errno(env, op, ENOENT, detail);
	}
	return map;
}

static struct bpf_program *find_program(napi_env env, struct bpf_object *obj, const char *name,
					const char *op)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	char detail[256];

	if (!prog) {
		snprintf(detail, sizeof(detail), "no program named '%.128s' in object '%.64s'", name,
			 bpf_object__name(obj));
		throw_errno(env, op, ENOENT, detail);
	}
	return prog;
}

/* objectSetPinPath(handle, mapName, path): libbpf then reuses or creates-and-pins the map. */
static napi_value js_set_pin_path(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct bpf_object *obj;
	struct bpf_map *map;
	char *name = NULL, *path = NULL;
	napi_value ret = NULL;
	int err;

	if (!get_args(env, info, 3, argv) || !(obj = arg_object(env, argv[0], "set pin path")) ||
	    !arg_string(env, argv[1], &name) || !arg_string(env, argv[2], &path))
		goto out;
	map = find_map(env, obj, name, "set pin path");
	if (!map)
		goto out;
	err = bpf_map__set_pin_path(map, path);
	if (err) {
		throw_errno(env, "set pin path", -err, path);
		goto out;
	}
	ret = make_undefined(env);
out:
	free(name);
	free(path);
	return ret;
}

/*
 * objectReuseMap(handle, mapName, fd): the object uses the map behind fd (of
 * another loaded object) instead of creating its own, so two objects share
 * one map. libbpf takes the reused map's definition as is, so a map of
 * another layout is refused here, before the verifier sees mismatched sizes.
 */
static napi_value js_reuse_map(napi_env env, napi_callback_info info)
{
	napi_value argv[3], ret = NULL;
	struct bpf_map_info mi = {};
	uint32_t mi_len = sizeof(mi);
	struct bpf_object *obj;
	struct bpf_map *map;
	char *name = NULL, detail[512];
	int64_t fd;
	int err;

	if (!get_args(env, info, 3, argv) || !(obj = arg_object(env, argv[0], "reuse map")) ||
	    !arg_string(env, argv[1], &name) || !arg_int(env, argv[2], &fd))
		goto out;
	map = find_map(env, obj, name, "reuse map");
	if (!map)
		goto out;
	if (fd < 0 || fd > INT32_MAX) {
		throw_invalid(env, "reuse map", "fd must be a non-negative integer");
		goto out;
	}
	if (bpf_obj_get_info_by_fd((int)fd, &mi, &mi_len)) {
		throw_errno(env, "reuse map", errno, "the fd is not a BPF map");
		goto out;
	}
	if (mi.type != (uint32_t)bpf_map__type(map) || mi.key_size != bpf_map__key_size(map) ||
	    mi.value_size != bpf_map__value_size(map)) {
		snprintf(detail, sizeof(detail),
			 "map '%.64s' of object '%.64s' is type %d with %u-byte keys and %u-byte values, "
			 "the map to reuse ('%.16s') is type %u with %u-byte keys and %u-byte values",
			 name, bpf_object__name(obj), (int)bpf_map__type(map), bpf_map__key_size(map),
			 bpf_map__value_size(map), mi.name, mi.type, mi.key_size, mi.value_size);
		throw_invalid(env, "reuse map", detail);
		goto out;
	}
	err = bpf_map__reuse_fd(map, (int)fd);
	if (err) {
		throw_errno(env, "reuse map", -err, name);
		goto out;
	}
	ret = make_undefined(env);
out:
	free(name);
	return ret;
}

/* Finds a variable of the ".rodata" DATASEC: its offset, size and scalar kind. */
struct rodata_var {
	uint32_t offset, size;
	const char *kind; /* "int", "bool", "enum" or "other" */
	bool is_signed;
};

static int find_rodata_var(struct bpf_object *obj, const char *name, struct rodata_var *out)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec, *var, *t;
	int sec_id, i, tid;

	if (!btf)
		return -ENOENT;
	sec_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (sec_id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, sec_id);
	vsi = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vsi++) {
		var = btf__type_by_id(btf, vsi->type);
		if (!var || strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
			continue;
		out->offset = vsi->offset;
		out->size = vsi->size;
		out->kind = "other";
		out->is_signed = false;
		tid = btf__resolve_type(btf, var->type);
		t = tid >= 0 ? btf__type_by_id(btf, tid) : NULL;
		if (t && btf_is_int(t)) {
			uint8_t enc = btf_int_encoding(t);

			out->kind = (enc & BTF_INT_BOOL) ? "bool" : "int";
			out->is_signed = (enc & BTF_INT_SIGNED) != 0;
		} else if (t && (btf_is_enum(t) || btf_is_enum64(t))) {
			out->kind = "enum";
			out->is_signed = btf_kflag(t);
		}
		return 0;
	}
	return -ENOENT;
}

static struct bpf_map *rodata_map(struct bpf_object *obj)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	const char *n;
	size_t len;

	if (map)
		return map;
	/* older naming: "<object prefix>.rodata" */
	bpf_object__for_each_map(map, obj) {
		n = bpf_map__name(map);
		len = strlen(n);
		if (bpf_map__is_internal(map) && len >= 7 && strcmp(n + len - 7, ".rodata") == 0)
			return map;
	}
	return NULL;
}

static napi_value throw_no_global(napi_env env, struct bpf_object *obj, const char *op,
				  const char *name)
{
	char detail[256];

	snprintf(detail, sizeof(detail),
		 "no 'const volatile' global named '%.128s' in .rodata of object '%.64s'", name,
		 bpf_object__name(obj));
	return throw_errno(env, op, ENOENT, detail);
}

/* objectGlobalInfo(handle, name) -> { size, kind, signed } */
static napi_value js_global_info(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ret = NULL;
	struct bpf_object *obj;
	struct rodata_var var;
	char *name = NULL;

	if (!get_args(env, info, 2, argv) || !(obj = arg_object(env, argv[0], "set global")) ||
	    !arg_string(env, argv[1], &name))
		goto out;
	if (find_rodata_var(obj, name, &var)) {
		throw_no_global(env, obj, "set global", name);
		goto out;
	}
	napi_create_object(env, &ret);
	set_prop(env, ret, "size", make_int(env, var.size));
	set_prop(env, ret, "kind", make_string(env, var.kind));
	set_prop(env, ret, "signed", make_bool(env, var.is_signed));
out:
	free(name);
	return ret;
}

/* objectSetGlobal(handle, name, bytes): bytes must be exactly the variable's size. */
static napi_value js_set_global(napi_env env, napi_callback_info info)
{
	napi_value argv[3], ret = NULL;
	struct bpf_object *obj;
	struct rodata_var var;
	struct bpf_map *map;
	char *name = NULL, detail[256], *copy;
	size_t len, map_size;
	const void *init;
	void *data;
	int err;

	if (!get_args(env, info, 3, argv) || !(obj = arg_object(env, argv[0], "set global")) ||
	    !arg_string(env, argv[1], &name) || !arg_buffer(env, argv[2], &data, &len))
		goto out;
	if (find_rodata_var(obj, name, &var)) {
		throw_no_global(env, obj, "set global", name);
		goto out;
	}
	if (len != var.size) {
		snprintf(detail, sizeof(detail), "'%.128s' is %u bytes, got %zu", name, var.size, len);
		throw_invalid(env, "set global", detail);
		goto out;
	}
	map = rodata_map(obj);
	init = map ? bpf_map__initial_value(map, &map_size) : NULL;
	if (!init || (size_t)var.offset + var.size > map_size) {
		throw_errno(env, "set global", init ? ERANGE : EBUSY,
			    init ? "variable lies outside .rodata"
				 : ".rodata is not writable (object already loaded?)");
		goto out;
	}
	/* the initial value is only settable whole: copy, patch, write back */
	copy = malloc(map_size);
	if (!copy) {
		throw_errno(env, "set global", ENOMEM, NULL);
		goto out;
	}
	memcpy(copy, init, map_size);
	memcpy(copy + var.offset, data, len);
	err = bpf_map__set_initial_value(map, copy, map_size);
	free(copy);
	if (err) {
		throw_errno(env, "set global", -err, name);
		goto out;
	}
	ret = make_undefined(env);
out:
	free(name);
	return ret;
}

static napi_value js_set_max_entries(napi_env env, napi_callback_info info)
{
	napi_value argv[3], ret = NULL;
	struct bpf_object *obj;
	struct bpf_map *map;
	char *name = NULL;
	int64_t n;
	int err;

	if (!get_args(env, info, 3, argv) ||
	    !(obj = arg_object(env, argv[0], "set map max_entries")) ||
	    !arg_string(env, argv[1], &name) || !arg_int(env, argv[2], &n))
		goto out;
	map = find_map(env, obj, name, "set map max_entries");
	if (!map)
		goto out;
	if (n <= 0 || n > UINT32_MAX) {
		throw_invalid(env, "set map max_entries", "max_entries must be in 1..2^32-1");
		goto out;
	}
	err = bpf_map__set_max_entries(map, (uint32_t)n);
	if (err) {
		throw_errno(env, "set map max_entries", -err, name);
		goto out;
	}
	ret = make_undefined(env);
out:
	free(name);
	return ret;
}

static napi_value js_object_load(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct bpf_object *obj;
	char detail[DETAIL_MAX], op[128], *vlog;
	int err;

	if (!get_args(env, info, 1, argv) || !(obj = arg_object(env, argv[0], "load")))
		return NULL;
	snprintf(op, sizeof(op), "load BPF object '%.64s'", bpf_object__name(obj));
	libbpf_log_reset();
	err = bpf_object__load(obj);
	if (err) {
		summarize_log(libbpf_log_text(), detail, sizeof(detail));
		vlog = extract_verifier_log(libbpf_log_text());
		throw_errno_log(env, op, -err, detail, vlog ? vlog : "");
		free(vlog);
		return NULL;
	}
	return make_undefined(env);
}

static napi_value js_program_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ret = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog;
	char *name = NULL;
	int fd;

	if (!get_args(env, info, 2, argv) || !(obj = arg_object(env, argv[0], "program")) ||
	    !arg_string(env, argv[1], &name))
		goto out;
	prog = find_program(env, obj, name, "program");
	if (!prog)
		goto out;
	fd = bpf_program__fd(prog);
	if (fd < 0) {
		throw_errno(env, "program", EBADF, "the object is not loaded");
		goto out;
	}
	ret = make_int(env, fd);
out:
	free(name);
	return ret;
}

static napi_value js_map_info(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ret = NULL;
	struct bpf_object *obj;
	struct bpf_map *map;
	char *name = NULL;
	int fd;

	if (!get_args(env, info, 2, argv) || !(obj = arg_object(env, argv[0], "map")) ||
	    !arg_string(env, argv[1], &name))
		goto out;
	map = find_map(env, obj, name, "map");
	if (!map)
		goto out;
	fd = bpf_map__fd(map);
	if (fd < 0) {
		throw_errno(env, "map", EBADF, "the object is not loaded");
		goto out;
	}
	napi_create_object(env, &ret);
	set_prop(env, ret, "fd", make_int(env, fd));
	set_prop(env, ret, "type", make_int(env, bpf_map__type(map)));
	set_prop(env, ret, "keySize", make_int(env, bpf_map__key_size(map)));
	set_prop(env, ret, "valueSize", make_int(env, bpf_map__value_size(map)));
	set_prop(env, ret, "maxEntries", make_int(env, bpf_map__max_entries(map)));
out:
	free(name);
	return ret;
}

static napi_value js_names(napi_env env, napi_callback_info info, bool programs)
{
	napi_value argv[1], arr;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	uint32_t i = 0;

	if (!get_args(env, info, 1, argv) || !(obj = arg_object(env, argv[0], "list")))
		return NULL;
	napi_create_array(env, &arr);
	if (programs) {
		bpf_object__for_each_program(prog, obj)
			napi_set_element(env, arr, i++, make_string(env, bpf_program__name(prog)));
	} else {
		bpf_object__for_each_map(map, obj)
			napi_set_element(env, arr, i++, make_string(env, bpf_map__name(map)));
	}
	return arr;
}

static napi_value js_program_names(napi_env env, napi_callback_info info)
{
	return js_names(env, info, true);
}

static napi_value js_map_names(napi_env env, napi_callback_info info)
{
	return js_names(env, info, false);
}

/* programAttach(handle, name) -> link handle; the attach point comes from the SEC() name. */
static napi_value js_program_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[2], ret = NULL;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *link;
	struct resource *res;
	char *name = NULL, detail[DETAIL_MAX], op[192];
	int err;

	if (!get_args(env, info, 2, argv) || !(obj = arg_object(env, argv[0], "attach")) ||
	    !arg_string(env, argv[1], &name))
		goto out;
	snprintf(op, sizeof(op), "attach program '%.128s'", name);
	prog = find_program(env, obj, name, op);
	if (!prog)
		goto out;
	libbpf_log_reset();
	link = bpf_program__attach(prog);
	if (!link) {
		err = errno;
		summarize_log(libbpf_log_text(), detail, sizeof(detail));
		throw_errno(env, op, err, detail);
		goto out;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		bpf_link__destroy(link);
		throw_errno(env, op, ENOMEM, NULL);
		goto out;
	}
	res->kind = RES_LINK;
	res->u.link = link;
	ret = make_handle(env, res, op);
out:
	free(name);
	return ret;
}

void register_object(napi_env env, napi_value exports)
{
	export_fn(env, exports, "objectOpen", js_object_open);
	export_fn(env, exports, "objectSetPinPath", js_set_pin_path);
	export_fn(env, exports, "objectGlobalInfo", js_global_info);
	export_fn(env, exports, "objectSetGlobal", js_set_global);
	export_fn(env, exports, "objectSetMapMaxEntries", js_set_max_entries);
	export_fn(env, exports, "objectReuseMap", js_reuse_map);
	export_fn(env, exports, "objectLoad", js_object_load);
	export_fn(env, exports, "objectProgramFd", js_program_fd);
	export_fn(env, exports, "objectMapInfo", js_map_info);
	export_fn(env, exports, "objectProgramNames", js_program_names);
	export_fn(env, exports, "objectMapNames", js_map_names);
	export_fn(env, exports, "programAttach", js_program_attach);
}
