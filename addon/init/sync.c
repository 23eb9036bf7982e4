/* Messages from the helper to the parent over the sync socket. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

void send_msg(uint32_t type, const void *payload, uint32_t len) {
  uint32_t hdr[2] = {type, len};
  /* Best effort: if the parent vanished there is nobody left to tell. */
  if (fd_write_full(ctx.sync_fd, hdr, sizeof hdr) < 0) return;
  if (len) fd_write_full(ctx.sync_fd, payload, len);
}

void send_ready(void) {
  uint32_t hdr[2] = {MSG_READY, 0};
  if (fd_write_full(ctx.sync_fd, hdr, sizeof hdr) < 0) {
    int err = errno;
    ctx.sync_fd = -1; /* report on stderr, not on the broken socket */
    die(err, "ready: write sync socket");
  }
}

/* Two-phase READY: the parent answers MSG_COMMIT once the container is
 * recorded. EOF means it died first; nobody knows about this process, so it
 * goes away instead of waiting on the exec fifo forever. */
void await_commit(void) {
  uint32_t hdr[2];
  int r = fd_read_full(ctx.sync_fd, hdr, sizeof hdr);
  if (r == 1) _exit(1);
  if (r < 0) die(errno, "ready: read sync socket");
  if (hdr[0] != MSG_COMMIT || hdr[1] != 0) die(EPROTO, "ready: unexpected message %u (length %u) instead of commit", hdr[0], hdr[1]);
}
