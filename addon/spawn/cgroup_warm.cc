// Why: every write to a cgroup.procs file takes cgroup_threadgroup_rwsem for
// writing, and a percpu rwsem's writer first waits for an RCU grace period
// (rcu_sync_enter) unless another writer entered within the last grace
// period. On this kind of VM a grace period is 8-16 ms: the single biggest
// cost of a create. A helper thread that, from the start of create until the
// init has been moved, rewrites tsrun's own pid into its own cgroup (a no-op
// move that still takes the lock) pays that wait in parallel with the
// config's validation and keeps the lock's fast state until the real move.
// Only an init in a new user namespace is moved that way; others join their
// cgroups themselves, without the lock (OP_JOIN_CGROUP, CLONE_INTO_CGROUP).
//
// The thread only open()s, write()s, close()s and waits; it stops when told
// to (at once: the wait is on a condition variable), at its first error (e.g.
// EACCES when unprivileged), or after 2 s.
#include "cgroup_warm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

namespace {

struct warm_state {
  char path[PATH_MAX];
  char pid[24];
  size_t pid_len;
  bool stop;  // guarded by lock; cond wakes the thread's pause at once
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t thread;
  bool running;
};

warm_state g_warm = {{0}, {0}, 0, false, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {}, false};

long elapsed_ms(const struct timespec &since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since.tv_sec) * 1000 + (now.tv_nsec - since.tv_nsec) / 1000000;
}

// Waits ~2 ms (well inside one grace period, so the fast state never lapses)
// or until told to stop; returns whether to go on.
bool pause_unless_stopped() {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += 2 * 1000 * 1000;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&g_warm.lock);
  while (!g_warm.stop && pthread_cond_timedwait(&g_warm.cond, &g_warm.lock, &until) != ETIMEDOUT) {
  }
  bool go_on = !g_warm.stop;
  pthread_mutex_unlock(&g_warm.lock);
  return go_on;
}

void *warm_loop(void *) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (elapsed_ms(start) < 2000) {
    int fd = open(g_warm.path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) break;
    ssize_t n = write(fd, g_warm.pid, g_warm.pid_len);
    close(fd);
    if (n < 0 || !pause_unless_stopped()) break;
  }
  return nullptr;
}

void warm_stop() {
  if (!g_warm.running) return;
  pthread_mutex_lock(&g_warm.lock);
  g_warm.stop = true;
  pthread_cond_signal(&g_warm.cond);
  pthread_mutex_unlock(&g_warm.lock);
  pthread_join(g_warm.thread, nullptr);
  g_warm.running = false;
}

Napi::Value CgroupWarmStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "cgroupWarmStart: expected (procsFile, pid)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  warm_stop();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.size() >= sizeof g_warm.path) return Napi::Boolean::New(env, false);
  memcpy(g_warm.path, path.c_str(), path.size() + 1);
  int len = snprintf(g_warm.pid, sizeof g_warm.pid, "%lld", static_cast<long long>(info[1].As<Napi::Number>().Int64Value()));
  g_warm.pid_len = static_cast<size_t>(len);
  g_warm.stop = false;
  // All signals blocked in the thread: Node's handlers stay on the main thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&g_warm.thread, nullptr, warm_loop, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  g_warm.running = rc == 0;
  return Napi::Boolean::New(env, rc == 0);
}

Napi::Value CgroupWarmStop(const Napi::CallbackInfo &info) {
  warm_stop();
  return info.Env().Undefined();
}

}  // namespace

void cgroup_warm_register(Napi::Env env, Napi::Object exports) {
  exports.Set("cgroupWarmStart", Napi::Function::New(env, CgroupWarmStart, "cgroupWarmStart"));
  exports.Set("cgroupWarmStop", Napi::Function::New(env, CgroupWarmStop, "cgroupWarmStop"));
}
