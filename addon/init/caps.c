/* OP_IDENTITY: user, groups and capabilities, in runc's order
 * (finalizeNamespace: bounding set, keep-caps, setgroups/setresgid/setresuid,
 * clear keep-caps, capset, ambient), then no_new_privs and umask. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"

/* Highest capability the kernel knows. /proc may be missing or masked after
 * pivot, so fall back to probing the bounding set. */
static int last_cap(void) {
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[16] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    int v = n > 0 ? atoi(buf) : -1;
    if (v > 0 && v < 64) return v;
  }
  int c = 0;
  while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0) c++;
  return c;
}

static void drop_bounding(uint64_t keep, int last) {
  for (int c = 0; c <= last; c++) {
    if (keep & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) die(errno, "identity: drop capability %d from the bounding set", c);
  }
}

/* "deny" in /proc/self/setgroups (user ns without setgroups) makes EPERM
 * from setgroups expected. */
static bool setgroups_denied(void) {
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[16] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && !strncmp(buf, "deny", 4);
}

static void set_groups(const char *list) {
  size_t n = 0, cap = 8;
  gid_t *gids = malloc(cap * sizeof *gids);
  if (!gids) die(ENOMEM, "identity: groups");
  char *copy = strdup(list), *save = NULL;
  if (!copy) die(ENOMEM, "identity: groups");
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *end;
    errno = 0;
    unsigned long g = strtoul(t, &end, 10);
    if (errno || *end || !*t || *t == '-' || g > 0xfffffffeUL) die(EINVAL, "identity: bad group id '%s'", t);
    if (n == cap && !(gids = realloc(gids, (cap *= 2) * sizeof *gids))) die(ENOMEM, "identity: groups");
    gids[n++] = (gid_t)g;
  }
  if (setgroups(n, gids) < 0 && !(errno == EPERM && setgroups_denied()))
    die(errno, "identity: setgroups [%s]", list);
  free(copy);
  free(gids);
}

static void set_caps(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0)
    die(errno, "identity: capset effective %016llx permitted %016llx inheritable %016llx", (unsigned long long)eff,
        (unsigned long long)perm, (unsigned long long)inh);
}

static void set_ambient(uint64_t amb, int last) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) die(errno, "identity: clear ambient capabilities");
  for (int c = 0; c <= last; c++) {
    if (!(amb & (1ULL << c))) continue;
    /* Like runc, a cap missing from permitted/inheritable is skipped
     * (the kernel refuses it with EPERM) rather than fatal. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM)
      die(errno, "identity: raise ambient capability %d", c);
  }
}

void op_identity(const struct op *o) {
  need_fields(o, 10);
  uid_t uid = (uid_t)fu64(o, 0);
  gid_t gid = (gid_t)fu64(o, 1);
  const char *groups = fstr(o, 2), *umask_s = fstr(o, 3);
  bool nnp = !strcmp(fstr(o, 4), "1");
  uint64_t eff = fhex(o, 5), perm = fhex(o, 6), inh = fhex(o, 7), bnd = fhex(o, 8), amb = fhex(o, 9);
  long um = -1;
  if (*umask_s) um = (long)fu64(o, 3);

  int last = last_cap();
  uint64_t known = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
  drop_bounding(bnd, last);
  /* Keep permitted caps across the uid change; capset trims them after. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die(errno, "identity: PR_SET_KEEPCAPS 1");
  fix_stdio_owner(uid);
  set_groups(groups);
  if (setresgid(gid, gid, gid) < 0) die(errno, "identity: setresgid %u", gid);
  if (setresuid(uid, uid, uid) < 0) die(errno, "identity: setresuid %u", uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die(errno, "identity: PR_SET_KEEPCAPS 0");
  set_caps(eff & known, perm & known, inh & known);
  set_ambient(amb & known, last);
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(errno, "identity: PR_SET_NO_NEW_PRIVS");
  if (um >= 0) umask((mode_t)(um & 0777));
}
