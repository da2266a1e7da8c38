/*
 * A process that crashes on purpose, for the crash handler's tests and
 * benchmark. It starts worker threads parked in worker_park(), fills
 * memory, prints one READY line and crashes.
 *
 * Options (all optional):
 *   --signal segv|abrt|bus   how it dies (default segv): a NULL write in
 *                            crash_segv(), abort() in crash_abort(), a read
 *                            past the end of a truncated memfd mapping in
 *                            crash_bus()
 *   --in-worker              a worker thread crashes (in worker_crash()),
 *                            the main thread waits in main_wait()
 *   --threads N              parked worker threads besides that (default 3)
 *   --name NAME              prctl(PR_SET_NAME) before crashing (any bytes)
 *   --data-mib N             anonymous memory filled with non-zero bytes
 *   --zero-mib N             anonymous memory written with zeros
 *   --reserve-gib N          untouched MAP_NORESERVE reservation
 *
 * READY pid=P crash_tid=T (T: the crashing thread's tid).
 * Compiled -O0 -g with frame pointers so debuggers unwind it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *how = "segv";
static const char *name;

__attribute__((noinline)) void crash_segv(void) { *(volatile int *)0 = 1; }

__attribute__((noinline)) void crash_abort(void) { abort(); }

__attribute__((noinline)) void crash_bus(void) {
    int fd = memfd_create("crasher-bus", 0);
    long page = sysconf(_SC_PAGESIZE);
    if (fd < 0 || ftruncate(fd, page) != 0) _exit(3);
    volatile char *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) _exit(3);
    if (ftruncate(fd, 0) != 0) _exit(3);
    (void)p[0]; /* the page is past the end of the file now: SIGBUS */
}

__attribute__((noinline)) void crash_now(void) {
    if (name) prctl(PR_SET_NAME, name);
    printf("READY pid=%d crash_tid=%ld\n", (int)getpid(), (long)syscall(SYS_gettid));
    fflush(stdout);
    if (!strcmp(how, "abrt")) crash_abort();
    else if (!strcmp(how, "bus")) crash_bus();
    else crash_segv();
}

__attribute__((noinline)) void *worker_park(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

__attribute__((noinline)) void *worker_crash(void *arg) {
    (void)arg;
    crash_now();
    return NULL;
}

__attribute__((noinline)) void main_wait(void) {
    for (;;) pause();
}

static void *xmap(size_t len, int extra) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

int main(int argc, char **argv) {
    long threads = 3, data_mib = 0, zero_mib = 0, reserve_gib = 0;
    int in_worker = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--signal") && i + 1 < argc) how = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = strtol(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--data-mib") && i + 1 < argc) data_mib = strtol(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--zero-mib") && i + 1 < argc) zero_mib = strtol(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--reserve-gib") && i + 1 < argc) reserve_gib = strtol(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--in-worker")) in_worker = 1;
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    /* Die with the test that started us rather than linger. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (data_mib) {
        size_t len = (size_t)data_mib << 20;
        unsigned char *p = xmap(len, 0);
        for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i * 2654435761u >> 24) | 1;
    }
    if (zero_mib) {
        size_t len = (size_t)zero_mib << 20;
        volatile unsigned char *p = xmap(len, 0);
        long page = sysconf(_SC_PAGESIZE);
        for (size_t i = 0; i < len; i += (size_t)page) p[i] = 0;
    }
    if (reserve_gib) xmap((size_t)reserve_gib << 30, MAP_NORESERVE);
    pthread_t t;
    for (long i = 0; i < threads; i++) pthread_create(&t, NULL, worker_park, NULL);
    /* Let the parked workers reach pause(). */
    struct timespec settle = {0, 50 * 1000 * 1000};
    nanosleep(&settle, NULL);
    if (in_worker) {
        pthread_create(&t, NULL, worker_crash, NULL);
        main_wait();
    }
    crash_now();
    return 0;
}
