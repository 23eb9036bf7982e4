// execve(2) of the running tsrun process, for the one case where it must
// become another Node process with the same pid: a command the launcher ran
// with V8's fixed snapshot hash seed met an input big enough for hash
// flooding to matter (src/util/hash-flood.ts), and starts over with a
// per-process seed.
#ifndef TSRUN_REEXEC_H
#define TSRUN_REEXEC_H

#include <napi.h>

// Adds execve(path, argv[], env[]) to the addon's exports: returns only by
// throwing (errno, "execve").
void reexec_register(Napi::Env env, Napi::Object exports);

#endif
