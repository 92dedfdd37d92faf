{
  "targets": [
    {
      "target_name": "sluice_udp",
      "sources": ["native/udp_recv.c"],
      "cflags": ["-O2", "-Wall"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
