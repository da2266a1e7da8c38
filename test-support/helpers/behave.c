/* A process that misbehaves on request, for `coroner watch`'s tests.
 *
 *   behave [--idle-threads N] [--burn] [--spike MS] [--grow KIB] [--spawn N]
 *          [--open N] [--usr1] [--tick MS] [--limit-mib M]
 *
 * Prints "READY pid=P" once set up, then every tick (default 100 ms):
 *   --burn       a thread spins on the CPU for ever;
 *   --spike MS   a thread spins for MS milliseconds once, then sleeps;
 *   --grow KIB   allocates and touches KIB more KiB of anonymous memory
 *                (up to --limit-mib MiB in all, default unlimited);
 *   --spawn N    starts one more sleeping thread, up to N;
 *   --open N     opens /dev/null once more, up to N descriptors.
 * --usr1 installs a SIGUSR1 handler that prints "HANDLED n" (n counts the
 * calls) with write(2), which is async-signal-safe.
 * Every thread other than main parks in park_thread(), so debuggers see
 * them by name. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static long spike_ms;

static void on_usr1(int sig) {
    (void)sig;
    handled++;
    char line[32];
    int n = snprintf(line, sizeof line, "HANDLED %d\n", (int)handled);
    if (n > 0) (void)!write(1, line, (size_t)n);
}

__attribute__((noinline)) static void *park_thread(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

__attribute__((noinline)) static void *burn_thread(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    for (;;) x++;
    return NULL;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

__attribute__((noinline)) static void *spike_thread(void *arg) {
    (void)arg;
    volatile unsigned long x = 0;
    double end = now_ms() + (double)spike_ms;
    while (now_ms() < end) x++;
    for (;;) pause();
    return NULL;
}

static void start(void *(*fn)(void *)) {
    pthread_t t;
    if (pthread_create(&t, NULL, fn, NULL) != 0) {
        perror("pthread_create");
        exit(1);
    }
}

int main(int argc, char **argv) {
    long idle = 1, grow_kib = 0, spawn = 0, open_n = 0, tick = 100, limit_mib = 0;
    int burn = 0, usr1 = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : "0";
        if (!strcmp(a, "--idle-threads")) idle = atol(v), i++;
        else if (!strcmp(a, "--burn")) burn = 1;
        else if (!strcmp(a, "--spike")) spike_ms = atol(v), i++;
        else if (!strcmp(a, "--grow")) grow_kib = atol(v), i++;
        else if (!strcmp(a, "--spawn")) spawn = atol(v), i++;
        else if (!strcmp(a, "--open")) open_n = atol(v), i++;
        else if (!strcmp(a, "--tick")) tick = atol(v), i++;
        else if (!strcmp(a, "--limit-mib")) limit_mib = atol(v), i++;
        else if (!strcmp(a, "--usr1")) usr1 = 1;
        else {
            fprintf(stderr, "behave: unknown argument %s\n", a);
            return 2;
        }
    }
    if (usr1) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
    }
    for (long i = 0; i < idle; i++) start(park_thread);
    if (burn) start(burn_thread);
    if (spike_ms > 0) start(spike_thread);
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("READY pid=%d\n", (int)getpid());
    long spawned = 0, opened = 0, grown_kib = 0;
    for (;;) {
        if (grow_kib > 0 && (limit_mib == 0 || grown_kib < limit_mib * 1024)) {
            size_t len = (size_t)grow_kib * 1024;
            char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p != MAP_FAILED) {
                for (size_t o = 0; o < len; o += 4096) p[o] = 1;
                grown_kib += grow_kib;
            }
        }
        if (spawned < spawn) start(park_thread), spawned++;
        if (opened < open_n && open("/dev/null", O_RDONLY) >= 0) opened++;
        usleep((useconds_t)tick * 1000);
    }
}
