/* Work over the records of a reader's batch, through the index the reader
 * wrote (per record, the u32 offset of its data and its u32 size), so the
 * loops that run once per record run in C:
 *
 * - recordsSelect: the records that pass a program of tests (program.h).
 * - keysOpen / keysCount / keysKnow: a table of key bytes (a field of fixed
 *   bytes) giving each distinct key a dense id, in the order keys are first
 *   seen, that counts the records of the keys the caller knows, so they are
 *   counted per key without being decoded, and hands back the others.
 *
 * Mechanism only: which tests and which keys, and what an id stands for, is
 * decided in TypeScript (src/kernel/record-scan.ts). */
#include "common.h"
#include "program.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define NO_ID 0x3fffffffu

/* Keeps the records of `list` (n of them, numbered in the batch) that pass one of `len` tests; how many. */
static uint32_t narrow_any(const struct test *t, uint32_t len, const uint8_t *bytes, const uint32_t *index, uint32_t *list, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t j = 0; j < n; j++) {
		const uint8_t *rec = bytes + index[2 * list[j]];
		bool any = false;

		for (uint32_t i = 0; i < len && !any; i++)
			any = test_passes(&t[i], rec);
		list[k] = list[j];
		k += any;
	}
	return k;
}

/* One loop per scalar size and byte order, the test's range check without a branch. With `all`,
 * the loop runs over the batch's first n records, those outside the bytes or shorter than `end`
 * left out, instead of over `list`. */
#define NARROW_SCALAR(LOAD)                                                                          \
	do {                                                                                         \
		const uint64_t flip = t->flip, lo = t->lo, span = t->span;                          \
		const uint32_t byte = t->byte;                                                      \
		const bool neg = t->neg;                                                            \
		for (uint32_t j = 0; j < n; j++) {                                                  \
			uint32_t r = all ? j : list[j], off = index[2 * r], size = index[2 * r + 1]; \
			const uint8_t *at = bytes + off + byte;                                     \
			if (all && (off > nbytes || size > nbytes - off || size < end))             \
				continue;                                                           \
			list[k] = r;                                                                \
			k += ((((uint64_t)(LOAD) ^ flip) - lo) <= span) != neg;                     \
		}                                                                                   \
	} while (0)

/* Keeps the records of `list` that pass the scalar test `t` (with `all`: see NARROW_SCALAR); how many. */
static uint32_t narrow_scalar(const struct test *t, bool all, const uint8_t *bytes, size_t nbytes, uint32_t end,
			      const uint32_t *index, uint32_t *list, uint32_t n)
{
	uint32_t k = 0;

	switch (t->size | (t->big ? 0x100 : 0)) {
	case 1:
	case 0x101:
		NARROW_SCALAR(at[0]);
		break;
	case 2:
		NARROW_SCALAR(le16toh(ld16(at)));
		break;
	case 0x102:
		NARROW_SCALAR(be16toh(ld16(at)));
		break;
	case 4:
		NARROW_SCALAR(le32toh(ld32(at)));
		break;
	case 0x104:
		NARROW_SCALAR(be32toh(ld32(at)));
		break;
	case 8:
		NARROW_SCALAR(le64toh(ld64(at)));
		break;
	default:
		NARROW_SCALAR(be64toh(ld64(at)));
	}
	return k;
}

/* The data of record r of a batch, or NULL when the index does not place it within the bytes. */
static const uint8_t *record_at(const uint8_t *bytes, size_t nbytes, const uint32_t *index, uint32_t r, uint32_t *size)
{
	uint32_t off = index[2 * r];

	*size = index[2 * r + 1];
	return off <= nbytes && *size <= nbytes - off ? bytes + off : NULL;
}

/* recordsSelect(bytes, index, count, program, into) -> how many of the batch's first `count` records
 * pass the program; their numbers go to `into`, in order. */
static napi_value records_select(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	uint8_t *bytes;
	uint32_t *index, *words, *into, count, picked = 0, g, first;
	size_t nbytes, nindex, nwords, ninto;
	struct program p;

	if (!get_args(env, info, 5, argv) || !arg_bytes(env, argv[0], (void **)&bytes, &nbytes, "bytes") ||
	    !arg_u32_array(env, argv[1], &index, &nindex, "index: a Uint32Array") || !arg_u32(env, argv[2], &count, "count") ||
	    !arg_u32_array(env, argv[3], &words, &nwords, "program: a Uint32Array") ||
	    !arg_u32_array(env, argv[4], &into, &ninto, "into: a Uint32Array"))
		return NULL;
	if (count > nindex / 2 || count > ninto)
		return throw_type_error(env, "recordsSelect: count past the index or into");
	if (!program_parse(words, nwords, &p))
		return throw_type_error(env, "recordsSelect: not a program");
	/* Group by group, each narrowing the list: a group of one scalar test in a loop of its own,
	 * the first of them over the whole batch at once. */
	g = 0;
	first = 0;
	if (p.ngroups && p.group_len[0] == 1 && p.tests[0].kind == TEST_SCALAR) {
		picked = narrow_scalar(&p.tests[0], true, bytes, nbytes, p.end, index, into, count);
		g = first = 1;
	} else {
		for (uint32_t r = 0; r < count; r++) {
			uint32_t size;

			if (record_at(bytes, nbytes, index, r, &size) && size >= p.end)
				into[picked++] = r;
		}
	}
	for (; g < p.ngroups && picked; first += p.group_len[g++]) {
		const struct test *t = &p.tests[first];

		if (p.group_len[g] == 1 && t->kind == TEST_SCALAR)
			picked = narrow_scalar(t, false, bytes, nbytes, p.end, index, into, picked);
		else
			picked = narrow_any(t, p.group_len[g], bytes, index, into, picked);
	}
	program_free(&p);
	return make_u32(env, picked);
}

/* Bytes a table holds per slot: the key, its id, and the per-id arrays. */
#define SLOT_BYTES(t) ((int64_t)(t)->key_size + 13)

/* A table of keys of key_size bytes to dense ids; open addressing, grown at a quarter full (short probes), at most max_keys. */
struct keys {
	uint32_t magic; /* MAGIC_KEYS */
	uint32_t key_size, max_keys, count, slots;
	uint64_t seed;  /* per table, so keys the traced system chooses cannot be made to collide */
	uint8_t *bytes; /* slots * key_size */
	uint32_t *ids;  /* per slot: id + 1, 0 when empty */
	/* Per id (as many as slots, so they grow with the table): */
	uint8_t *known;    /* the caller counts its records here (keysKnow) */
	uint32_t *tally;   /* records counted in the current keysCount */
	uint32_t *touched; /* the ids counted in the current keysCount, in order */
	napi_env env;
};

static inline uint64_t hash_key(const uint8_t *p, uint32_t n, uint64_t seed)
{
	uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull), w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	if (n) {
		w = 0;
		memcpy(&w, p, n);
		h = (h ^ w) * 0x94d049bb133111ebull;
		h ^= h >> 29;
	}
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static inline bool key_equal(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	switch (n) {
	case 4:
		return ld32(a) == ld32(b);
	case 8:
		return ld64(a) == ld64(b);
	case 16:
		return ld64(a) == ld64(b) && ld64(a + 8) == ld64(b + 8);
	default:
		return memcmp(a, b, n) == 0;
	}
}

/* The slot holding the key at `k`, or the empty one where it would go; keys of n bytes (the
 * common sizes given as constants, so the hash and compare are unrolled). */
static inline uint32_t probe(const struct keys *t, const uint8_t *k, uint32_t n)
{
	uint32_t mask = t->slots - 1, s = (uint32_t)hash_key(k, n, t->seed) & mask;

	while (t->ids[s] && !key_equal(t->bytes + (size_t)s * n, k, n))
		s = (s + 1) & mask;
	return s;
}

static uint32_t slot_of(const struct keys *t, const uint8_t *k)
{
	switch (t->key_size) {
	case 4:
		return probe(t, k, 4);
	case 8:
		return probe(t, k, 8);
	case 16:
		return probe(t, k, 16);
	default:
		return probe(t, k, t->key_size);
	}
}

static void free_slots(struct keys *t)
{
	free(t->bytes);
	free(t->ids);
	free(t->known);
	free(t->tally);
	free(t->touched);
}

/* Doubles the slots, placing every key again; false when memory is short (the table is unchanged). */
static bool grow(struct keys *t)
{
	struct keys next = *t;

	next.slots = t->slots * 2;
	next.bytes = malloc((size_t)next.slots * t->key_size);
	next.ids = calloc(next.slots, sizeof(*next.ids));
	next.known = calloc(next.slots, 1);
	next.tally = calloc(next.slots, sizeof(*next.tally));
	next.touched = malloc(next.slots * sizeof(*next.touched));
	if (!next.bytes || !next.ids || !next.known || !next.tally || !next.touched) {
		free_slots(&next);
		return false;
	}
	/* Within a keysCount: its tally and touched ids so far go along. */
	memcpy(next.known, t->known, t->slots);
	memcpy(next.tally, t->tally, t->slots * sizeof(*t->tally));
	memcpy(next.touched, t->touched, t->slots * sizeof(*t->touched));
	for (uint32_t s = 0; s < t->slots; s++) {
		if (!t->ids[s])
			continue;
		uint32_t n = slot_of(&next, t->bytes + (size_t)s * t->key_size);

		memcpy(next.bytes + (size_t)n * t->key_size, t->bytes + (size_t)s * t->key_size, t->key_size);
		next.ids[n] = t->ids[s];
	}
	free_slots(t);
	napi_adjust_external_memory(t->env, t->slots * SLOT_BYTES(t), NULL);
	*t = next;
	return true;
}

static void keys_finalize(napi_env env, void *data, void *hint)
{
	struct keys *t = data;

	napi_adjust_external_memory(env, -t->slots * SLOT_BYTES(t), NULL);
	free_slots(t);
	free(t);
}

/* keysOpen(keySize, maxKeys) -> a table of at most maxKeys keys of keySize bytes (freed when collected). */
static napi_value keys_open(napi_env env, napi_callback_info info)
{
	napi_value argv[2], external;
	uint32_t key_size, max_keys;
	struct keys *t;

	if (!get_args(env, info, 2, argv) || !arg_u32(env, argv[0], &key_size, "keySize") ||
	    !arg_u32(env, argv[1], &max_keys, "maxKeys"))
		return NULL;
	if (key_size == 0 || key_size > 4096 || max_keys == 0 || max_keys > (1u << 24))
		return throw_type_error(env, "keysOpen: keySize 1 to 4096 and maxKeys 1 to 2^24");
	t = calloc(1, sizeof(*t));
	if (!t)
		return throw_errno(env, ENOMEM, "keysOpen");
	t->magic = MAGIC_KEYS;
	t->env = env;
	t->key_size = key_size;
	t->max_keys = max_keys;
	t->slots = 64;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
	t->bytes = malloc((size_t)t->slots * key_size);
	t->ids = calloc(t->slots, sizeof(*t->ids));
	t->known = calloc(t->slots, 1);
	t->tally = calloc(t->slots, sizeof(*t->tally));
	t->touched = malloc(t->slots * sizeof(*t->touched));
	if (!t->bytes || !t->ids || !t->known || !t->tally || !t->touched ||
	    napi_create_external(env, t, keys_finalize, NULL, &external) != napi_ok) {
		free_slots(t);
		free(t);
		return throw_errno(env, ENOMEM, "keysOpen");
	}
	napi_adjust_external_memory(env, t->slots * SLOT_BYTES(t), NULL);
	return external;
}

/* The id of the key at `k`, added when new; NO_ID when it is new to a full table. */
static uint32_t id_of(struct keys *t, const uint8_t *k)
{
	uint32_t s = slot_of(t, k);

	if (!t->ids[s]) {
		if (t->count >= t->max_keys)
			return NO_ID;
		if ((t->count + 1) * 4 > t->slots) {
			if (!grow(t))
				return NO_ID;
			s = slot_of(t, k);
		}
		memcpy(t->bytes + (size_t)s * t->key_size, k, t->key_size);
		t->ids[s] = ++t->count;
	}
	return t->ids[s] - 1;
}

/* keysCount(keys, bytes, index, count, picked, n, byte, recordSize, out) -> {left, counted}.
 * Takes the n records numbered in `picked` (of the batch's first `count`; picked null: the first n),
 * each keyed by the key_size bytes at `byte` of its data (added to the table when new). Records of
 * a key the caller knows (keysKnow) are counted; the rest are left to the caller. out (2n words)
 * gets `left` pairs (j, id), in order, j the record's place in `picked` and id NO_ID for a record
 * that is not recordSize bytes long or whose key is new to a full table; then `counted` pairs
 * (id, records). */
static napi_value keys_count(napi_env env, napi_callback_info info)
{
	napi_value argv[9], result;
	struct keys *t;
	uint8_t *bytes;
	uint32_t *index, *picked = NULL, *out, count, n, byte, record_size, counted = 0, left = 0;
	size_t nbytes, nindex, npicked = 0, nout;

	if (!get_args(env, info, 9, argv) || !(t = arg_handle(env, argv[0], MAGIC_KEYS, "keys")) ||
	    !arg_bytes(env, argv[1], (void **)&bytes, &nbytes, "bytes") ||
	    !arg_u32_array(env, argv[2], &index, &nindex, "index: a Uint32Array") || !arg_u32(env, argv[3], &count, "count") ||
	    (!is_nullish(env, argv[4]) && !arg_u32_array(env, argv[4], &picked, &npicked, "picked: a Uint32Array or null")) ||
	    !arg_u32(env, argv[5], &n, "n") || !arg_u32(env, argv[6], &byte, "byte") ||
	    !arg_u32(env, argv[7], &record_size, "recordSize") || !arg_u32_array(env, argv[8], &out, &nout, "out: a Uint32Array"))
		return NULL;
	if (count > nindex / 2 || nout / 2 < n || (picked ? n > npicked : n > count))
		return throw_type_error(env, "keysCount: n past the index, picked or out");
	for (uint32_t j = 0; j < n; j++) {
		uint32_t r = picked ? picked[j] : j, size, id = NO_ID;
		const uint8_t *rec = r < count ? record_at(bytes, nbytes, index, r, &size) : NULL;

		if (rec && size == record_size && byte <= size && t->key_size <= size - byte)
			id = id_of(t, rec + byte);
		if (id != NO_ID && t->known[id]) {
			if (t->tally[id]++ == 0)
				t->touched[counted++] = id;
			continue;
		}
		out[2 * left] = j;
		out[2 * left++ + 1] = id;
	}
	for (uint32_t i = 0; i < counted; i++) {
		uint32_t id = t->touched[i];

		out[2 * (left + i)] = id;
		out[2 * (left + i) + 1] = t->tally[id];
		t->tally[id] = 0;
	}
	result = make_object(env);
	set_u32(env, result, "left", left);
	set_u32(env, result, "counted", counted);
	return result;
}

/* keysKnow(keys, id): the caller knows what key `id` stands for; keysCount counts its records from now. */
static napi_value keys_know(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct keys *t;
	uint32_t id;

	if (!get_args(env, info, 2, argv) || !(t = arg_handle(env, argv[0], MAGIC_KEYS, "keys")) || !arg_u32(env, argv[1], &id, "id"))
		return NULL;
	if (id >= t->count)
		return throw_type_error(env, "keysKnow: no such id");
	t->known[id] = 1;
	return undefined(env);
}

napi_value init_records(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "recordsSelect", records_select },
		{ "keysOpen", keys_open },
		{ "keysCount", keys_count },
		{ "keysKnow", keys_know },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
