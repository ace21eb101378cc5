/* clockshift: an LD_PRELOAD library that moves a process's wall clock (CLOCK_REALTIME and its
 * variants, gettimeofday, time) by an offset in seconds, leaving the monotonic clocks alone, as a
 * wrong or stepped NTP clock would. The offset comes from SWF_CLOCKSHIFT_SECS, or from the file named
 * by SWF_CLOCKSHIFT_FILE (a signed integer such as "+3600" or "-600"), re-read at most every 100 ms,
 * so a test can jump the clock of a running process.
 *
 * Why not libfaketime: swfd links jemalloc as its malloc, and libfaketime initialises itself lazily
 * inside the first clock_gettime, which jemalloc makes while holding its init lock; libfaketime's
 * initialisation then allocates and the process deadlocks before main (seen with Debian's
 * libfaketime 0.9.10). This library makes no allocation and no dlsym call: it reads the clocks and
 * the file with raw system calls.
 *
 * Built by the tests and swf-chaos with `cc -shared -fPIC -O2` (see their `clockshift` helpers). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long offset_ns;   /* the current offset */
static long long checked_ns;  /* monotonic time of the last read of the file */
static int have_checked;

static long long parse(const char *s) {
  long long sign = 1, v = 0;
  while (*s == ' ' || *s == '\t') s++;
  if (*s == '+') s++;
  else if (*s == '-') { sign = -1; s++; }
  while (*s >= '0' && *s <= '9') { v = v * 10 + (*s - '0'); s++; }
  return sign * v * 1000000000LL;
}

static void refresh(void) {
  struct timespec m;
  if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &m) != 0) return;
  long long now = (long long)m.tv_sec * 1000000000LL + m.tv_nsec;
  if (__atomic_load_n(&have_checked, __ATOMIC_ACQUIRE) &&
      now - __atomic_load_n(&checked_ns, __ATOMIC_RELAXED) < 100000000LL)
    return;
  __atomic_store_n(&checked_ns, now, __ATOMIC_RELAXED);
  __atomic_store_n(&have_checked, 1, __ATOMIC_RELEASE);
  const char *secs = getenv("SWF_CLOCKSHIFT_SECS");
  if (secs) { __atomic_store_n(&offset_ns, parse(secs), __ATOMIC_RELAXED); return; }
  const char *path = getenv("SWF_CLOCKSHIFT_FILE");
  if (!path) return;
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[32];
  long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
  syscall(SYS_close, fd);
  if (n <= 0) return;
  buf[n] = 0;
  __atomic_store_n(&offset_ns, parse(buf), __ATOMIC_RELAXED);
}

static int is_wall(clockid_t id) {
  return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  long r = syscall(SYS_clock_gettime, id, ts);
  if (r != 0 || !is_wall(id)) return (int)r;
  refresh();
  long long t = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec +
                __atomic_load_n(&offset_ns, __ATOMIC_RELAXED);
  ts->tv_sec = t / 1000000000LL;
  ts->tv_nsec = t % 1000000000LL;
  if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000LL; ts->tv_sec -= 1; }
  return 0;
}

int gettimeofday(struct timeval *tv, void *tz) {
  (void)tz;
  struct timespec ts;
  int r = clock_gettime(CLOCK_REALTIME, &ts);
  if (r == 0 && tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
  return r;
}

time_t time(time_t *out) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return (time_t)-1;
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}
