/* A program of tests on the fixed bytes of a record, as the addon runs it:
 * over a batch's index (records.c) or while a reader walks the records it
 * takes (reader.c). Groups, all of which a record must pass; a group passes
 * when one of its tests does. A test compares an integer of 1, 2, 4 or 8
 * bytes with a constant, or a char array with bytes (equal up to its first
 * NUL, or starting with them), or is constant. Which tests, TypeScript decides
 * (src/kernel/record-scan.ts).
 *
 * Layout, u32 words in native order: end (the bytes a record needs: shorter
 * ones fail), the number of groups, then per group its number of tests and
 * the tests, each TEST_WORDS words: kind, op, byte offset, size, flags,
 * operand low and high word (a scalar's 64 bits; for chars, the operand's
 * byte length, its bytes following in whole words). */
#pragma once

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum test_kind { TEST_CONST = 0, TEST_SCALAR = 1, TEST_CHARS = 2 };
enum test_op { OP_EQ = 0, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_PREFIX };

#define TEST_SIGNED 1u
#define TEST_BIG_ENDIAN 2u
#define TEST_WORDS 7u
#define MAX_TESTS 65536u

/* The id of no key (2^30 - 1: past any table's keys, and a small integer to JavaScript). */
/* A test as it runs. A scalar is read as an unsigned value of its size, its sign bit flipped when it
 * is signed (so unsigned order is the signed order), and passes when (value - lo) <= span, negated by
 * `neg`: every comparison is one range check. */
struct test {
	uint32_t kind, op, byte, size;
	bool big, neg;
	uint64_t flip, lo, span;
	uint64_t want;       /* a chars operand's length; a constant's outcome */
	const uint8_t *text; /* a chars operand */
};

struct program {
	uint32_t end;
	uint32_t ngroups;
	uint32_t *group_len; /* tests per group */
	struct test *tests;  /* all groups' tests in a row */
	uint32_t *words;     /* a copy of the program's words, which chars operands point into */
	bool one_scalar;     /* one group of one scalar test: the common where clause, run without the loops */
};

/* Parses and checks the n words of a program into p (which then owns a copy of them); false,
 * with nothing held, when they are not one. */
bool program_parse(const uint32_t *w, size_t n, struct program *p);
void program_free(struct program *p);

/* Unaligned loads in native order. */
static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static inline uint64_t load_scalar(const uint8_t *at, uint32_t size, bool big)
{
	switch (size) {
	case 1:
		return at[0];
	case 2:
		return big ? be16toh(ld16(at)) : le16toh(ld16(at));
	case 4:
		return big ? be32toh(ld32(at)) : le32toh(ld32(at));
	default:
		return big ? be64toh(ld64(at)) : le64toh(ld64(at));
	}
}

static inline bool test_passes(const struct test *t, const uint8_t *rec)
{
	if (t->kind == TEST_CONST)
		return t->want != 0;
	if (t->kind == TEST_CHARS) {
		const uint8_t *at = rec + t->byte;
		bool head = memcmp(at, t->text, t->want) == 0;

		if (t->op == OP_PREFIX)
			return head;
		head = head && (t->want == t->size || at[t->want] == 0);
		return t->op == OP_EQ ? head : !head;
	}
	return (((load_scalar(rec + t->byte, t->size, t->big) ^ t->flip) - t->lo) <= t->span) != t->neg;
}


/* Whether the record of `size` bytes at `rec` passes the program. */
static inline bool program_passes(const struct program *p, const uint8_t *rec, uint32_t size)
{
	const struct test *t = p->tests;

	if (size < p->end)
		return false;
	if (p->one_scalar)
		return (((load_scalar(rec + t->byte, t->size, t->big) ^ t->flip) - t->lo) <= t->span) != t->neg;
	for (uint32_t g = 0; g < p->ngroups; g++) {
		uint32_t len = p->group_len[g];
		bool any = false;

		for (uint32_t k = 0; k < len && !any; k++)
			any = test_passes(&t[k], rec);
		if (!any)
			return false;
		t += len;
	}
	return true;
}
