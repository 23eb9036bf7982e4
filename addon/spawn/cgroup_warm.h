// Keeps the kernel's cgroup migration lock warm while create prepares an init
// in a new user namespace, so that moving it into its cgroups does not wait
// for an RCU grace period (see cgroup_warm.cc).
#ifndef TSRUN_CGROUP_WARM_H
#define TSRUN_CGROUP_WARM_H

#include <napi.h>

// Adds cgroupWarmStart(procsFile, pid) -> boolean and cgroupWarmStop() to the
// addon's exports (see src/cgroups/warm.ts).
void cgroup_warm_register(Napi::Env env, Napi::Object exports);

#endif
