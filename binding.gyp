{
  "targets": [
    {
      "target_name": "flowlens_native",
      "sources": [
        "src/native/addon.c",
        "src/native/util.c",
        "src/native/object.c",
        "src/native/maps.c",
        "src/native/programs.c",
        "src/native/tc.c",
        "src/native/ringbuf.c",
        "src/native/reader.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Wno-missing-field-initializers",
        "<!@(pkg-config --cflags libbpf)"
      ],
      "libraries": [
        "<!@(pkg-config --libs libbpf)",
        "-lelf",
        "-lz"
      ]
    }
  ]
}
