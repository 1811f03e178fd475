/*
 * A slower disk's sync, for scripts/bench-peers.mjs --slow-sync MS: fsync and fdatasync each wait
 * SLOW_SYNC_US microseconds more before doing their work. Loaded with LD_PRELOAD into the
 * benchmarked tools; build: gcc -shared -fPIC -O2 -o slow-sync.so slow-sync.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

static void wait_more(void) {
  const char *us = getenv("SLOW_SYNC_US");
  if (us) usleep((useconds_t)atoi(us));
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  wait_more();
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  wait_more();
  return real(fd);
}
