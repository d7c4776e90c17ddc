/* Shared helpers for the native addon (see common.h). */
#define _GNU_SOURCE
#include "common.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool exception_pending(napi_env env)
{
	bool pending = false;

	napi_is_exception_pending(env, &pending);
	return pending;
}

void throw_napi_failure(napi_env env)
{
	const napi_extended_error_info *info = NULL;

	if (exception_pending(env))
		return;
	napi_get_last_error_info(env, &info);
	napi_throw_error(env, "ENATIVE",
			 info && info->error_message ? info->error_message : "N-API call failed");
}

/* Symbolic names of libbpf's own error numbers (enum libbpf_errno). */
static const char *const libbpf_errno_names[] = {
	"LIBBPF_ELF", "LIBBPF_FORMAT", "LIBBPF_KVERSION", "LIBBPF_ENDIAN", "LIBBPF_INTERNAL",
	"LIBBPF_RELOC", "LIBBPF_LOAD", "LIBBPF_VERIFY", "LIBBPF_PROG2BIG", "LIBBPF_KVER",
	"LIBBPF_PROGTYPE", "LIBBPF_WRNGPID", "LIBBPF_INVSEQ", "LIBBPF_NLPARSE",
};

/* Throw an Error carrying errno, its symbolic code, the operation and what
 * libbpf said while doing it, so TypeScript can map it to a typed error. */
napi_value throw_errno(napi_env env, int err, const char *op)
{
	char msg[512], reason[256];
	const char *name;
	napi_value error, text, code;
	size_t nlib = sizeof(libbpf_errno_names) / sizeof(libbpf_errno_names[0]);

	if (err < 0)
		err = -err;
	if (err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__START + (int)nlib) {
		name = libbpf_errno_names[err - __LIBBPF_ERRNO__START];
		libbpf_strerror(err, reason, sizeof(reason));
	} else {
		/* ENOTSUPP (524) is kernel-internal, so libc has no name for it. */
		name = err == 524 ? "ENOTSUPP" : strerrorname_np(err);
		snprintf(reason, sizeof(reason), "%s", strerror(err));
	}
	snprintf(msg, sizeof(msg), "%s: %s", op, reason);
	napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
	napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
	napi_create_error(env, code, text, &error);
	set_i32(env, error, "errno", err);
	set_str(env, error, "op", op);
	set_str(env, error, "libbpfLog", libbpf_capture_text());
	napi_throw(env, error);
	return NULL;
}

napi_value throw_type_error(napi_env env, const char *msg)
{
	napi_throw_type_error(env, "EINVAL", msg);
	return NULL;
}

/* A TypeError with `msg`, unless an earlier check already left an exception pending. */
napi_value throw_type_error_unless_pending(napi_env env, const char *msg)
{
	return exception_pending(env) ? NULL : throw_type_error(env, msg);
}

/* Fetch exactly `want` arguments (missing ones are undefined). */
napi_value *get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	size_t argc = want;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
		throw_napi_failure(env);
		return NULL;
	}
	return argv;
}

static bool type_error_for(napi_env env, const char *what, const char *expected)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s must be %s", what, expected);
	napi_throw_type_error(env, "EINVAL", msg);
	return false;
}

bool arg_u32(napi_env env, napi_value v, uint32_t *out, const char *what)
{
	napi_valuetype t;
	double d;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number)
		return type_error_for(env, what, "a number");
	napi_get_value_double(env, v, &d);
	if (d < 0 || d > UINT32_MAX || d != (double)(uint32_t)d)
		return type_error_for(env, what, "an unsigned 32-bit integer");
	*out = (uint32_t)d;
	return true;
}

bool arg_i32(napi_env env, napi_value v, int32_t *out, const char *what)
{
	napi_valuetype t;
	double d;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number)
		return type_error_for(env, what, "a number");
	napi_get_value_double(env, v, &d);
	if (d < INT32_MIN || d > INT32_MAX || d != (double)(int32_t)d)
		return type_error_for(env, what, "a signed 32-bit integer");
	*out = (int32_t)d;
	return true;
}

bool arg_bool(napi_env env, napi_value v, bool *out, const char *what)
{
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean)
		return type_error_for(env, what, "a boolean");
	napi_get_value_bool(env, v, out);
	return true;
}

/* A malloc'd NUL-terminated copy of a JS string (NULL and a pending
 * exception on failure). Embedded NULs are refused. */
char *arg_string(napi_env env, napi_value v, const char *what)
{
	napi_valuetype t;
	size_t len = 0;
	char *s;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
		type_error_for(env, what, "a string");
		return NULL;
	}
	napi_get_value_string_utf8(env, v, NULL, 0, &len);
	s = malloc(len + 1);
	if (!s) {
		throw_errno(env, ENOMEM, what);
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	if (strlen(s) != len) {
		free(s);
		type_error_for(env, what, "a string without NUL bytes");
		return NULL;
	}
	return s;
}

char *arg_string_or_null(napi_env env, napi_value v, bool *is_null, const char *what)
{
	*is_null = is_nullish(env, v);
	if (*is_null)
		return NULL;
	return arg_string(env, v, what);
}

bool arg_bytes(napi_env env, napi_value v, void **data, size_t *len, const char *what)
{
	bool is_typed = false;
	napi_typedarray_type type;
	napi_value ab;
	size_t offset;

	napi_is_typedarray(env, v, &is_typed);
	if (!is_typed)
		return type_error_for(env, what, "a Uint8Array");
	if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) != napi_ok ||
	    type != napi_uint8_array)
		return type_error_for(env, what, "a Uint8Array");
	return true;
}

bool arg_u32_array(napi_env env, napi_value v, uint32_t **data, size_t *len, const char *what)
{
	napi_typedarray_type type;
	napi_value ab;
	size_t offset;
	bool is_typed = false;
	void *p;

	napi_is_typedarray(env, v, &is_typed);
	if (!is_typed || napi_get_typedarray_info(env, v, &type, len, &p, &ab, &offset) != napi_ok || type != napi_uint32_array) {
		throw_type_error(env, what);
		return false;
	}
	*data = p;
	return true;
}

void *arg_handle(napi_env env, napi_value v, uint32_t magic, const char *what)
{
	napi_valuetype t;
	void *p = NULL;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) {
		type_error_for(env, what, "a native handle");
		return NULL;
	}
	napi_get_value_external(env, v, &p);
	if (!p || *(uint32_t *)p != magic) {
		type_error_for(env, what, "a native handle of the right kind");
		return NULL;
	}
	return p;
}

bool is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok)
		return true;
	return t == napi_undefined || t == napi_null;
}

/* Read property `name`; false when the object lacks it or it is nullish. */
bool get_named(napi_env env, napi_value obj, const char *name, napi_value *out)
{
	bool has = false;

	if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has)
		return false;
	if (napi_get_named_property(env, obj, name, out) != napi_ok)
		return false;
	return !is_nullish(env, *out);
}

napi_value make_u32(napi_env env, uint32_t v)
{
	napi_value r;
	napi_create_uint32(env, v, &r);
	return r;
}

napi_value make_i32(napi_env env, int32_t v)
{
	napi_value r;
	napi_create_int32(env, v, &r);
	return r;
}

/* 64-bit counters go out as BigInt: no rounding past 2^53. */
napi_value make_u64(napi_env env, uint64_t v)
{
	napi_value r;
	napi_create_bigint_uint64(env, v, &r);
	return r;
}

napi_value make_bool(napi_env env, bool v)
{
	napi_value r;
	napi_get_boolean(env, v, &r);
	return r;
}

napi_value make_str(napi_env env, const char *s)
{
	napi_value r;
	napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &r);
	return r;
}

napi_value make_strn(napi_env env, const char *s, size_t n)
{
	napi_value r;
	napi_create_string_utf8(env, s, strnlen(s, n), &r);
	return r;
}

napi_value make_buffer(napi_env env, const void *data, size_t len)
{
	napi_value r;
	void *dst = NULL;

	napi_create_buffer_copy(env, len, data, &dst, &r);
	return r;
}

napi_value make_object(napi_env env)
{
	napi_value r;
	napi_create_object(env, &r);
	return r;
}

void *set_column(napi_env env, napi_value obj, const char *key, napi_typedarray_type type, size_t n)
{
	size_t size = type == napi_biguint64_array ? 8 : type == napi_uint32_array ? 4 : 1;
	napi_value ab, arr;
	void *data = NULL;

	if (napi_create_arraybuffer(env, n * size, &data, &ab) != napi_ok || napi_create_typedarray(env, type, n, ab, 0, &arr) != napi_ok) {
		throw_napi_failure(env);
		return NULL;
	}
	set_val(env, obj, key, arr);
	return data;
}

napi_value make_array(napi_env env)
{
	napi_value r;
	napi_create_array(env, &r);
	return r;
}

napi_value undefined(napi_env env)
{
	napi_value r;
	napi_get_undefined(env, &r);
	return r;
}

void set_val(napi_env env, napi_value obj, const char *k, napi_value v)
{
	napi_set_named_property(env, obj, k, v);
}

void set_u32(napi_env env, napi_value obj, const char *k, uint32_t v) { set_val(env, obj, k, make_u32(env, v)); }
void set_i32(napi_env env, napi_value obj, const char *k, int32_t v) { set_val(env, obj, k, make_i32(env, v)); }
void set_u64(napi_env env, napi_value obj, const char *k, uint64_t v) { set_val(env, obj, k, make_u64(env, v)); }
void set_bool(napi_env env, napi_value obj, const char *k, bool v) { set_val(env, obj, k, make_bool(env, v)); }
void set_str(napi_env env, napi_value obj, const char *k, const char *v) { set_val(env, obj, k, make_str(env, v)); }

void push(napi_env env, napi_value arr, napi_value v)
{
	uint32_t len = 0;

	napi_get_array_length(env, arr, &len);
	napi_set_element(env, arr, len, v);
}

/* libbpf reports through one process-wide print callback. JavaScript calls
 * into libbpf one at a time on the main thread, so a single buffer, reset
 * before each exported call (export_all), holds exactly what libbpf said
 * during that call. */
#define CAPTURE_MARK "\n[libbpf output truncated]\n"
#define CAPTURE_ROOM 32768
static char capture_buf[CAPTURE_ROOM + sizeof(CAPTURE_MARK)];
static size_t capture_len;
static bool capture_truncated;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	size_t room = CAPTURE_ROOM - capture_len;
	int n;

	if (level == LIBBPF_DEBUG || capture_truncated)
		return 0;
	n = vsnprintf(capture_buf + capture_len, room, fmt, args);
	if (n < 0)
		return 0;
	if ((size_t)n >= room) {
		capture_len = CAPTURE_ROOM - 1;
		capture_truncated = true;
		strcpy(capture_buf + capture_len, CAPTURE_MARK);
	} else {
		capture_len += (size_t)n;
	}
	return 0;
}

void libbpf_capture_install(void)
{
	libbpf_set_print(capture_print);
}

static void libbpf_capture_reset(void)
{
	capture_len = 0;
	capture_truncated = false;
	capture_buf[0] = '\0';
}

const char *libbpf_capture_text(void)
{
	return capture_buf;
}

/* Every exported function runs through here: each call starts from a clean
 * libbpf capture, so an error carries what libbpf said during that call and
 * nothing from an earlier one. */
static napi_value call_with_clean_capture(napi_env env, napi_callback_info info)
{
	void *fn = NULL;

	if (napi_get_cb_info(env, info, NULL, NULL, NULL, &fn) != napi_ok || !fn) {
		throw_napi_failure(env);
		return NULL;
	}
	libbpf_capture_reset();
	return ((napi_callback)fn)(env, info);
}

void export_all(napi_env env, napi_value exports, const struct export_fn *fns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		napi_value f;

		napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, call_with_clean_capture,
				     (void *)fns[i].fn, &f);
		napi_set_named_property(env, exports, fns[i].name, f);
	}
}
