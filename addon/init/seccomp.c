/* OP_SECCOMP: load a classic-BPF filter compiled by TypeScript. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

void op_seccomp(const struct op *o) {
  need_fields(o, 2);
  unsigned long flags = fu64(o, 0);
  const struct field *prog_bytes = &o->fields[1];
  size_t n = prog_bytes->len / sizeof(struct sock_filter);
  if (!n || prog_bytes->len % sizeof(struct sock_filter) || n > BPF_MAXINSNS)
    die(EINVAL, "seccomp: program of %zu bytes is not 1..%d instructions", prog_bytes->len, BPF_MAXINSNS);
  /* The plan has no channel to hand a notify fd to anybody. */
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) die(ENOTSUP, "seccomp: SECCOMP_FILTER_FLAG_NEW_LISTENER is not supported");
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = (struct sock_filter *)prog_bytes->data};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (r < 0) die(errno, "seccomp: load filter of %zu instructions (flags 0x%lx)", n, flags);
}
