/*
 * evalgrid's fixed clock: preloaded into PHP (LD_PRELOAD) when a run asks for a fixed time.
 * The wall clock starts at EVALGRID_CLOCK (seconds since the epoch) when PHP starts and then
 * advances normally; other clocks (monotonic, CPU time) are left alone.
 *
 * Why not libfaketime: Debian's build needs glibc 2.34 (PHP 7.4's image has 2.31) and a
 * glibc-linked library cannot be preloaded into musl. This one links against nothing: it is
 * built with -nostdlib and refers to two functions every libc has (getenv, syscall), without
 * symbol versions, so one build loads into any dynamically linked PHP on this architecture.
 * A statically linked PHP ignores LD_PRELOAD; image discovery finds that out and says so.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

char *getenv(const char *name);
long syscall(long number, ...);

#define NS 1000000000LL

/* Fixed time minus real time, in nanoseconds; 0 until a fixed time is set. */
static long long offset_ns;

static int real_clock(clockid_t id, struct timespec *ts) {
    return (int) syscall(SYS_clock_gettime, id, ts);
}

__attribute__((constructor)) static void start_clock(void) {
    const char *text = getenv("EVALGRID_CLOCK");
    long long fixed = 0;
    struct timespec now;
    if (text == 0 || *text == 0) {
        return;
    }
    for (; *text; text++) {
        if (*text < '0' || *text > '9' || fixed > 1000000000000LL) {
            return;
        }
        fixed = fixed * 10 + (*text - '0');
    }
    if (real_clock(CLOCK_REALTIME, &now) != 0) {
        return;
    }
    offset_ns = fixed * NS - ((long long) now.tv_sec * NS + now.tv_nsec);
}

static int is_wall_clock(clockid_t id) {
    return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI;
}

__attribute__((visibility("default"))) int clock_gettime(clockid_t id, struct timespec *ts) {
    int result = real_clock(id, ts);
    if (result == 0 && offset_ns != 0 && is_wall_clock(id)) {
        long long ns = (long long) ts->tv_sec * NS + ts->tv_nsec + offset_ns;
        ts->tv_sec = (time_t) (ns / NS);
        ts->tv_nsec = (long) (ns % NS);
    }
    return result;
}

__attribute__((visibility("default"))) int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    int result = clock_gettime(CLOCK_REALTIME, &ts);
    if (result != 0) {
        return result;
    }
    /* Declared nonnull: every caller passes it. */
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    if (tz != 0) {
        ((struct timezone *) tz)->tz_minuteswest = 0;
        ((struct timezone *) tz)->tz_dsttime = 0;
    }
    return 0;
}

__attribute__((visibility("default"))) time_t time(time_t *out) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return (time_t) -1;
    }
    if (out != 0) {
        *out = ts.tv_sec;
    }
    return ts.tv_sec;
}

__attribute__((visibility("default"))) int timespec_get(struct timespec *ts, int base) {
    if (base != TIME_UTC || clock_gettime(CLOCK_REALTIME, ts) != 0) {
        return 0;
    }
    return base;
}
