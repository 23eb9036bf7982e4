/* Framing and plan decoding (addon/common/plan_wire.h). The plan comes from
 * the trusted parent, but it is still bounds-checked: a malformed plan is a
 * builder bug and must fail loudly, not read out of bounds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

#define MAX_PLAN (64u << 20) /* seccomp programs and long env lists fit easily */

struct cursor {
  const char *p;
  size_t left;
};

static uint32_t take_u32(struct cursor *c) {
  uint32_t v;
  if (c->left < 4) die(EINVAL, "plan: truncated");
  memcpy(&v, c->p, 4);
  c->p += 4;
  c->left -= 4;
  return v;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) die(ENOMEM, "plan: allocate");
  return p;
}

static void take_field(struct cursor *c, struct field *f) {
  uint32_t len = take_u32(c);
  if (len > c->left) die(EINVAL, "plan: field of %u bytes runs past the end", len);
  f->data = xcalloc(len + 1u, 1);
  memcpy(f->data, c->p, len);
  f->len = len;
  c->p += len;
  c->left -= len;
}

static void decode(const char *buf, size_t len, struct plan *out) {
  struct cursor c = {buf, len};
  out->nops = take_u32(&c);
  if (out->nops > c.left / 8) die(EINVAL, "plan: %u ops cannot fit in %zu bytes", out->nops, len);
  out->ops = xcalloc(out->nops, sizeof *out->ops);
  for (uint32_t i = 0; i < out->nops; i++) {
    struct op *o = &out->ops[i];
    o->code = take_u32(&c);
    o->nfields = take_u32(&c);
    if (o->nfields > c.left / 4) die(EINVAL, "plan: op #%u has too many fields", i);
    o->fields = xcalloc(o->nfields, sizeof *o->fields);
    for (uint32_t j = 0; j < o->nfields; j++) take_field(&c, &o->fields[j]);
  }
  if (c.left) die(EINVAL, "plan: %zu trailing bytes", c.left);
}

uint32_t read_plan(int fd, struct plan *out, bool bootstrap_ok) {
  uint32_t hdr[2];
  int r = fd_read_full(fd, hdr, sizeof hdr);
  if (r == 1) _exit(1); /* parent gave up before sending a plan: exit silently */
  if (r < 0) die(errno, "read plan header");
  if (hdr[0] != MSG_PLAN && !(bootstrap_ok && hdr[0] == MSG_BOOTSTRAP))
    die(EPROTO, "expected plan message, got type %u", hdr[0]);
  if (hdr[1] > MAX_PLAN) die(EMSGSIZE, "plan of %u bytes", hdr[1]);
  char *buf = xcalloc(hdr[1], 1);
  r = fd_read_full(fd, buf, hdr[1]);
  if (r == 1) _exit(1);
  if (r < 0) die(errno, "read plan");
  decode(buf, hdr[1], out);
  free(buf);
  return hdr[0];
}

/* ---- field accessors ---- */

void need_fields(const struct op *o, uint32_t min) {
  if (o->nfields < min) die(EINVAL, "%s: %u fields, need %u", op_name(o->code), o->nfields, min);
}

const char *fstr(const struct op *o, uint32_t i) {
  need_fields(o, i + 1);
  const struct field *f = &o->fields[i];
  if (strlen(f->data) != f->len) die(EINVAL, "%s: field %u contains a NUL byte", op_name(o->code), i);
  return f->data;
}

uint64_t fu64(const struct op *o, uint32_t i) {
  const char *s = fstr(o, i);
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !*s || *end || *s == '-') die(EINVAL, "%s: field %u '%s' is not an unsigned number", op_name(o->code), i, s);
  return v;
}

long long fi64(const struct op *o, uint32_t i) {
  const char *s = fstr(o, i);
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || !*s || *end) die(EINVAL, "%s: field %u '%s' is not a number", op_name(o->code), i, s);
  return v;
}

uint64_t fhex(const struct op *o, uint32_t i) {
  const char *s = fstr(o, i);
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 16);
  if (errno || !*s || *end || *s == '-') die(EINVAL, "%s: field %u '%s' is not a hex mask", op_name(o->code), i, s);
  return v;
}
