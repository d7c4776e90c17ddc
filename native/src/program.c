/* Parsing a program of record tests (program.h). */
#include "program.h"

#include <stdlib.h>

/* The words of a chars test's operand bytes, after the test's own (0 for other kinds). */
static size_t text_words(const uint32_t *test)
{
	return test[0] == TEST_CHARS ? ((size_t)test[5] + 3) / 4 : 0;
}

/* Sets a scalar test's range from its op and operand (within the field's range: the caller folds
 * operands past it into constants); a range that holds no value makes the test a constant false. */
static void as_range(struct test *t, bool is_signed)
{
	uint64_t max = t->size == 8 ? UINT64_MAX : (1ull << (8 * t->size)) - 1;
	uint64_t w;

	t->flip = is_signed ? 1ull << (8 * t->size - 1) : 0;
	w = (t->want & max) ^ t->flip;
	t->neg = t->op == OP_NE;
	switch (t->op) {
	case OP_EQ:
	case OP_NE:
		t->lo = w, t->span = 0;
		break;
	case OP_LT:
		t->lo = 0, t->span = w - 1;
		break;
	case OP_LE:
		t->lo = 0, t->span = w;
		break;
	case OP_GT:
		t->lo = w + 1, t->span = max - w - 1;
		break;
	default:
		t->lo = w, t->span = max - w;
	}
	if ((t->op == OP_LT && w == 0) || (t->op == OP_GT && w == max)) {
		t->kind = TEST_CONST;
		t->want = 0;
	}
}

bool program_parse(const uint32_t *src, size_t n, struct program *p)
{
	size_t at = 2, total = 0, g;
	uint32_t *w;

	if (n < 2 || src[1] > MAX_TESTS)
		return false;
	memset(p, 0, sizeof(*p));
	p->words = w = malloc(n * sizeof(*w));
	p->group_len = calloc(src[1] + 1, sizeof(*p->group_len));
	if (!w || !p->group_len)
		goto bad;
	memcpy(w, src, n * sizeof(*w));
	p->end = w[0];
	p->ngroups = w[1];
	/* First pass: count the tests, so one allocation holds them. */
	for (g = 0; g < p->ngroups; g++) {
		uint32_t k, len;

		if (at >= n || w[at] > MAX_TESTS)
			goto bad;
		len = p->group_len[g] = w[at++];
		for (k = 0; k < len; k++) {
			if (n - at < TEST_WORDS || text_words(&w[at]) > n - at - TEST_WORDS)
				goto bad;
			at += TEST_WORDS + text_words(&w[at]);
		}
		total += len;
		if (total > MAX_TESTS)
			goto bad;
	}
	if (at != n || !(p->tests = calloc(total + 1, sizeof(*p->tests))))
		goto bad;
	at = 2;
	total = 0;
	for (g = 0; g < p->ngroups; g++) {
		uint32_t k, len = w[at++];

		for (k = 0; k < len; k++, total++) {
			struct test *t = &p->tests[total];
			const uint32_t *x = &w[at];

			t->kind = x[0];
			t->op = x[1];
			t->byte = x[2];
			t->size = x[3];
			t->big = x[4] & TEST_BIG_ENDIAN;
			t->want = (uint64_t)x[5] | ((uint64_t)x[6] << 32);
			at += TEST_WORDS;
			switch (t->kind) {
			case TEST_CONST:
				break;
			case TEST_SCALAR:
				if ((t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8) || t->op > OP_GE)
					goto bad;
				as_range(t, x[4] & TEST_SIGNED);
				break;
			case TEST_CHARS:
				if (x[6] != 0 || t->want > t->size || (t->op != OP_EQ && t->op != OP_NE && t->op != OP_PREFIX))
					goto bad;
				t->text = (const uint8_t *)&w[at];
				at += text_words(x);
				break;
			default:
				goto bad;
			}
			/* Every byte a test reads lies within `end`, which a record is checked against. */
			if (t->kind != TEST_CONST && (t->byte > p->end || t->size > p->end - t->byte))
				goto bad;
		}
	}
	p->one_scalar = p->ngroups == 1 && p->group_len[0] == 1 && p->tests[0].kind == TEST_SCALAR;
	return true;
bad:
	program_free(p);
	return false;
}

void program_free(struct program *p)
{
	free(p->group_len);
	free(p->tests);
	free(p->words);
	memset(p, 0, sizeof(*p));
}

