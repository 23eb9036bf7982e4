// linux.seccomp in the parent: compile a profile to classic BPF with
// libseccomp (dlopen'd at run time, so building tsrun needs no seccomp.h and
// running it needs libseccomp.so.2 only when a profile is given), and probe
// what the kernel and the library support (for `features` and validation).
#ifndef TSRUN_SECCOMP_H
#define TSRUN_SECCOMP_H

#include <napi.h>

// Adds seccompCompile, seccompProbe to the addon's exports (see src/seccomp/native.ts).
void seccomp_register(Napi::Env env, Napi::Object exports);

#endif
