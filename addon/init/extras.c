/* The rest of the process and linux fields: OP_TIMENS, OP_PERSONALITY,
 * OP_SCHEDULER, OP_IOPRIO, OP_MEMPOLICY, OP_CPU_AFFINITY, OP_LSM_EXEC_LABEL.
 * Every value arrives resolved to numbers; the helper only makes the calls. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* "12,0-3" → calls fn(n) for every number; dies on malformed lists. */
static void each_in_list(const char *what, const char *list, void (*fn)(unsigned long, void *), void *arg) {
  const char *p = list;
  while (*p) {
    char *end;
    errno = 0;
    unsigned long a = strtoul(p, &end, 10), b = a;
    if (errno || end == p) die(EINVAL, "%s: malformed list '%s'", what, list);
    if (*end == '-') {
      p = end + 1;
      b = strtoul(p, &end, 10);
      if (errno || end == p || b < a) die(EINVAL, "%s: malformed list '%s'", what, list);
    }
    for (unsigned long n = a; n <= b; n++) fn(n, arg);
    if (*end == ',') end++;
    else if (*end) die(EINVAL, "%s: malformed list '%s'", what, list);
    p = end;
  }
}

/* OP_TIMENS: fields: offsets ("monotonic <secs> <nanosecs>\n..." or empty).
 * unshare() makes a new time namespace for our children only; its offsets
 * can be written until a process enters it, which our execve (OP_EXEC) does. */
void op_timens(const struct op *o) {
  const char *offsets = fstr(o, 0);
  if (unshare(CLONE_NEWTIME) < 0) die(errno, "unshare time namespace");
  if (!*offsets) return;
  /* One clock per write: the kernel parses a write line by line, but an error
   * then names the line that failed. */
  char *copy = strdup(offsets);
  if (!copy) die(ENOMEM, "time namespace offsets");
  for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0) die(errno, "open /proc/self/timens_offsets");
    if (fd_write_full(fd, line, strlen(line)) < 0) die(errno, "write time namespace offset '%s'", line);
    close(fd);
  }
  free(copy);
}

/* OP_PERSONALITY: fields: persona (decimal). */
void op_personality(const struct op *o) {
  unsigned long persona = (unsigned long)fu64(o, 0);
  if (personality(persona) < 0) die(errno, "personality 0x%lx", persona);
}

struct sched_attr_v1 {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

/* OP_SCHEDULER: fields: policy, flags, nice, priority, runtime, deadline, period. */
void op_scheduler(const struct op *o) {
  need_fields(o, 7);
  struct sched_attr_v1 attr = {
      .size = sizeof attr,
      .sched_policy = (uint32_t)fu64(o, 0),
      .sched_flags = fu64(o, 1),
      .sched_nice = (int32_t)fi64(o, 2),
      .sched_priority = (uint32_t)fu64(o, 3),
      .sched_runtime = fu64(o, 4),
      .sched_deadline = fu64(o, 5),
      .sched_period = fu64(o, 6),
  };
  if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
    die(errno, "sched_setattr policy %u priority %u nice %d", attr.sched_policy, attr.sched_priority, attr.sched_nice);
}

/* OP_IOPRIO: fields: ioprio value (class << 13 | level). */
void op_ioprio(const struct op *o) {
  int value = (int)fu64(o, 0);
  if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) < 0)
    die(errno, "ioprio_set class %d level %d", value >> 13, value & 0x1fff);
}

#define MAX_NODES 1024
#define WORD_BITS (8 * sizeof(unsigned long))

static void set_bit(unsigned long n, void *arg) {
  unsigned long *mask = arg;
  if (n >= MAX_NODES) die(EINVAL, "memory policy: node %lu is out of range (max %d)", n, MAX_NODES - 1);
  mask[n / WORD_BITS] |= 1UL << (n % WORD_BITS);
}

/* OP_MEMPOLICY: fields: mode (with MPOL_F_* flags OR'ed in), nodes list ("" = none). */
void op_mempolicy(const struct op *o) {
  int mode = (int)fu64(o, 0);
  const char *nodes = fstr(o, 1);
  unsigned long mask[MAX_NODES / WORD_BITS] = {0};
  each_in_list("memory policy nodes", nodes, set_bit, mask);
  /* The kernel reads maxnode - 1 bits. With no nodes: a NULL mask. */
  long r = *nodes ? syscall(SYS_set_mempolicy, mode, mask, (unsigned long)MAX_NODES + 1)
                  : syscall(SYS_set_mempolicy, mode, NULL, 0UL);
  if (r < 0) die(errno, "set_mempolicy mode 0x%x nodes '%s'", mode, nodes);
}

struct cpuset_arg {
  cpu_set_t *set;
  size_t size;
  unsigned long max;
};

static void set_cpu(unsigned long n, void *arg) {
  struct cpuset_arg *a = arg;
  if (n >= a->max) die(EINVAL, "cpu affinity: cpu %lu is out of range", n);
  CPU_SET_S(n, a->size, a->set);
}

/* OP_CPU_AFFINITY: fields: cpu list ("0-3,7"). */
void op_cpu_affinity(const struct op *o) {
  const char *cpus = fstr(o, 0);
  const unsigned long max = 8192;
  struct cpuset_arg a = {.set = CPU_ALLOC(max), .size = CPU_ALLOC_SIZE(max), .max = max};
  if (!a.set) die(ENOMEM, "cpu affinity");
  CPU_ZERO_S(a.size, a.set);
  each_in_list("cpu affinity", cpus, set_cpu, &a);
  if (sched_setaffinity(0, a.size, a.set) < 0) die(errno, "sched_setaffinity %s", cpus);
  CPU_FREE(a.set);
}

/* OP_LSM_EXEC_LABEL: fields: lsm ("apparmor" or "selinux"), label. The label
 * takes effect at our execve. Written through the init's private procfs. */
void op_lsm_exec_label(const struct op *o) {
  const char *lsm = fstr(o, 0), *label = fstr(o, 1);
  char rel[64];
  int pid = (int)getpid();
  if (!strcmp(lsm, "apparmor")) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "exec %s", label) >= (int)sizeof buf) die(ENAMETOOLONG, "apparmor profile %s", label);
    /* The LSM-specific file first (stacked LSMs), then the legacy one. */
    snprintf(rel, sizeof rel, "%d/attr/apparmor/exec", pid);
    if (!proc_file_exists(rel)) snprintf(rel, sizeof rel, "%d/attr/exec", pid);
    write_proc_file(rel, buf);
  } else if (!strcmp(lsm, "selinux")) {
    snprintf(rel, sizeof rel, "%d/attr/exec", pid);
    write_proc_file(rel, label);
  } else {
    die(EINVAL, "exec label: unknown LSM '%s'", lsm);
  }
}
