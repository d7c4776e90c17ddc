{
  "targets": [
    {
      "target_name": "ebpf_native",
      "sources": [
        "native/src/addon.c",
        "native/src/common.c",
        "native/src/object.c",
        "native/src/info.c",
        "native/src/host.c",
        "native/src/attach.c",
        "native/src/map.c",
        "native/src/reader.c",
        "native/src/prog.c",
        "native/src/program.c",
        "native/src/records.c"
      ],
      "include_dirs": ["<(module_root_dir)/.deps/libbpf/include"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror=implicit-function-declaration"],
      "libraries": ["<(module_root_dir)/.deps/libbpf/lib/libbpf.a", "-lelf", "-lz"]
    }
  ]
}
