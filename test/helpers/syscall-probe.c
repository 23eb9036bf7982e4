/* Test helper, run inside containers: makes each syscall number given on
 * the command line with zero arguments and prints "<nr> <errno>" (0 when it
 * succeeded). Static, so a busybox rootfs can run it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char *end;
    long nr = strtol(argv[i], &end, 0);
    if (*end != '\0') {
      fprintf(stderr, "not a number: %s\n", argv[i]);
      return 2;
    }
    errno = 0;
    long r = syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
    printf("%ld %d\n", nr, r < 0 ? errno : 0);
  }
  return 0;
}
