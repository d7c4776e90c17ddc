/* Entry point of the ebpf-mcp native addon: a thin N-API layer over libbpf.
 * Each concept lives in its own file; this one only wires them together. */
#include "common.h"

static napi_value init(napi_env env, napi_value exports)
{
	libbpf_capture_install();
	init_object(env, exports);
	init_info(env, exports);
	init_host(env, exports);
	init_attach(env, exports);
	init_map(env, exports);
	init_reader(env, exports);
	init_prog(env, exports);
	init_records(env, exports);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
