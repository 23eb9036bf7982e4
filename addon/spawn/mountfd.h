// idmap/ridmap bind mounts of a container with its own user namespace, done
// from the parent as runc 1.2 does: MOUNT_ATTR_IDMAP needs the host's user
// namespace, so the parent prepares a detached idmapped tree and hands its fd
// to the init helper over the sync socket (plan_wire.h MSG_MOUNT_FD,
// OP_MOUNT_TREE_FD).
#ifndef TSRUN_MOUNTFD_H
#define TSRUN_MOUNTFD_H

#include <napi.h>

// Adds idmapTree(source, cloneRecursive, idmapRecursive, usernsPath[, uidMap,
// gidMap]) -> fd (non-empty maps: a temporary user namespace with exactly those
// "containerID hostID size" lines instead of usernsPath) and sendFd(socketFd, type, fd) to the addon's exports (see src/lifecycle/mount-fds.ts).
void mountfd_register(Napi::Env env, Napi::Object exports);

#endif
