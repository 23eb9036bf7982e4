{
  "targets": [
    {
      "target_name": "tsrun_addon",
      "sources": [ "<!@(ls -1 addon/spawn/*.cc)" ],
      "include_dirs": [ "<!(node -p \"require('node-addon-api').include_dir\")", "addon/common" ],
      "defines": [ "NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE" ],
      "cflags_cc": [ "-std=c++17", "-fno-exceptions", "-Wall", "-Wextra" ]
    },
    {
      "target_name": "tsrun-init",
      "type": "executable",
      "sources": [ "<!@(ls -1 addon/init/*.c)" ],
      "include_dirs": [ "addon/common" ],
      "defines": [ "_GNU_SOURCE" ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra", "-fstack-protector-strong" ],
      "ldflags": [ "-static" ]
    },
    {
      "target_name": "tsrun_exit",
      "sources": [ "addon/exit/exit.c", "addon/exit/pidfd.c" ],
      "defines": [ "_GNU_SOURCE" ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra" ]
    },
    {
      "target_name": "tsrun",
      "type": "executable",
      "sources": [ "addon/launcher/tsrun.c", "addon/launcher/fastpath.c" ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra", "-ffreestanding", "-fno-stack-protector", "-fno-pie" ],
      "ldflags": [ "-static", "-nostdlib", "-no-pie", "-s" ]
    },
    {
      "target_name": "tsrun-seccomp-agent",
      "type": "executable",
      "sources": [ "test/helpers/seccomp-agent.c" ],
      "defines": [ "_GNU_SOURCE" ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra" ]
    },
    {
      "target_name": "tsrun-syscall-probe",
      "type": "executable",
      "sources": [ "test/helpers/syscall-probe.c" ],
      "defines": [ "_GNU_SOURCE" ],
      "cflags": [ "-std=gnu11", "-O2", "-Wall", "-Wextra" ],
      "ldflags": [ "-static" ]
    }
  ]
}
