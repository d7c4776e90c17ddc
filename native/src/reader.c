/* Ring buffer and perf buffer readers driven by libuv. libbpf's epoll fd is
 * watched with uv_poll; on each wakeup records are copied into one reused
 * batch buffer (an ArrayBuffer JavaScript holds) and handed over a batch per
 * call. A wakeup takes at most max_per_wakeup ring records, so a flooding
 * producer cannot starve the event loop; what is left is taken next turn.
 *
 * Batch layout, per record: u32 size, u32 cpu (0xffffffff for ring buffers),
 * then size bytes of data, padded to 8 bytes. */
#include "common.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define RECORD_HDR 8u
#define NO_CPU 0xffffffffu
#define ROUND8(n) (((n) + 7u) & ~(size_t)7u)

struct reader {
	uint32_t magic; /* MAGIC_READER */
	napi_env env;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	uv_poll_t poll;
	napi_ref on_batch;  /* function(count, bytes, buffer?) */
	napi_ref receiver;  /* napi_make_callback needs an object receiver */
	napi_ref batch_ref; /* the ArrayBuffer `batch` points into */
	napi_async_context actx;
	uint8_t *batch;
	size_t cap, len;
	uint32_t count;
	uint32_t max_per_wakeup, taken;
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

static void flush(struct reader *r)
{
	napi_value argv[2];

	if (r->count == 0)
		return;
	argv[0] = make_u32(r->env, r->count);
	argv[1] = make_u32(r->env, (uint32_t)r->len);
	r->count = 0;
	r->len = 0;
	call_js(r, 2, argv);
}

/* A record larger than the whole batch goes alone, in a buffer of its own. */
static void deliver_alone(struct reader *r, const void *data, size_t size, uint32_t cpu)
{
	napi_value argv[3];
	void *dst;
	size_t need = RECORD_HDR + ROUND8(size);

	if (napi_create_arraybuffer(r->env, need, &dst, &argv[2]) != napi_ok)
		return;
	((uint32_t *)dst)[0] = (uint32_t)size;
	((uint32_t *)dst)[1] = cpu;
	memcpy((uint8_t *)dst + RECORD_HDR, data, size);
	argv[0] = make_u32(r->env, 1);
	argv[1] = make_u32(r->env, (uint32_t)need);
	call_js(r, 3, argv);
}

static void append(struct reader *r, const void *data, size_t size, uint32_t cpu)
{
	size_t need = RECORD_HDR + ROUND8(size);

	r->records++;
	if (need > r->cap) {
		flush(r);
		deliver_alone(r, data, size, cpu);
		return;
	}
	if (r->len + need > r->cap)
		flush(r);
	((uint32_t *)(r->batch + r->len))[0] = (uint32_t)size;
	((uint32_t *)(r->batch + r->len))[1] = cpu;
	memcpy(r->batch + r->len + RECORD_HDR, data, size);
	r->len += need;
	r->count++;
}

static int ring_sample(void *ctx, void *data, size_t size)
{
	struct reader *r = ctx;

	if (r->closing)
		return -ECANCELED;
	append(r, data, size, NO_CPU);
	/* libbpf has already consumed this record; a negative return stops here. */
	return ++r->taken >= r->max_per_wakeup ? -EAGAIN : 0;
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

/* Takes what is there (up to the per-wakeup bound for rings) and delivers it. */
static uint64_t consume(struct reader *r)
{
	uint64_t before = r->records;

	if (r->consuming || r->closing || r->released)
		return 0;
	r->consuming = true;
	r->taken = 0;
	r->wakeups++;
	if (r->rb)
		ring_buffer__consume(r->rb);
	else
		perf_buffer__consume(r->pb);
	r->consuming = false;
	flush(r);
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

static void on_closed(uv_handle_t *handle)
{
	struct reader *r = handle->data;

	ring_buffer__free(r->rb);
	perf_buffer__free(r->pb);
	r->rb = NULL;
	r->pb = NULL;
	r->released = true;
	if (r->finalized)
		free(r);
}

/* Stops polling and drops the JavaScript references; buffers are freed in
 * the uv_close callback, once libuv is done with the handle. */
static void begin_close(struct reader *r)
{
	if (r->closing)
		return;
	r->closing = true;
	uv_poll_stop(&r->poll);
	uv_close((uv_handle_t *)&r->poll, on_closed);
	napi_delete_reference(r->env, r->on_batch);
	napi_delete_reference(r->env, r->receiver);
	napi_delete_reference(r->env, r->batch_ref);
	napi_async_destroy(r->env, r->actx);
}

static void reader_finalize(napi_env env, void *data, void *hint)
{
	struct reader *r = data;

	(void)env;
	(void)hint;
	r->finalized = true;
	if (!r->closing)
		begin_close(r);
	else if (r->released)
		free(r);
}

/* readerOpen(mapFd, perf: boolean, {batchBytes, maxPerWakeup, perfPages}, onBatch)
 *   -> {reader, batch: ArrayBuffer} */
static napi_value reader_open(napi_env env, napi_callback_info info)
{
	napi_value argv[4], v, result, external, batch, receiver, name;
	uv_loop_t *loop;
	struct reader *r;
	int32_t map_fd;
	uint32_t batch_bytes = 1u << 20, max_per_wakeup = 65536, perf_pages = 64;
	bool perf;
	napi_valuetype t;
	int err, efd;

	if (!get_args(env, info, 4, argv) || !arg_i32(env, argv[0], &map_fd, "mapFd") ||
	    !arg_bool(env, argv[1], &perf, "perf"))
		return NULL;
	if ((get_named(env, argv[2], "batchBytes", &v) && !arg_u32(env, v, &batch_bytes, "batchBytes")) ||
	    (get_named(env, argv[2], "maxPerWakeup", &v) && !arg_u32(env, v, &max_per_wakeup, "maxPerWakeup")) ||
	    (get_named(env, argv[2], "perfPages", &v) && !arg_u32(env, v, &perf_pages, "perfPages")))
		return NULL;
	if (napi_typeof(env, argv[3], &t) != napi_ok || t != napi_function)
		return throw_type_error(env, "onBatch must be a function");
	if (batch_bytes < 4096 || max_per_wakeup == 0 || perf_pages == 0 || (perf_pages & (perf_pages - 1)))
		return throw_type_error(env, "batchBytes >= 4096, maxPerWakeup >= 1, perfPages a power of two");

	r = calloc(1, sizeof(*r));
	if (!r)
		return throw_errno(env, ENOMEM, "readerOpen");
	r->magic = MAGIC_READER;
	r->env = env;
	r->cap = batch_bytes;
	r->max_per_wakeup = max_per_wakeup;
	libbpf_capture_reset();
	if (perf)
		r->pb = perf_buffer__new(map_fd, perf_pages, perf_sample, perf_lost, r, NULL);
	else
		r->rb = ring_buffer__new(map_fd, ring_sample, r, NULL);
	if (!r->rb && !r->pb) {
		err = errno;
		free(r);
		return throw_errno(env, err, perf ? "perf_buffer__new" : "ring_buffer__new");
	}
	efd = r->rb ? ring_buffer__epoll_fd(r->rb) : perf_buffer__epoll_fd(r->pb);
	if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &r->poll, efd) != 0) {
		ring_buffer__free(r->rb);
		perf_buffer__free(r->pb);
		free(r);
		return throw_errno(env, EIO, "uv_poll_init");
	}
	r->poll.data = r;
	NAPI_TRY(env, napi_create_arraybuffer(env, batch_bytes, (void **)&r->batch, &batch));
	NAPI_TRY(env, napi_create_reference(env, batch, 1, &r->batch_ref));
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

/* readerStats(reader) -> {records, lost, wakeups, closed} */
static napi_value reader_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], s;
	struct reader *r;

	if (!get_args(env, info, 1, argv) || !(r = reader_arg(env, argv[0])))
		return NULL;
	s = make_object(env);
	set_val(env, s, "records", make_u64(env, r->records));
	set_val(env, s, "lost", make_u64(env, r->lost));
	set_val(env, s, "wakeups", make_u64(env, r->wakeups));
	set_bool(env, s, "closed", r->closing);
	return s;
}

/* readerClose(reader): stop reading; memory is freed once libuv lets go. Idempotent. */
static napi_value reader_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct reader *r;

	if (!get_args(env, info, 1, argv) || !(r = reader_arg(env, argv[0])))
		return NULL;
	begin_close(r);
	return undefined(env);
}

napi_value init_reader(napi_env env, napi_value exports)
{
	static const struct export_fn fns[] = {
		{ "readerOpen", reader_open },
		{ "readerConsume", reader_consume },
		{ "readerStats", reader_stats },
		{ "readerClose", reader_close },
	};

	export_all(env, exports, fns, sizeof(fns) / sizeof(fns[0]));
	return exports;
}
