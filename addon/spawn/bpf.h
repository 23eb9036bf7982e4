// cgroup v2 device control: load a BPF_PROG_TYPE_CGROUP_DEVICE program built
// in TypeScript (src/cgroups/bpf.ts) and attach it to a cgroup directory.
#ifndef TSRUN_BPF_H
#define TSRUN_BPF_H

#include <napi.h>

// Adds bpfDeviceAttach, bpfDeviceQuery to the addon's exports (see src/cgroups/bpf-native.ts).
void bpf_register(Napi::Env env, Napi::Object exports);

#endif
