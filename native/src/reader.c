/* Ring buffer and perf buffer readers driven by libuv.
 *
 * A ring buffer is read in place, as libbpf reads it: the consumer page is
 * mapped writable, the producer page and the data area read-only (the kernel
 * maps the data twice in a row, so no record wraps). JavaScript holds the
 * data area as one ArrayBuffer; on each wakeup the committed records are
 * handed over as a span of it, and the consumer position moves past them
 * only when JavaScript returns. No record is copied. A wakeup takes at most
 * max_per_wakeup records, so a flooding producer cannot starve the event
 * loop; what is left is taken next turn (the ring's poll is level-triggered).
 * Span layout, per record: the kernel's header (u32 length with the busy and
 * discard bits, u32 page offset), then the data, padded to 8 bytes.
 *
 * Each delivery also fills the index, a second ArrayBuffer JavaScript holds:
 * per record delivered, the u32 offset of its data in the delivered bytes and
 * its u32 size. The records' headers are walked here once, with the acquire
 * loads the ring's protocol needs, and JavaScript reads the records through
 * the index without parsing headers again (discarded ring records are left
 * out of it).
 *
 * A reader may be given a program of record tests (program.h): then only the
 * records that pass it are indexed (and, for a perf buffer, copied), tested
 * in the same walk, while the record is at hand. Each delivery says how many
 * records it took in all, and the index's third part gives each record
 * delivered its number among them.
 *
 * A perf buffer goes through libbpf (one ring per CPU, lost-sample records):
 * records are copied into one reused ArrayBuffer and handed over a batch per
 * call. Batch layout, per record: u32 size, u32 cpu, then size bytes of data,
 * padded to 8 bytes. */
#include "common.h"
#include "program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#define RECORD_HDR 8u
#define NO_CPU 0xffffffffu
#define ROUND8(n) (((n) + 7u) & ~(size_t)7u)

/* A mapping to unmap when the ArrayBuffer over it is let go: detached when its reader closes, or collected. */
struct mapping {
	void *addr;
	size_t len;
};

struct reader {
	uint32_t magic; /* MAGIC_READER */
	napi_env env;
	/* Ring buffer, read in place. */
	int ring_fd;                       /* our own dup of the map fd, polled */
	unsigned long *consumer_pos;       /* mapped read-write: we move it */
	const unsigned long *producer_pos; /* mapped read-only */
	const uint8_t *data;               /* the data area, mapped twice in a row */
	size_t mask;
	/* Perf buffer, through libbpf. */
	struct perf_buffer *pb;
	uv_poll_t poll;
	napi_ref on_batch;  /* function(count, bytes, start, alone?) */
	napi_ref receiver;  /* napi_make_callback needs an object receiver */
	napi_ref batch_ref; /* the ArrayBuffer JavaScript reads: the ring's data, or the perf batch */
	napi_ref index_ref; /* the index ArrayBuffer: (offset, size) of each record delivered, then their numbers */
	uint32_t *index;    /* its memory: 3 * max_per_wakeup words */
	uint32_t *ordinals; /* its third part: each record's number among those taken for its delivery */
	struct program prog; /* the records to deliver, when `selecting` */
	bool selecting;
	napi_async_context actx;
	/* The perf batch being filled: `count` records in `len` of `cap` bytes, of `taken` taken. */
	uint8_t *batch;
	size_t cap, len;
	uint32_t count, taken;
	uint32_t max_per_wakeup; /* most records per delivery: a ring's per wakeup, a perf batch's */
	uint64_t records, lost, wakeups;
	bool consuming;   /* inside a consume: no nested consume */
	bool closing;     /* close requested: stop taking records */
	bool released;    /* uv handle closed and buffers freed */
	bool finalized;   /* the JavaScript handle is gone */
};

static void call_js(struct reader *r, size_t argc, napi_value *argv)
{
	napi_env env = r->env;
	napi_value fn, recv, result, exc;

	if (napi_get_reference_value(env, r->on_batch, &fn) != napi_ok || !fn ||
	    napi_get_reference_value(env, r->receiver, &recv) != napi_ok || !recv)
		return;
	/* The JavaScript side catches its own errors; one that escapes is dropped
	 * rather than thrown into libuv. */
	if (napi_make_callback(env, r->actx, recv, fn, argc, argv, &result) == napi_pending_exception)
		napi_get_and_clear_last_exception(env, &exc);
}

/* onBatch(count, bytes, start, alone, taken): `count` records in `bytes` bytes from `start`, of
 * `taken` records taken from the buffer (the others did not pass the program). */
static void deliver(struct reader *r, uint32_t count, uint32_t taken, size_t bytes, size_t start, napi_value alone)
{
	napi_value argv[5];

	argv[0] = make_u32(r->env, count);
	argv[1] = make_u32(r->env, (uint32_t)bytes);
	argv[2] = make_u32(r->env, (uint32_t)start);
	argv[3] = alone ? alone : undefined(r->env);
	argv[4] = make_u32(r->env, taken);
	call_js(r, 5, argv);
}

static void flush(struct reader *r)
{
	uint32_t count = r->count, taken = r->taken;
	size_t len = r->len;

	if (taken == 0)
		return;
	r->count = 0;
	r->taken = 0;
	r->len = 0;
	deliver(r, count, taken, len, 0, NULL);
}

/* A record larger than the whole batch goes alone, in a buffer of its own. */
static void deliver_alone(struct reader *r, const void *data, size_t size, uint32_t cpu)
{
	napi_value ab;
	void *dst;
	size_t need = RECORD_HDR + ROUND8(size);

	if (napi_create_arraybuffer(r->env, need, &dst, &ab) != napi_ok)
		return;
	((uint32_t *)dst)[0] = (uint32_t)size;
	((uint32_t *)dst)[1] = cpu;
	memcpy((uint8_t *)dst + RECORD_HDR, data, size);
	r->index[0] = RECORD_HDR;
	r->index[1] = (uint32_t)size;
	r->ordinals[0] = 0;
	deliver(r, 1, 1, need, 0, ab);
}

static void append(struct reader *r, const void *data, size_t size, uint32_t cpu)
{
	size_t need = RECORD_HDR + ROUND8(size);

	r->records++;
	if (need > r->cap || r->len + need > r->cap || r->count == r->max_per_wakeup)
		flush(r);
	/* Tested after the flush, whose delivery may have changed the program: the record goes by the one in force. */
	if (r->selecting && !program_passes(&r->prog, data, (uint32_t)size)) {
		if (++r->taken == UINT32_MAX)
			flush(r);
		return;
	}
	if (need > r->cap) {
		deliver_alone(r, data, size, cpu);
		return;
	}
	((uint32_t *)(r->batch + r->len))[0] = (uint32_t)size;
	((uint32_t *)(r->batch + r->len))[1] = cpu;
	memcpy(r->batch + r->len + RECORD_HDR, data, size);
	r->index[2 * r->count] = (uint32_t)(r->len + RECORD_HDR);
	r->index[2 * r->count + 1] = (uint32_t)size;
	r->ordinals[r->count] = r->taken;
	r->len += need;
	r->count++;
	r->taken++;
}

static void perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	struct reader *r = ctx;

	if (!r->closing)
		append(r, data, size, (uint32_t)cpu);
}

static void perf_lost(void *ctx, int cpu, __u64 cnt)
{
	(void)cpu;
	((struct reader *)ctx)->lost += cnt;
}

/* Lets go of the ArrayBuffer JavaScript reads. A ring's data area is
 * detached first (views of it become empty), so its mapping, and with it the
 * ring map, goes now, not when a garbage collection finds the buffer; from a
 * finalizer (`detach` false) it is only let go. */
static void drop_batch(struct reader *r, bool detach)
{
	napi_value ab;

	if (!r->batch_ref)
		return;
	if (detach && r->data && napi_get_reference_value(r->env, r->batch_ref, &ab) == napi_ok && ab)
		napi_detach_arraybuffer(r->env, ab);
	napi_delete_reference(r->env, r->batch_ref);
	r->batch_ref = NULL;
	r->data = NULL;
	if (r->index_ref)
		napi_delete_reference(r->env, r->index_ref);
	r->index_ref = NULL;
	r->index = NULL;
	r->ordinals = NULL;
}

/* Hands JavaScript the committed ring records (at most max_per_wakeup) in
 * place, then releases them to the producer. Returns the records delivered. */
static uint32_t ring_take(struct reader *r)
{
	unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	unsigned long pos = cons;
	uint32_t count = 0, taken = 0;

	size_t start = cons & r->mask;

	while (pos < prod && taken < r->max_per_wakeup) {
		uint32_t hdr = __atomic_load_n((const uint32_t *)(r->data + (pos & r->mask)), __ATOMIC_ACQUIRE);
		uint32_t size = hdr & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

		if (hdr & BPF_RINGBUF_BUSY_BIT)
			break; /* reserved, not yet committed: the rest waits */
		if (!(hdr & BPF_RINGBUF_DISCARD_BIT)) {
			/* Offsets run on from the span's start: the data is mapped twice, so none wraps. */
			size_t at = start + (pos - cons) + BPF_RINGBUF_HDR_SZ;

			if (!r->selecting || program_passes(&r->prog, r->data + at, size)) {
				r->index[2 * count] = (uint32_t)at;
				r->index[2 * count + 1] = size;
				r->ordinals[count] = taken;
				count++;
			}
			taken++;
		}
		pos += ROUND8(size + BPF_RINGBUF_HDR_SZ);
	}
	if (pos == cons)
		return 0;
	r->records += taken;
	if (taken)
		deliver(r, count, taken, pos - cons, start, NULL);
	__atomic_store_n(r->consumer_pos, pos, __ATOMIC_RELEASE);
	return count;
}

/* Takes what is there (up to the per-wakeup bound for rings) and delivers it. */
static uint64_t consume(struct reader *r)
{
	uint64_t before = r->records;

	if (r->consuming || r->closing || r->released)
		return 0;
	r->consuming = true;
	r->wakeups++;
	if (r->pb) {
		perf_buffer__consume(r->pb);
		flush(r);
	} else {
		ring_take(r);
	}
	r->consuming = false;
	if (r->closing)
		drop_batch(r, true);
	return r->records - before;
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
	struct reader *r = handle->data;
	napi_handle_scope scope;

	(void)status;
	(void)events;
	if (napi_open_handle_scope(r->env, &scope) != napi_ok)
		return;
	consume(r);
	napi_close_handle_scope(r->env, scope);
}

/* Unmaps the consumer page and closes our fd; the data area goes with its
 * ArrayBuffer (drop_batch). */
static void release_ring(struct reader *r)
{
	if (r->consumer_pos)
		munmap(r->consumer_pos, (size_t)sysconf(_SC_PAGESIZE));
	r->consumer_pos = NULL;
	if (r->ring_fd >= 0)
		close(r->ring_fd);
	r->ring_fd = -1;
}

static void on_closed(uv_handle_t *handle)
{
	struct reader *r = handle->data;

	perf_buffer__free(r->pb);
	r->pb = NULL;
	release_ring(r);
	program_free(&r->prog);
	r->selecting = false;
	r->released = true;
	if (r->finalized)
		free(r);
}

/* Stops polling and drops the JavaScript references; buffers are freed in
 * the uv_close callback, once libuv is done with the handle. Inside a
 * consume, the batch goes when the consume returns (JavaScript may still be
 * reading it). */
static void begin_close(struct reader *r, bool detach)
{
	if (r->closing)
		return;
	r->closing = true;
	uv_poll_stop(&r->poll);
	uv_close((uv_handle_t *)&r->poll, on_closed);
	napi_delete_reference(r->env, r->on_batch);
	napi_delete_reference(r->env, r->receiver);
	if (!r->consuming)
		drop_batch(r, detach);
	napi_async_destroy(r->env, r->actx);
}

static void reader_finalize(napi_env env, void *data, void *hint)
{
	struct reader *r = data;

	(void)env;
	(void)hint;
	r->finalized = true;
	if (!r->closing)
		begin_close(r, false);
	else if (r->released)
		free(r);
}

static void unmap_finalize(napi_env env, void *data, void *hint)
{
	struct mapping *m = hint;

	(void)env;
	(void)data;
	munmap(m->addr, m->len);
	free(m);
}

/* Maps the ring of `map_fd` as libbpf does and returns its data area as an
 * ArrayBuffer (NULL and a pending exception on failure). */
static napi_value ring_open(napi_env env, struct reader *r, int map_fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size;
	struct mapping *m;
	napi_value ab;
	void *prod;

	memset(&info, 0, sizeof(info));
	if (bpf_map_get_info_by_fd(map_fd, &info, &len))
		return throw_errno(env, errno, "bpf_map_get_info_by_fd");
	if (info.type != BPF_MAP_TYPE_RINGBUF)
		return throw_errno(env, EINVAL, "readerOpen: not a ring buffer map");
	size = info.max_entries;
	r->ring_fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 0);
	if (r->ring_fd < 0)
		return throw_errno(env, errno, "dup");
	r->consumer_pos = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, r->ring_fd, 0);
	if (r->consumer_pos == MAP_FAILED) {
		r->consumer_pos = NULL;
		return throw_errno(env, errno, "mmap(ringbuf consumer page)");
	}
	prod = mmap(NULL, page + 2 * size, PROT_READ, MAP_SHARED, r->ring_fd, (off_t)page);
	if (prod == MAP_FAILED)
		return throw_errno(env, errno, "mmap(ringbuf data)");
	m = malloc(sizeof(*m));
	if (!m) {
		munmap(prod, page + 2 * size);
		return throw_errno(env, ENOMEM, "readerOpen");
	}
	m->addr = prod;
	m->len = page + 2 * size;
	if (napi_create_external_arraybuffer(env, (uint8_t *)prod + page, 2 * size, unmap_finalize, m, &ab) != napi_ok) {
		munmap(prod, page + 2 * size);
		free(m);
		throw_napi_failure(env);
		return NULL;
	}
	r->producer_pos = prod;
	r->data = (const uint8_t *)prod + page;
	r->mask = size - 1;
	return ab;
}

/* readerOpen(mapFd, perf: boolean, {batchBytes, maxPerWakeup, perfPages} (all required:
 * TypeScript decides them), onBatch)
 *   -> {reader, batch: ArrayBuffer, index: ArrayBuffer}: the ring's data area, or the perf batch
 *      buffer; and the index of each delivery's records: 2 * maxPerWakeup words of (offset, size),
 *      then maxPerWakeup words of their numbers among the records taken. */
static napi_value reader_open(napi_env env, napi_callback_info info)
{
	napi_value argv[4], v, result, external, batch, index, receiver, name;
	uv_loop_t *loop;
	struct reader *r;
	int32_t map_fd;
	uint32_t batch_bytes, max_per_wakeup, perf_pages;
	bool perf;
	napi_valuetype t;
	int err, efd;

	if (!get_args(env, info, 4, argv) || !arg_i32(env, argv[0], &map_fd, "mapFd") ||
	    !arg_bool(env, argv[1], &perf, "perf"))
		return NULL;
	if (!get_named(env, argv[2], "batchBytes", &v) || !arg_u32(env, v, &batch_bytes, "batchBytes") ||
	    !get_named(env, argv[2], "maxPerWakeup", &v) || !arg_u32(env, v, &max_per_wakeup, "maxPerWakeup") ||
	    !get_named(env, argv[2], "perfPages", &v) || !arg_u32(env, v, &perf_pages, "perfPages"))
		return throw_type_error_unless_pending(env, "readerOpen needs batchBytes, maxPerWakeup and perfPages");
	if (napi_typeof(env, argv[3], &t) != napi_ok || t != napi_function)
		return throw_type_error(env, "onBatch must be a function");
	if (batch_bytes < 4096 || max_per_wakeup == 0 || max_per_wakeup > (1u << 24) || perf_pages == 0 ||
	    (perf_pages & (perf_pages - 1)))
		return throw_type_error(env, "batchBytes >= 4096, maxPerWakeup in 1..2^24, perfPages a power of two");

	r = calloc(1, sizeof(*r));
	if (!r)
		return throw_errno(env, ENOMEM, "readerOpen");
	r->magic = MAGIC_READER;
	r->env = env;
	r->cap = batch_bytes;
	r->max_per_wakeup = max_per_wakeup;
	r->ring_fd = -1;
	if (perf) {
		r->pb = perf_buffer__new(map_fd, perf_pages, perf_sample, perf_lost, r, NULL);
		if (!r->pb) {
			err = errno;
			free(r);
			return throw_errno(env, err, "perf_buffer__new");
		}
		efd = perf_buffer__epoll_fd(r->pb);
		if (napi_create_arraybuffer(env, batch_bytes, (void **)&r->batch, &batch) != napi_ok) {
			perf_buffer__free(r->pb);
			free(r);
			throw_napi_failure(env);
			return NULL;
		}
	} else {
		batch = ring_open(env, r, map_fd);
		efd = r->ring_fd;
		if (!batch) {
			release_ring(r);
			free(r);
			return NULL;
		}
		/* A ring holds at most one record per 8 bytes (a header): no wakeup takes more. */
		if ((r->mask + 1) / BPF_RINGBUF_HDR_SZ < r->max_per_wakeup)
			r->max_per_wakeup = (uint32_t)((r->mask + 1) / BPF_RINGBUF_HDR_SZ);
	}
	if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &r->poll, efd) != 0) {
		perf_buffer__free(r->pb);
		release_ring(r);
		free(r);
		return throw_errno(env, EIO, "uv_poll_init");
	}
	r->poll.data = r;
	if (napi_create_arraybuffer(env, (size_t)max_per_wakeup * 3 * sizeof(uint32_t), (void **)&r->index, &index) != napi_ok) {
		perf_buffer__free(r->pb);
		release_ring(r);
		free(r);
		throw_napi_failure(env);
		return NULL;
	}
	r->ordinals = r->index + 2 * (size_t)max_per_wakeup;
	NAPI_TRY(env, napi_create_reference(env, batch, 1, &r->batch_ref));
	NAPI_TRY(env, napi_create_reference(env, index, 1, &r->index_ref));
	NAPI_TRY(env, napi_create_reference(env, argv[3], 1, &r->on_batch));
	receiver = make_object(env);
	NAPI_TRY(env, napi_create_reference(env, receiver, 1, &r->receiver));
	name = make_str(env, "ebpf-mcp:reader");
	NAPI_TRY(env, napi_async_init(env, NULL, name, &r->actx));
	NAPI_TRY(env, napi_create_external(env, r, reader_finalize, NULL, &external));
	uv_poll_start(&r->poll, UV_READABLE, on_poll);

	result = make_object(env);
	set_val(env, result, "reader", external);
	set_val(env, result, "batch", batch);
	set_val(env, result, "index", index);
	return result;
}

static struct reader *reader_arg(napi_env env, napi_value v)
{
	return arg_handle(env, v, MAGIC_READER, "reader");
}

/* readerConsume(reader) -> records delivered now (synchronously, through onBatch). */
static napi_value reader_consume(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct reader *r;

	if (!get_args(env, info, 1, argv) || !(r = reader_arg(env, argv[0])))
		return NULL;
	if (r->consuming)
		return throw_errno(env, EBUSY, "readerConsume: already consuming");
	return make_u32(env, (uint32_t)consume(r));
}

/* readerStats(reader) -> {records, lost, wakeups, closed, consumerPos, producerPos, ringBytes}: the
 * positions and data size of a ring (0 for a perf buffer), so a stream can tell the records already
 * waiting when it began from those written later. */
static napi_value reader_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], s;
	struct reader *r;
	bool ring;

	if (!get_args(env, info, 1, argv) || !(r = reader_arg(env, argv[0])))
		return NULL;
	s = make_object(env);
	set_val(env, s, "records", make_u64(env, r->records));
	set_val(env, s, "lost", make_u64(env, r->lost));
	set_val(env, s, "wakeups", make_u64(env, r->wakeups));
	set_bool(env, s, "closed", r->closing);
	/* The data mapping may go with its ArrayBuffer once closing: positions only before. */
	ring = r->consumer_pos && r->producer_pos && !r->closing;
	set_val(env, s, "consumerPos", make_u64(env, ring ? __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE) : 0));
	set_val(env, s, "producerPos", make_u64(env, ring ? __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE) : 0));
	set_val(env, s, "ringBytes", make_u64(env, ring ? r->mask + 1 : 0));
	return s;
}

/* readerSelect(reader, program | null): from the next record taken, deliver only the records that
 * pass the program (a Uint32Array, program.h), or every record (null). */
static napi_value reader_select(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct reader *r;
	struct program next;
	uint32_t *words;
	size_t n;

	if (!get_args(env, info, 2, argv) || !(r = reader_arg(env, argv[0])))
		return NULL;
	if (r->closing)
		return throw_errno(env, EBADF, "readerSelect: the reader is closed");
	if (is_nullish(env, argv[1])) {
		program_free(&r->prog);
		r->selecting = false;
		return undefined(env);
	}
	if (!arg_u32_array(env, argv[1], &words, &n, "program: a Uint32Array or null"))
		return NULL;
	if (!program_parse(words, n, &next))
		return throw_type_error(env, "readerSelect: not a program");
	program_free(&r->prog);
	r->prog = next;
	r->selecting = true;
	return undefined(env);
}

/* readerClose(reader): stop reading; memory is freed once libuv lets go. Idempotent. */
static napi_value reader_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct reader *r;

	if (!get_args(env, info, 1, argv) || !(r = reader_arg(env, argv[0])))
		return NULL;
	begin_close(r, true);
	return undefined(env);
}

napi_value init_reader(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "readerOpen", reader_open },
		{ "readerConsume", reader_consume },
		{ "readerStats", reader_stats },
		{ "readerSelect", reader_select },
		{ "readerClose", reader_close },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
