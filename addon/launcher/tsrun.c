/* tsrun's executable (build/Release/tsrun; bin/tsrun is a symlink to it):
 * runs the TypeScript CLI, dist/src/cli/boot.js, with the node on PATH.
 *
 * Why a program and not a "#!/usr/bin/env -S -u ... node" script: env is one
 * more dynamically linked exec on every command, ~0.6 ms of each (measured
 * against this static one), and a container lifecycle is four commands.
 * What env -u did is done here: NODE_OPTIONS could make Node load arbitrary
 * code into a root process, and NODE_EXTRA_CA_CERTS triples Node's start-up;
 * a runtime needs neither.
 *
 * The hot light commands (start, state, kill, delete) run with V8's
 * --no-rehash-snapshot: ~2.5 ms less of each Node start. Why only those, and
 * how the fixed hash seed it implies is kept from hash flooding:
 * src/util/hash-flood.ts. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The command is the first argument that names one (flag values such as
 * "json" or a path name none); a wrong guess only changes the speed. */
static int fixed_seed_command(int argc, char **argv) {
  static const char *const verbs[] = {"checkpoint", "create", "delete", "events", "exec", "features", "kill", "list",
                                      "pause", "ps", "restore", "resume", "run", "spec", "start", "state", "update"};
  for (int i = 1; i < argc; i++) {
    for (size_t v = 0; v < sizeof verbs / sizeof *verbs; v++) {
      if (strcmp(argv[i], verbs[v]) != 0) continue;
      return !strcmp(verbs[v], "start") || !strcmp(verbs[v], "state") || !strcmp(verbs[v], "kill") ||
             !strcmp(verbs[v], "delete");
    }
  }
  return 0;
}

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
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (!args) return fail("allocate", "argv");
  int n_args = 0;
  args[n_args++] = "node";
  if (fixed_seed_command(argc, argv)) args[n_args++] = "--no-rehash-snapshot";
  args[n_args++] = entry;
  for (int i = 1; i < argc; i++) args[n_args++] = argv[i];
  execvp("node", args);
  return fail("exec", "node");
}
