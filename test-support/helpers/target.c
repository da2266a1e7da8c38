/*
 * The process coroner's tests dump. It parks threads in distinct named
 * functions, fills memory regions with recognisable contents, prints one
 * READY line of key=value pairs on stdout and then keeps a heartbeat going
 * until killed (or crashes on purpose with --crash).
 *
 * Options (all optional):
 *   --threads N        parked worker threads (default 8); main is one more
 *   --pattern-mib N    anonymous region filled with pattern words (default 64)
 *   --zero-mib N       anonymous region whose pages are touched with zeros (default 0)
 *   --dontdump-kib N   region filled with "DONTDUMP" and madvise(MADV_DONTDUMP) (default 1024)
 *   --reserve-gib N    untouched MAP_NORESERVE reservation (default 8, 0 = none)
 *   --shared-kib N     shared anonymous region (default 0): a forked child fills
 *                      its first half with "SHAREDMM" and exits; this process
 *                      never touches it, and nobody touches the second half
 *   --heartbeat PATH   also write the heartbeat counter to PATH
 *   --churn N          N threads that create and join short-lived threads in a loop
 *   --sigstorm N       N threads named "sigstorm" that send themselves SIGURG
 *                      (ignored by default) in a tight loop
 *   --mappings N       N one-page mappings of alternating protection (default 0)
 *   --crash            main thread dereferences NULL in crash_here() after READY
 *   --leader-exit      main thread calls pthread_exit() after READY (the process
 *                      lives on in its other threads; no heartbeat)
 *   --remap N          N threads that map, fill, mprotect, remap and unmap
 *                      regions in a loop (memory a capture may be reading)
 *   --busy N           N threads that checksum the pattern region and sleep
 *                      1 ms in a loop, counting rounds in busy_rounds and any
 *                      wrong sum or interrupted sleep in busy_errors (both
 *                      addresses in READY); needs --pattern-mib > 0
 *   --exit-after-ms N  a thread calls _exit(0) N ms after the process gets
 *                      SIGUSR1 (blocked in every thread, taken by sigwait)
 *   --exec-after-ms N  likewise, a thread execs `sleep 60` (the kernel
 *                      ends every other thread and the exec'ing thread takes
 *                      over the pid)
 *
 * Pattern word i (8 bytes, little-endian) is 0x434f524f4e455200 + i.
 * Worker i runs park_in_<i % 8>() and is named "worker-<i>".
 * Compiled -O0 -g with frame pointers so every debugger can unwind it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_BASE 0x434f524f4e455200ULL

volatile uint64_t heartbeat;
static atomic_int parked;
static const char *heartbeat_path;

static void *xmap(size_t len, int extra_flags) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(3);
    }
    return p;
}

/* Each worker parks in its own function so backtraces can be told apart. */
#define PARK_FN(n)                                                            \
    __attribute__((noinline)) void park_in_##n(void) {                        \
        atomic_fetch_add(&parked, 1);                                         \
        for (;;)                                                              \
            pause();                                                          \
    }
PARK_FN(0)
PARK_FN(1)
PARK_FN(2)
PARK_FN(3)
PARK_FN(4)
PARK_FN(5)
PARK_FN(6)
PARK_FN(7)

static void (*const parkers[8])(void) = {
    park_in_0, park_in_1, park_in_2, park_in_3,
    park_in_4, park_in_5, park_in_6, park_in_7,
};

__attribute__((noinline)) static void *worker_main(void *arg) {
    intptr_t i = (intptr_t)arg;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", (int)i);
    pthread_setname_np(pthread_self(), name);
    parkers[i % 8]();
    return NULL;
}

__attribute__((noinline)) static void *short_lived(void *arg) {
    return arg;
}

__attribute__((noinline)) static void *churn_main(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "churn");
    atomic_fetch_add(&parked, 1);
    for (;;) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_lived, NULL) == 0)
            pthread_join(t, NULL);
    }
    return NULL;
}

__attribute__((noinline)) static void *sigstorm_main(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "sigstorm");
    atomic_fetch_add(&parked, 1);
    for (;;)
        pthread_kill(pthread_self(), SIGURG);
    return NULL;
}

__attribute__((noinline)) static void *remap_main(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "remap");
    atomic_fetch_add(&parked, 1);
    const size_t len = 64 * 4096;
    for (unsigned round = 0;; round++) {
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            continue;
        memset(p, (int)(round & 0xff), len);
        mprotect(p, len / 2, PROT_NONE);
        void *q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
        if (q != MAP_FAILED)
            p = q;
        munmap(p, q != MAP_FAILED ? 2 * len : len);
    }
    return NULL;
}

volatile uint64_t busy_rounds;
volatile uint64_t busy_errors;
static const uint64_t *busy_pattern;
static size_t busy_words;

__attribute__((noinline)) static void *busy_main(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "busy");
    uint64_t expected = 0;
    for (size_t i = 0; i < busy_words; i++)
        expected += PATTERN_BASE + i;
    atomic_fetch_add(&parked, 1);
    for (;;) {
        uint64_t sum = 0;
        for (size_t i = 0; i < busy_words; i++)
            sum += busy_pattern[i];
        /* No retry on EINTR: a capture must never make a sleep fail. */
        struct timespec ts = {0, 1000 * 1000};
        int slept = nanosleep(&ts, NULL);
        if (sum != expected || slept != 0)
            __atomic_add_fetch(&busy_errors, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&busy_rounds, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static long exit_after_ms = -1, exec_after_ms = -1;

__attribute__((noinline)) static void *ending_main(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "ending");
    long ms = exit_after_ms >= 0 ? exit_after_ms : exec_after_ms;
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    int sig;
    while (sigwait(&usr1, &sig) != 0)
        ;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (exit_after_ms >= 0)
        _exit(0);
    char *args[] = {"sleep", "60", NULL};
    execvp("sleep", args);
    _exit(5);
}

__attribute__((noinline)) void crash_here(void) {
    *(volatile int *)0 = 1;
}

__attribute__((noinline)) void main_heartbeat(void) {
    int fd = -1;
    if (heartbeat_path)
        fd = open(heartbeat_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (;;) {
        heartbeat++;
        if (fd >= 0) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)heartbeat);
            if (pwrite(fd, buf, (size_t)n, 0) < 0)
                perror("pwrite");
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static long arg_num(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "missing value for %s\n", argv[*i]);
        exit(2);
    }
    *i += 1;
    return strtol(argv[*i], NULL, 0);
}

int main(int argc, char **argv) {
    long threads = 8, pattern_mib = 64, zero_mib = 0, dontdump_kib = 1024;
    long reserve_gib = 8, churn = 0, sigstorm = 0, shared_kib = 0, mappings = 0;
    long remap = 0, busy = 0;
    int crash = 0, leader_exit = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads")) threads = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--pattern-mib")) pattern_mib = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--zero-mib")) zero_mib = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--dontdump-kib")) dontdump_kib = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--reserve-gib")) reserve_gib = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--churn")) churn = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--shared-kib")) shared_kib = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--sigstorm")) sigstorm = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--mappings")) mappings = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--remap")) remap = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--busy")) busy = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--exit-after-ms")) exit_after_ms = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--exec-after-ms")) exec_after_ms = arg_num(argc, argv, &i);
        else if (!strcmp(argv[i], "--crash")) crash = 1;
        else if (!strcmp(argv[i], "--leader-exit")) leader_exit = 1;
        else if (!strcmp(argv[i], "--heartbeat") && i + 1 < argc) heartbeat_path = argv[++i];
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    /* Die with the test that started us rather than linger. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);

    size_t pattern_len = (size_t)pattern_mib << 20;
    uint64_t *pattern = NULL;
    if (pattern_len) {
        pattern = xmap(pattern_len, 0);
        for (size_t i = 0; i < pattern_len / 8; i++)
            pattern[i] = PATTERN_BASE + i;
    }

    size_t zero_len = (size_t)zero_mib << 20;
    volatile char *zero = NULL;
    if (zero_len) {
        zero = xmap(zero_len, 0);
        for (size_t off = 0; off < zero_len; off += 4096)
            zero[off] = 0;
    }

    size_t dontdump_len = (size_t)dontdump_kib << 10;
    char *dontdump = NULL;
    if (dontdump_len) {
        dontdump = xmap(dontdump_len, 0);
        for (size_t off = 0; off < dontdump_len; off += 8)
            memcpy(dontdump + off, "DONTDUMP", 8);
        if (madvise(dontdump, dontdump_len, MADV_DONTDUMP) != 0) {
            perror("madvise");
            return 3;
        }
    }

    /* --mappings N: N one-page mappings of alternating protection (rw-,
       r--), which the kernel cannot merge. Never touched, so a core of
       them holds program headers but no bytes. Needs vm.max_map_count
       above N. */
    if (mappings > 0) {
        size_t len = (size_t)mappings * 4096;
        char *many = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (many == MAP_FAILED) {
            perror("mmap mappings");
            return 3;
        }
        for (long i = 0; i < mappings; i++) {
            if (i % 2 && mprotect(many + (size_t)i * 4096, 4096, PROT_READ) != 0) {
                perror("mprotect (is vm.max_map_count high enough?)");
                return 3;
            }
        }
    }

    /* Before any thread exists, so that fork() copies nothing but us. */
    size_t shared_len = (size_t)shared_kib << 10;
    char *shared = NULL;
    if (shared_len) {
        shared = mmap(NULL, shared_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED) {
            perror("mmap shared");
            return 3;
        }
        pid_t child = fork();
        if (child < 0) {
            perror("fork");
            return 3;
        }
        if (child == 0) {
            for (size_t off = 0; off + 8 <= shared_len / 2; off += 8)
                memcpy(shared + off, "SHAREDMM", 8);
            _exit(0);
        }
        waitpid(child, NULL, 0);
    }

    size_t reserve_len = (size_t)reserve_gib << 30;
    void *reserve = NULL;
    if (reserve_len)
        reserve = xmap(reserve_len, MAP_NORESERVE);

    if (exit_after_ms >= 0 || exec_after_ms >= 0) {
        /* Before the first thread, so that every thread inherits the mask. */
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &usr1, NULL);
        pthread_t t;
        if (pthread_create(&t, NULL, ending_main, NULL) != 0) {
            perror("pthread_create");
            return 3;
        }
    }
    for (long i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker_main, (void *)(intptr_t)i) != 0) {
            perror("pthread_create");
            return 3;
        }
    }
    for (long i = 0; i < churn; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, churn_main, NULL) != 0) {
            perror("pthread_create");
            return 3;
        }
    }
    for (long i = 0; i < sigstorm; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, sigstorm_main, NULL) != 0) {
            perror("pthread_create");
            return 3;
        }
    }
    busy_pattern = pattern;
    busy_words = pattern_len / 8;
    for (long i = 0; i < remap + busy; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, i < remap ? remap_main : busy_main, NULL) != 0) {
            perror("pthread_create");
            return 3;
        }
    }
    while (atomic_load(&parked) < threads + churn + sigstorm + remap + busy) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* The counter is bumped just before pause(); give the threads time to get there. */
    struct timespec settle = {0, 50 * 1000 * 1000};
    nanosleep(&settle, NULL);

    printf("READY pid=%d threads=%ld pattern=%p pattern_len=%zu zero=%p zero_len=%zu "
           "dontdump=%p dontdump_len=%zu reserve=%p reserve_len=%zu heartbeat=%p "
           "shared=%p shared_len=%zu busy_rounds=%p busy_errors=%p\n",
           (int)getpid(), threads, (void *)pattern, pattern_len, (void *)zero, zero_len,
           (void *)dontdump, dontdump_len, reserve, reserve_len, (void *)&heartbeat,
           (void *)shared, shared_len, (void *)&busy_rounds, (void *)&busy_errors);
    fflush(stdout);

    if (crash) {
        nanosleep(&settle, NULL);
        crash_here();
    }
    if (leader_exit)
        pthread_exit(NULL);
    main_heartbeat();
    return 0;
}
