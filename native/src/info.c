/* Kernel-wide object enumeration and description: next ids, fds by id,
 * program / map / link / BTF info, pinned objects. Works for any object on
 * the host, not only the ones this process created. */
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Kinds of kernel object, as numbered for JavaScript. */
enum obj_kind { KIND_PROG = 0, KIND_MAP = 1, KIND_LINK = 2, KIND_BTF = 3 };

static bool kind_arg(napi_env env, napi_value v, uint32_t *kind)
{
	if (!arg_u32(env, v, kind, "kind"))
		return false;
	if (*kind > KIND_BTF) {
		throw_type_error(env, "kind must be 0 (prog), 1 (map), 2 (link) or 3 (btf)");
		return false;
	}
	return true;
}

/* nextId(kind, after) -> the next id above `after`, or 0 at the end. */
static napi_value next_id(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	uint32_t kind, start, next = 0;
	int err;

	if (!get_args(env, info, 2, argv) || !kind_arg(env, argv[0], &kind) ||
	    !arg_u32(env, argv[1], &start, "after"))
		return NULL;
	switch (kind) {
	case KIND_PROG: err = bpf_prog_get_next_id(start, &next); break;
	case KIND_MAP: err = bpf_map_get_next_id(start, &next); break;
	case KIND_LINK: err = bpf_link_get_next_id(start, &next); break;
	default: err = bpf_btf_get_next_id(start, &next); break;
	}
	if (err) {
		if (errno == ENOENT)
			return make_u32(env, 0);
		return throw_errno(env, errno, "bpf_*_get_next_id");
	}
	return make_u32(env, next);
}

/* fdById(kind, id) -> a new fd the caller must close. */
static napi_value fd_by_id(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	uint32_t kind, id;
	int fd;

	if (!get_args(env, info, 2, argv) || !kind_arg(env, argv[0], &kind) ||
	    !arg_u32(env, argv[1], &id, "id"))
		return NULL;
	switch (kind) {
	case KIND_PROG: fd = bpf_prog_get_fd_by_id(id); break;
	case KIND_MAP: fd = bpf_map_get_fd_by_id(id); break;
	case KIND_LINK: fd = bpf_link_get_fd_by_id(id); break;
	default: fd = bpf_btf_get_fd_by_id(id); break;
	}
	if (fd < 0)
		return throw_errno(env, errno, "bpf_*_get_fd_by_id");
	return make_i32(env, fd);
}

static napi_value hex_tag(napi_env env, const unsigned char *tag, size_t n)
{
	char s[2 * BPF_TAG_SIZE + 1];

	for (size_t i = 0; i < n && i < BPF_TAG_SIZE; i++)
		snprintf(s + 2 * i, 3, "%02x", tag[i]);
	return make_str(env, s);
}

/* Map ids kept while a program's info is read: a growing array. */
struct id_vec {
	__u32 *v;
	size_t n, cap;
};

static bool id_vec_reserve(struct id_vec *ids, size_t more)
{
	size_t cap = ids->cap ? ids->cap : 256;
	__u32 *v;

	if (ids->n + more <= ids->cap)
		return true;
	while (cap < ids->n + more)
		cap *= 2;
	v = realloc(ids->v, cap * sizeof(*v));
	if (!v)
		return false;
	ids->v = v;
	ids->cap = cap;
	return true;
}

/* bpf_prog_get_info_by_fd with room for every map id, appended to `ids`
 * (a second call when the first had too little). 0 or an errno. */
static int read_prog_info(int fd, struct bpf_prog_info *pi, struct id_vec *ids)
{
	__u32 len = sizeof(*pi), room = 64;

	for (;;) {
		if (!id_vec_reserve(ids, room))
			return ENOMEM;
		memset(pi, 0, sizeof(*pi));
		len = sizeof(*pi);
		pi->nr_map_ids = room;
		pi->map_ids = (uintptr_t)(ids->v + ids->n);
		if (bpf_prog_get_info_by_fd(fd, pi, &len))
			return errno;
		if (pi->nr_map_ids <= room)
			break;
		room = pi->nr_map_ids;
	}
	ids->n += pi->nr_map_ids;
	return 0;
}

/* progInfo(fd) -> what the kernel says of a loaded program. */
static napi_value prog_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r, ids;
	struct bpf_prog_info pi;
	struct id_vec all = { 0 };
	int32_t fd;
	int err;

	if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd, "fd"))
		return NULL;
	err = read_prog_info(fd, &pi, &all);
	if (err) {
		free(all.v);
		return throw_errno(env, err, "bpf_prog_get_info_by_fd");
	}
	r = make_object(env);
	set_u32(env, r, "id", pi.id);
	set_u32(env, r, "type", pi.type);
	set_val(env, r, "name", make_strn(env, pi.name, sizeof(pi.name)));
	set_val(env, r, "tag", hex_tag(env, pi.tag, sizeof(pi.tag)));
	set_u64(env, r, "loadTimeNs", pi.load_time);
	set_u32(env, r, "createdByUid", pi.created_by_uid);
	set_u32(env, r, "btfId", pi.btf_id);
	set_u32(env, r, "xlatedLen", pi.xlated_prog_len);
	set_u32(env, r, "jitedLen", pi.jited_prog_len);
	set_u32(env, r, "verifiedInsns", pi.verified_insns);
	set_bool(env, r, "gplCompatible", pi.gpl_compatible);
	set_u64(env, r, "runTimeNs", pi.run_time_ns);
	set_u64(env, r, "runCnt", pi.run_cnt);
	set_u32(env, r, "ifindex", pi.ifindex);
	napi_create_array_with_length(env, all.n, &ids);
	for (size_t i = 0; i < all.n; i++)
		napi_set_element(env, ids, (uint32_t)i, make_u32(env, all.v[i]));
	set_val(env, r, "mapIds", ids);
	free(all.v);
	return r;
}

/* Every object of one kind, read in one walk: each one's info, in id order. */
struct info_walk {
	void *rows; /* struct bpf_prog_info or struct bpf_map_info, one per object */
	size_t n, cap, row_size;
	struct id_vec map_ids;   /* programs: every one's map ids, back to back */
	struct id_vec map_start; /* programs: where each one's map ids start, and the end */
};

static void info_walk_free(struct info_walk *w)
{
	free(w->rows);
	free(w->map_ids.v);
	free(w->map_start.v);
}

/* Walks every object of `kind` (KIND_PROG or KIND_MAP): ones that go away
 * between listing and opening are skipped. 0, or an errno and the failing call in *op. */
static int walk_infos(uint32_t kind, struct info_walk *w, const char **op)
{
	__u32 id = 0, len;
	int fd, err;

	w->row_size = kind == KIND_PROG ? sizeof(struct bpf_prog_info) : sizeof(struct bpf_map_info);
	for (;;) {
		err = kind == KIND_PROG ? bpf_prog_get_next_id(id, &id) : bpf_map_get_next_id(id, &id);
		if (err) {
			*op = "bpf_*_get_next_id";
			return errno == ENOENT ? 0 : errno;
		}
		fd = kind == KIND_PROG ? bpf_prog_get_fd_by_id(id) : bpf_map_get_fd_by_id(id);
		if (fd < 0) {
			if (errno == ENOENT || errno == EAGAIN)
				continue;
			*op = "bpf_*_get_fd_by_id";
			return errno;
		}
		if (w->n == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 256;
			void *rows = realloc(w->rows, cap * w->row_size);

			if (!rows) {
				close(fd);
				*op = "infoAll";
				return ENOMEM;
			}
			w->rows = rows;
			w->cap = cap;
		}
		if (kind == KIND_PROG) {
			if (!id_vec_reserve(&w->map_start, 2)) {
				close(fd);
				*op = "infoAll";
				return ENOMEM;
			}
			w->map_start.v[w->map_start.n] = (__u32)w->map_ids.n;
			err = read_prog_info(fd, (struct bpf_prog_info *)w->rows + w->n, &w->map_ids);
			*op = "bpf_prog_get_info_by_fd";
		} else {
			struct bpf_map_info *mi = (struct bpf_map_info *)w->rows + w->n;

			memset(mi, 0, sizeof(*mi));
			len = sizeof(*mi);
			err = bpf_map_get_info_by_fd(fd, mi, &len) ? errno : 0;
			*op = "bpf_map_get_info_by_fd";
		}
		close(fd);
		if (err)
			return err;
		w->n++;
		if (kind == KIND_PROG)
			w->map_start.n++;
	}
}

/* A column of strings, one per row, set at obj[key]. */
static void set_string_column(napi_env env, napi_value obj, const char *key, size_t n, napi_value (*at)(napi_env, const void *, size_t), const void *rows)
{
	napi_value arr;

	napi_create_array_with_length(env, n, &arr);
	for (size_t i = 0; i < n; i++)
		napi_set_element(env, arr, (uint32_t)i, at(env, rows, i));
	set_val(env, obj, key, arr);
}

static napi_value prog_name_at(napi_env env, const void *rows, size_t i)
{
	const struct bpf_prog_info *pi = (const struct bpf_prog_info *)rows + i;

	return make_strn(env, pi->name, sizeof(pi->name));
}

static napi_value prog_tag_at(napi_env env, const void *rows, size_t i)
{
	const struct bpf_prog_info *pi = (const struct bpf_prog_info *)rows + i;

	return hex_tag(env, pi->tag, sizeof(pi->tag));
}

static napi_value map_name_at(napi_env env, const void *rows, size_t i)
{
	const struct bpf_map_info *mi = (const struct bpf_map_info *)rows + i;

	return make_strn(env, mi->name, sizeof(mi->name));
}

/* The programs' columns: the members progInfo gives, a typed array or an
 * array of strings each, and every program's map ids back to back with
 * where each one's start (one more entry: the end). */
static napi_value prog_columns(napi_env env, const struct info_walk *w)
{
	const struct bpf_prog_info *rows = w->rows;
	size_t n = w->n;
	napi_value r = make_object(env);
	__u32 *id = set_column(env, r, "id", napi_uint32_array, n), *type = set_column(env, r, "type", napi_uint32_array, n),
	      *uid = set_column(env, r, "createdByUid", napi_uint32_array, n), *btf = set_column(env, r, "btfId", napi_uint32_array, n),
	      *xlated = set_column(env, r, "xlatedLen", napi_uint32_array, n), *jited = set_column(env, r, "jitedLen", napi_uint32_array, n),
	      *verified = set_column(env, r, "verifiedInsns", napi_uint32_array, n), *ifindex = set_column(env, r, "ifindex", napi_uint32_array, n);
	uint8_t *gpl = set_column(env, r, "gplCompatible", napi_uint8_array, n);
	uint64_t *load = set_column(env, r, "loadTimeNs", napi_biguint64_array, n), *run_ns = set_column(env, r, "runTimeNs", napi_biguint64_array, n),
		 *run_cnt = set_column(env, r, "runCnt", napi_biguint64_array, n);
	__u32 *ids = set_column(env, r, "mapIds", napi_uint32_array, w->map_ids.n), *start = set_column(env, r, "mapIdsStart", napi_uint32_array, n + 1);

	if (exception_pending(env))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		id[i] = rows[i].id;
		type[i] = rows[i].type;
		uid[i] = rows[i].created_by_uid;
		btf[i] = rows[i].btf_id;
		xlated[i] = rows[i].xlated_prog_len;
		jited[i] = rows[i].jited_prog_len;
		verified[i] = rows[i].verified_insns;
		ifindex[i] = rows[i].ifindex;
		gpl[i] = rows[i].gpl_compatible;
		load[i] = rows[i].load_time;
		run_ns[i] = rows[i].run_time_ns;
		run_cnt[i] = rows[i].run_cnt;
		start[i] = w->map_start.v[i];
	}
	start[n] = (__u32)w->map_ids.n;
	if (w->map_ids.n)
		memcpy(ids, w->map_ids.v, w->map_ids.n * sizeof(*ids));
	set_string_column(env, r, "name", n, prog_name_at, rows);
	set_string_column(env, r, "tag", n, prog_tag_at, rows);
	return r;
}

/* The maps' columns: the members mapInfo gives, a typed array or an array of strings each. */
static napi_value map_columns(napi_env env, const struct info_walk *w)
{
	const struct bpf_map_info *rows = w->rows;
	size_t n = w->n;
	napi_value r = make_object(env);
	__u32 *id = set_column(env, r, "id", napi_uint32_array, n), *type = set_column(env, r, "type", napi_uint32_array, n),
	      *key = set_column(env, r, "keySize", napi_uint32_array, n), *value = set_column(env, r, "valueSize", napi_uint32_array, n),
	      *max = set_column(env, r, "maxEntries", napi_uint32_array, n), *flags = set_column(env, r, "flags", napi_uint32_array, n),
	      *btf = set_column(env, r, "btfId", napi_uint32_array, n), *btf_key = set_column(env, r, "btfKeyTypeId", napi_uint32_array, n),
	      *btf_value = set_column(env, r, "btfValueTypeId", napi_uint32_array, n), *ifindex = set_column(env, r, "ifindex", napi_uint32_array, n);

	if (exception_pending(env))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		id[i] = rows[i].id;
		type[i] = rows[i].type;
		key[i] = rows[i].key_size;
		value[i] = rows[i].value_size;
		max[i] = rows[i].max_entries;
		flags[i] = rows[i].map_flags;
		btf[i] = rows[i].btf_id;
		btf_key[i] = rows[i].btf_key_type_id;
		btf_value[i] = rows[i].btf_value_type_id;
		ifindex[i] = rows[i].ifindex;
	}
	set_string_column(env, r, "name", n, map_name_at, rows);
	return r;
}

/* infoAll(kind) -> the info of every program (kind 0) or map (kind 1) on the
 * host as columns, in id order: one call instead of four per object. */
static napi_value info_all(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct info_walk w = { 0 };
	const char *op = NULL;
	uint32_t kind;
	int err;

	if (!get_args(env, info, 1, argv) || !kind_arg(env, argv[0], &kind))
		return NULL;
	if (kind != KIND_PROG && kind != KIND_MAP)
		return throw_type_error(env, "infoAll: kind must be 0 (prog) or 1 (map)");
	err = walk_infos(kind, &w, &op);
	if (err) {
		info_walk_free(&w);
		return throw_errno(env, err, op);
	}
	r = kind == KIND_PROG ? prog_columns(env, &w) : map_columns(env, &w);
	info_walk_free(&w);
	return r;
}

/* mapInfo(fd) -> what the kernel says of a map. */
static napi_value map_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct bpf_map_info mi;
	__u32 len = sizeof(mi);
	int32_t fd;

	if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd, "fd"))
		return NULL;
	memset(&mi, 0, sizeof(mi));
	if (bpf_map_get_info_by_fd(fd, &mi, &len))
		return throw_errno(env, errno, "bpf_map_get_info_by_fd");
	r = make_object(env);
	set_u32(env, r, "id", mi.id);
	set_u32(env, r, "type", mi.type);
	set_val(env, r, "name", make_strn(env, mi.name, sizeof(mi.name)));
	set_u32(env, r, "keySize", mi.key_size);
	set_u32(env, r, "valueSize", mi.value_size);
	set_u32(env, r, "maxEntries", mi.max_entries);
	set_u32(env, r, "flags", mi.map_flags);
	set_u32(env, r, "btfId", mi.btf_id);
	set_u32(env, r, "btfKeyTypeId", mi.btf_key_type_id);
	set_u32(env, r, "btfValueTypeId", mi.btf_value_type_id);
	set_u32(env, r, "ifindex", mi.ifindex);
	return r;
}

/* linkInfo(fd) -> {id, type, progId, ...members of its kind}. Kinds that
 * report a name (raw tracepoints, perf links, iterators, uprobe_multi) take
 * a second call with a buffer for it. */
static napi_value link_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct bpf_link_info li;
	__u32 len = sizeof(li), kind;
	char name[4096] = "";
	bool need_name = true;
	int32_t fd;

	if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd, "fd"))
		return NULL;
	memset(&li, 0, sizeof(li));
	if (bpf_link_get_info_by_fd(fd, &li, &len))
		return throw_errno(env, errno, "bpf_link_get_info_by_fd");
	kind = li.perf_event.type;
	switch (li.type) {
	case BPF_LINK_TYPE_RAW_TRACEPOINT:
		memset(&li, 0, sizeof(li));
		li.raw_tracepoint.tp_name = (uintptr_t)name;
		li.raw_tracepoint.tp_name_len = sizeof(name);
		break;
	case BPF_LINK_TYPE_ITER:
		memset(&li, 0, sizeof(li));
		li.iter.target_name = (uintptr_t)name;
		li.iter.target_name_len = sizeof(name);
		break;
	case BPF_LINK_TYPE_UPROBE_MULTI:
		memset(&li, 0, sizeof(li));
		li.uprobe_multi.path = (uintptr_t)name;
		li.uprobe_multi.path_size = sizeof(name);
		break;
	case BPF_LINK_TYPE_PERF_EVENT:
		/* A perf event's type and config came with the first call. */
		if (kind == BPF_PERF_EVENT_EVENT) {
			need_name = false;
			break;
		}
		memset(&li, 0, sizeof(li));
		li.perf_event.type = kind;
		li.perf_event.uprobe.file_name = (uintptr_t)name;
		li.perf_event.uprobe.name_len = sizeof(name);
		break;
	default:
		need_name = false;
		break;
	}
	len = sizeof(li);
	if (need_name && bpf_link_get_info_by_fd(fd, &li, &len))
		return throw_errno(env, errno, "bpf_link_get_info_by_fd");
	name[sizeof(name) - 1] = '\0';

	r = make_object(env);
	set_u32(env, r, "id", li.id);
	set_u32(env, r, "type", li.type);
	set_u32(env, r, "progId", li.prog_id);
	switch (li.type) {
	case BPF_LINK_TYPE_RAW_TRACEPOINT:
		set_str(env, r, "name", name);
		break;
	case BPF_LINK_TYPE_TRACING:
		set_u32(env, r, "attachType", li.tracing.attach_type);
		set_u32(env, r, "targetObjId", li.tracing.target_obj_id);
		set_u32(env, r, "targetBtfId", li.tracing.target_btf_id);
		break;
	case BPF_LINK_TYPE_CGROUP:
		set_u64(env, r, "cgroupId", li.cgroup.cgroup_id);
		set_u32(env, r, "attachType", li.cgroup.attach_type);
		break;
	case BPF_LINK_TYPE_ITER:
		set_str(env, r, "name", name);
		set_u32(env, r, "mapId", li.iter.map.map_id);
		break;
	case BPF_LINK_TYPE_NETNS:
		set_u32(env, r, "netnsIno", li.netns.netns_ino);
		set_u32(env, r, "attachType", li.netns.attach_type);
		break;
	case BPF_LINK_TYPE_XDP:
		set_u32(env, r, "ifindex", li.xdp.ifindex);
		break;
	case BPF_LINK_TYPE_STRUCT_OPS:
		set_u32(env, r, "mapId", li.struct_ops.map_id);
		break;
	case BPF_LINK_TYPE_NETFILTER:
		set_u32(env, r, "pf", li.netfilter.pf);
		set_u32(env, r, "hooknum", li.netfilter.hooknum);
		set_i32(env, r, "priority", li.netfilter.priority);
		set_u32(env, r, "flags", li.netfilter.flags);
		break;
	case BPF_LINK_TYPE_UPROBE_MULTI:
		set_str(env, r, "name", name);
		set_u32(env, r, "count", li.uprobe_multi.count);
		set_u32(env, r, "pid", li.uprobe_multi.pid);
		break;
	case BPF_LINK_TYPE_KPROBE_MULTI:
		set_u32(env, r, "count", li.kprobe_multi.count);
		break;
	case BPF_LINK_TYPE_TCX:
	case BPF_LINK_TYPE_NETKIT:
		set_u32(env, r, "ifindex", li.tcx.ifindex);
		set_u32(env, r, "attachType", li.tcx.attach_type);
		break;
	case BPF_LINK_TYPE_SOCKMAP:
		set_u32(env, r, "mapId", li.sockmap.map_id);
		set_u32(env, r, "attachType", li.sockmap.attach_type);
		break;
	case BPF_LINK_TYPE_PERF_EVENT:
		set_u32(env, r, "perfEventType", li.perf_event.type);
		if (li.perf_event.type == BPF_PERF_EVENT_EVENT) {
			set_u64(env, r, "config", li.perf_event.event.config);
			set_u32(env, r, "eventType", li.perf_event.event.type);
			break;
		}
		set_str(env, r, "name", name);
		if (li.perf_event.type != BPF_PERF_EVENT_TRACEPOINT)
			set_u32(env, r, "offset", li.perf_event.uprobe.offset);
		if (li.perf_event.type == BPF_PERF_EVENT_KPROBE || li.perf_event.type == BPF_PERF_EVENT_KRETPROBE)
			set_u64(env, r, "addr", li.perf_event.kprobe.addr);
		break;
	default:
		break;
	}
	return r;
}

/* btfInfo(fd) -> {id, name, kernelBtf, data: Buffer with the raw BTF}. */
static napi_value btf_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	struct bpf_btf_info bi;
	__u32 len = sizeof(bi), size;
	char name[128] = "";
	void *data;
	int32_t fd;
	int err;

	if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd, "fd"))
		return NULL;
	memset(&bi, 0, sizeof(bi));
	if (bpf_btf_get_info_by_fd(fd, &bi, &len))
		return throw_errno(env, errno, "bpf_btf_get_info_by_fd");
	size = bi.btf_size;
	data = malloc(size ? size : 1);
	if (!data)
		return throw_errno(env, ENOMEM, "btfInfo");
	memset(&bi, 0, sizeof(bi));
	len = sizeof(bi);
	bi.btf = (uintptr_t)data;
	bi.btf_size = size;
	bi.name = (uintptr_t)name;
	bi.name_len = sizeof(name);
	err = bpf_btf_get_info_by_fd(fd, &bi, &len) ? errno : 0;
	if (err) {
		free(data);
		return throw_errno(env, err, "bpf_btf_get_info_by_fd");
	}
	name[sizeof(name) - 1] = '\0';
	r = make_object(env);
	set_u32(env, r, "id", bi.id);
	set_str(env, r, "name", name);
	set_bool(env, r, "kernelBtf", bi.kernel_btf);
	set_val(env, r, "data", make_buffer(env, data, bi.btf_size < size ? bi.btf_size : size));
	free(data);
	return r;
}

/* taskFdQuery(pid, fd) -> {progId, fdType, name, probeOffset, probeAddr}:
 * BPF_TASK_FD_QUERY on another process's fd (a perf event or raw tracepoint
 * with a program attached), as bpftool perf does. `name` is the tracepoint,
 * the kprobe function or the uprobe's file; cut at 4095 bytes. */
static napi_value task_fd_query(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	char buf[4096] = "";
	__u32 len = sizeof(buf), prog_id = 0, fd_type = 0;
	__u64 offset = 0, addr = 0;
	int32_t pid, fd;

	if (!get_args(env, info, 2, argv) || !arg_i32(env, argv[0], &pid, "pid") ||
	    !arg_i32(env, argv[1], &fd, "fd"))
		return NULL;
	if (bpf_task_fd_query(pid, fd, 0, buf, &len, &prog_id, &fd_type, &offset, &addr) && errno != ENOSPC)
		return throw_errno(env, errno, "bpf_task_fd_query");
	buf[sizeof(buf) - 1] = '\0';
	r = make_object(env);
	set_u32(env, r, "progId", prog_id);
	set_u32(env, r, "fdType", fd_type);
	set_str(env, r, "name", buf);
	set_u64(env, r, "probeOffset", offset);
	set_u64(env, r, "probeAddr", addr);
	return r;
}

/* objGet(path) -> fd of the object pinned at path. */
static napi_value obj_get(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char *path;
	int fd, err;

	if (!get_args(env, info, 1, argv) || !(path = arg_string(env, argv[0], "path")))
		return NULL;
	fd = bpf_obj_get(path);
	err = errno;
	free(path);
	if (fd < 0)
		return throw_errno(env, err, "bpf_obj_get");
	return make_i32(env, fd);
}

/* objPin(fd, path): pin the object behind fd at path on bpffs. */
static napi_value obj_pin(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	int32_t fd;
	char *path;
	int err;

	if (!get_args(env, info, 2, argv) || !arg_i32(env, argv[0], &fd, "fd") ||
	    !(path = arg_string(env, argv[1], "path")))
		return NULL;
	err = bpf_obj_pin(fd, path) ? errno : 0;
	free(path);
	if (err)
		return throw_errno(env, err, "bpf_obj_pin");
	return undefined(env);
}

/* closeFd(fd) */
static napi_value close_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (!get_args(env, info, 1, argv) || !arg_i32(env, argv[0], &fd, "fd"))
		return NULL;
	if (fd >= 0 && close(fd))
		return throw_errno(env, errno, "close");
	return undefined(env);
}

napi_value init_info(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "nextId", next_id },
		{ "fdById", fd_by_id },
		{ "progInfo", prog_info },
		{ "mapInfo", map_info },
		{ "infoAll", info_all },
		{ "linkInfo", link_info },
		{ "btfInfo", btf_info },
		{ "taskFdQuery", task_fd_query },
		{ "objGet", obj_get },
		{ "objPin", obj_pin },
		{ "closeFd", close_fd },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
