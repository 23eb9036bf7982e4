/* tsrun's executable (build/Release/tsrun; bin/tsrun is a symlink to it):
 * runs the TypeScript CLI, dist/src/cli/boot.js, with the node on PATH.
 *
 * Why a program and not a "#!/usr/bin/env -S -u ... node" script: env is one
 * more dynamically linked exec on every command, ~0.6 ms of each (measured
 * against this static one), and a container lifecycle is four commands.
 * What env -u did is done here: NODE_OPTIONS could make Node load arbitrary
 * code into a root process, and NODE_EXTRA_CA_CERTS triples Node's start-up;
 * a runtime needs neither. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
  fprintf(stderr, "tsrun: %s %s: %s\n", what, path, strerror(errno));
  return 127;
}

int main(int argc, char **argv) {
  /* The package root, from where this program really is (symlinks resolved). */
  char dir[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
  if (n <= 0) return fail("readlink", "/proc/self/exe");
  dir[n] = '\0';
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0'; /* build/Release */
  char entry[PATH_MAX];
  if (snprintf(entry, sizeof entry, "%s/../../dist/src/cli/boot.js", dir) >= (int)sizeof entry) {
    errno = ENAMETOOLONG;
    return fail("locate", dir);
  }
  if (access(entry, R_OK) != 0) {
    fprintf(stderr, "tsrun: %s: %s (run npm run build)\n", entry, strerror(errno));
    return 127;
  }
  unsetenv("NODE_OPTIONS");
  unsetenv("NODE_EXTRA_CA_CERTS");
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) return fail("allocate", "argv");
  args[0] = "node";
  args[1] = entry;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execvp("node", args);
  return fail("exec", "node");
}
