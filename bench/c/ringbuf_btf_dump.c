/* The C anchor of the typed decoding benchmark: renders every record of the
 * ring as its BTF type (struct event) with libbpf's btf_dump__dump_type_data,
 * the C way to print typed data (bpftool map dump uses it), into a buffer in
 * memory, not to a terminal (ring_bench.h fills and times). Prints the bytes
 * rendered with each round.
 *
 * usage: ringbuf_btf_dump OBJECT COUNT [ROUNDS] */
#include "ring_bench.h"
#include <stdarg.h>
#include <bpf/btf.h>

static struct btf_dump *dump;
static __s32 type_id;
static char text[4096];
static size_t text_len;
static unsigned long long seen, rendered, failed;

/* btf_dump's printf: appends to the record's text. */
static void to_text(void *ctx, const char *fmt, va_list args)
{
	int n;

	(void)ctx;
	n = vsnprintf(text + text_len, sizeof(text) - text_len, fmt, args);
	if (n > 0)
		text_len += (size_t)n < sizeof(text) - text_len ? (size_t)n : sizeof(text) - text_len - 1;
}

static int render_record(void *ctx, void *data, size_t size)
{
	LIBBPF_OPTS(btf_dump_type_data_opts, opts, .emit_zeroes = true);

	(void)ctx;
	text_len = 0;
	if (btf_dump__dump_type_data(dump, type_id, data, size, &opts) < 0)
		failed++;
	rendered += text_len;
	++seen;
	return 0;
}

static int setup(struct bpf_object *obj)
{
	struct btf *btf = bpf_object__btf(obj);

	if (!btf)
		return ring_bench_fail("ringbuf_btf_dump", "the object has no BTF", ENOENT);
	type_id = btf__find_by_name_kind(btf, "event", BTF_KIND_STRUCT);
	if (type_id < 0)
		return ring_bench_fail("ringbuf_btf_dump", "struct event", type_id);
	dump = btf_dump__new(btf, to_text, NULL, NULL);
	if (!dump)
		return ring_bench_fail("ringbuf_btf_dump", "btf_dump__new", errno);
	return 0;
}

static void begin(void)
{
	seen = rendered = failed = 0;
}

static unsigned long long get_seen(void)
{
	return seen;
}

static void report(FILE *out)
{
	fprintf(out, ", \"text_bytes\": %llu, \"failed\": %llu, \"last\": \"", rendered, failed);
	for (size_t i = 0; i < text_len; i++)
		fputs(text[i] == '\n' ? "\\n" : text[i] == '\t' ? "\\t" : text[i] == '"' ? "\\\"" : text[i] == '\\' ? "\\\\" : (char[]){ text[i], 0 }, out);
	fputc('"', out);
}

int main(int argc, char **argv)
{
	const struct ring_consumer c = { .name = "ringbuf_btf_dump", .sample = render_record, .setup = setup, .begin = begin, .seen = get_seen, .report = report };

	return ring_bench_main(argc, argv, &c);
}
