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
        "native/src/prog.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror=implicit-function-declaration", "<!@(pkg-config --cflags libbpf)"],
      "libraries": ["<!@(pkg-config --libs libbpf)"]
    }
  ]
}
