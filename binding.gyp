{
  "targets": [
    {
      "target_name": "sluice_udp",
      "sources": ["native/udp_recv.c"],
      "cflags": ["-O2", "-Wall"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    },
    {
      "target_name": "sluice_seal",
      "sources": ["native/seal_hash.c"],
      "cflags": ["-O2", "-Wall", "-Wno-deprecated-declarations"]
    }
  ]
}
