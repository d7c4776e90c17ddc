/* Map contents: walk any map by fd with bpf_map_get_next_key and read each
 * entry with bpf_map_lookup_elem, returning the raw keys and values. How
 * the bytes are decoded, and which maps may be read, is decided above.
 * mapElems looks up, updates or deletes given keys, one call per key. */
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A byte buffer of fixed-size records that grows by doubling. */
struct records {
	char *data;
	size_t size;     /* bytes per record */
	size_t capacity; /* records */
};

static int records_reserve(struct records *r, size_t want)
{
	size_t cap = r->capacity ? r->capacity : 16, bytes;
	char *grown;

	if (want <= r->capacity)
		return 0;
	while (cap < want)
		cap *= 2;
	if (__builtin_mul_overflow(cap, r->size, &bytes))
		return ENOMEM;
	grown = realloc(r->data, bytes ? bytes : 1);
	if (!grown)
		return ENOMEM;
	r->data = grown;
	r->capacity = cap;
	return 0;
}

/* mapDump(fd, keySize, valueSize, perCpu, limit, maxMisses, after) -> {keys, values, count, more}.
 * `keys` holds `count` keys of keySize bytes back to back; `values` holds
 * their values, each valueSize bytes, or for per-CPU maps
 * round_up(valueSize, 8) bytes per possible CPU. `more` is true when the map
 * holds entries past the first `limit`. Entries deleted during the walk are
 * skipped; after `maxMisses` such misses the walk stops with `more` set.
 * With `after` (a key, keySize bytes) the walk starts at the key the kernel
 * gives next after it; null or undefined starts at the first key. */
static napi_value map_dump(napi_env env, napi_callback_info info)
{
	napi_value argv[7], r;
	struct records keys = { 0 }, values = { 0 };
	uint32_t key_size, value_size, limit, max_misses, count = 0, missed = 0;
	char *prev = NULL, *next = NULL, *swap;
	bool per_cpu, have_prev = false, more = false;
	const char *op = "mapDump";
	int32_t fd;
	int err = 0, cpus;
	void *after = NULL;
	size_t after_len = 0;

	if (!get_args(env, info, 7, argv) || !arg_i32(env, argv[0], &fd, "fd") ||
	    !arg_u32(env, argv[1], &key_size, "keySize") || !arg_u32(env, argv[2], &value_size, "valueSize") ||
	    !arg_bool(env, argv[3], &per_cpu, "perCpu") || !arg_u32(env, argv[4], &limit, "limit") ||
	    !arg_u32(env, argv[5], &max_misses, "maxMisses"))
		return NULL;
	if (!is_nullish(env, argv[6]) && !arg_bytes(env, argv[6], &after, &after_len, "after"))
		return NULL;
	if (key_size == 0)
		return throw_type_error(env, "keySize must be positive: maps without keys cannot be walked");
	if (after && after_len != key_size)
		return throw_type_error(env, "after must be one key: keySize bytes");
	keys.size = key_size;
	values.size = value_size;
	if (per_cpu) {
		cpus = libbpf_num_possible_cpus();
		if (cpus < 0)
			return throw_errno(env, -cpus, "libbpf_num_possible_cpus");
		values.size = (((size_t)value_size + 7) & ~(size_t)7) * (size_t)cpus;
	}
	prev = malloc(key_size);
	next = malloc(key_size);
	if (!prev || !next || records_reserve(&keys, 1) || records_reserve(&values, 1)) {
		err = ENOMEM;
		goto out;
	}
	if (after) {
		memcpy(prev, after, key_size);
		have_prev = true;
	}
	for (;;) {
		if (bpf_map_get_next_key(fd, have_prev ? prev : NULL, next)) {
			if (errno != ENOENT) {
				err = errno;
				op = "bpf_map_get_next_key";
			}
			break;
		}
		if (count == limit || missed > max_misses) {
			more = true;
			break;
		}
		if ((err = records_reserve(&keys, count + 1)) || (err = records_reserve(&values, count + 1)))
			break;
		if (bpf_map_lookup_elem(fd, next, values.data + count * values.size)) {
			if (errno != ENOENT) {
				err = errno;
				op = "bpf_map_lookup_elem";
				break;
			}
			missed++;
		} else {
			memcpy(keys.data + count * keys.size, next, key_size);
			count++;
		}
		swap = prev;
		prev = next;
		next = swap;
		have_prev = true;
	}
out:
	free(prev);
	free(next);
	if (err) {
		free(keys.data);
		free(values.data);
		return throw_errno(env, err, op);
	}
	r = make_object(env);
	set_val(env, r, "keys", make_buffer(env, keys.data, count * keys.size));
	set_val(env, r, "values", make_buffer(env, values.data, count * values.size));
	set_u32(env, r, "count", count);
	set_bool(env, r, "more", more);
	free(keys.data);
	free(values.data);
	return r;
}

/* Operations of mapElems, in the order of its `op` argument. */
enum elem_op { ELEM_LOOKUP, ELEM_UPDATE, ELEM_DELETE };

/* mapElems(fd, op, keySize, valueStride, count, keys, values, flags) -> {errnos, values}.
 * One bpf_map_lookup_elem (op 0), bpf_map_update_elem with `flags` (op 1) or
 * bpf_map_delete_elem (op 2) per key of `keys` (count keys of keySize bytes
 * back to back), each key on its own: `errnos` holds 0 or the errno of each.
 * `values` holds valueStride bytes per key: what update writes, and for
 * lookup what is read (zeros where the lookup failed); null for delete. */
static napi_value map_elems(napi_env env, napi_callback_info info)
{
	napi_value argv[8], r, errnos;
	uint32_t op, key_size, stride, count, flags, i;
	void *keys = NULL, *values = NULL;
	size_t keys_len = 0, values_len = 0;
	char *out = NULL;
	int32_t fd;
	int err;

	if (!get_args(env, info, 8, argv) || !arg_i32(env, argv[0], &fd, "fd") || !arg_u32(env, argv[1], &op, "op") ||
	    !arg_u32(env, argv[2], &key_size, "keySize") || !arg_u32(env, argv[3], &stride, "valueStride") ||
	    !arg_u32(env, argv[4], &count, "count") || !arg_bytes(env, argv[5], &keys, &keys_len, "keys") ||
	    !arg_u32(env, argv[7], &flags, "flags"))
		return NULL;
	if (!is_nullish(env, argv[6]) && !arg_bytes(env, argv[6], &values, &values_len, "values"))
		return NULL;
	if (op > ELEM_DELETE)
		return throw_type_error(env, "op must be 0 (lookup), 1 (update) or 2 (delete)");
	if (keys_len != (size_t)key_size * count)
		return throw_type_error(env, "keys must be count keys of keySize bytes");
	if (op == ELEM_UPDATE && values_len != (size_t)stride * count)
		return throw_type_error(env, "values must be count values of valueStride bytes");
	if (op == ELEM_LOOKUP) {
		out = calloc(count ? count : 1, stride ? stride : 1);
		if (!out)
			return throw_errno(env, ENOMEM, "mapElems");
	}
	errnos = make_array(env);
	for (i = 0; i < count; i++) {
		const char *key = (const char *)keys + (size_t)i * key_size;

		if (op == ELEM_LOOKUP)
			err = bpf_map_lookup_elem(fd, key, out + (size_t)i * stride);
		else if (op == ELEM_UPDATE)
			err = bpf_map_update_elem(fd, key, (const char *)values + (size_t)i * stride, flags);
		else
			err = bpf_map_delete_elem(fd, key);
		push(env, errnos, make_i32(env, err ? errno : 0));
	}
	r = make_object(env);
	set_val(env, r, "errnos", errnos);
	if (out) {
		set_val(env, r, "values", make_buffer(env, out, (size_t)count * stride));
		free(out);
	}
	return r;
}

napi_value init_map(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "mapDump", map_dump },
		{ "mapElems", map_elems },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
