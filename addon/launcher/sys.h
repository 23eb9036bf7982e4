/* Raw system calls and string helpers of the libc-free launcher (tsrun.c, fastpath.c). */
#ifndef TSRUN_LAUNCHER_SYS_H
#define TSRUN_LAUNCHER_SYS_H
#include <asm/unistd.h>
#include <stddef.h>

static inline long sys3(long n, long a, long b, long c) {
  long ret;
#if defined(__x86_64__)
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  ret = x0;
#else
#error "tsrun launcher: add this architecture's system call convention"
#endif
  return ret;
}

static inline long sys4(long n, long a, long b, long c, long d) {
  long ret;
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c, x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  ret = x0;
#endif
  return ret;
}

static inline size_t len(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static inline int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

static inline int starts(const char *s, const char *prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return 0;
  return 1;
}

/* Answers a command without starting Node when its answer is certain
 * (fastpath.c): the exit code, or -1 to run the CLI. */
int fast_path(int argc, char **argv);

#endif
