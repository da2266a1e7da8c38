/*
 * A target for copy-on-write snapshot tests (coroner capture --snapshot).
 *
 * Threads park in blocking system calls and record how each call ended:
 *   read (pipe), futex (no timeout), futex (60 s timeout), nanosleep (2 s),
 *   accept (unix socket), poll (no timeout), poll (60 s timeout),
 *   epoll_wait (no timeout); the main thread blocks in read(stdin).
 * Another thread counts SIGCHLDs and polls waitpid(-1, WNOHANG) every ms.
 * Options:
 *   --counters N     N threads keep two counters equal under a mutex, flat out
 *   --checksum       a thread rewrites a 1 MiB buffer and verifies its
 *                    checksum in a loop (BAD results are counted)
 *   --seccomp-kill-clone  after starting its threads, install a seccomp
 *                    filter that kills the process on clone/fork/vfork/clone3
 *   --heap-mib N     N MiB of malloc'd memory filled with a pattern
 *   --sweep-mib N    a thread sweeps an N MiB anonymous mapping page by
 *                    page, writing the sweep's number into each page's
 *                    first word and then its position in sweep_pos, 1 ms
 *                    of sleep every 64 pages and 20 ms after each sweep:
 *                    at any one moment, pages below sweep_pos hold
 *                    sweep_gen and the others sweep_gen - 1
 *   --uncopied-kib N N KiB marked MADV_DONTFORK filled with "DONTFORK" and
 *                    N KiB marked MADV_WIPEONFORK filled with "WIPEONFK"
 *   --quiescent      only the calls the kernel restarts (no epoll_wait, no
 *                    nanosleep, no waitpid poller): nothing changes memory
 *                    (run it with GLIBC_TUNABLES=glibc.pthread.rseq=0: the
 *                    kernel writes rseq's cpu_id when a thread changes CPU)
 * It prints "READY pid=.. counters=0x.. checks=0x.." and waits for a line on
 * stdin: "finish" wakes every parked call, joins the threads and prints one
 * "RESULT name=how" line per call plus "SIGCHLD n", "WAITED n", "BAD n",
 * then "DONE", and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pipe_read[2], pipe_poll[2], pipe_poll_t[2], pipe_epoll[2];
static int listen_fd, epoll_fd;
static uint32_t futex_word, futex_t_word;
static char sock_path[108];
static volatile int stop_all;
static volatile long sigchld_count, waited_count, bad_count;

/* How each parked call ended: "ok", or "EINTR", or another errno name. */
static char results[16][64];

static void result(int slot, const char *name, long r, int err) {
    if (r < 0)
        snprintf(results[slot], sizeof results[slot], "%s=%s", name,
                 err == EINTR ? "EINTR" : strerror(err));
    else
        snprintf(results[slot], sizeof results[slot], "%s=ok", name);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *park_read(void *a) {
    char c;
    long r = read(pipe_read[0], &c, 1);
    result(0, "read", r, errno);
    return a;
}

static void *park_futex(void *a) {
    long r;
    do {
        r = syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);
    } while (r == -1 && errno == EAGAIN && futex_word == 0);
    /* EAGAIN: the word changed before we slept, a normal wake-up. */
    result(1, "futex", r == -1 && errno == EAGAIN ? 0 : r, errno);
    return a;
}

static void *park_futex_timeout(void *a) {
    struct timespec t = {60, 0};
    long r = syscall(SYS_futex, &futex_t_word, FUTEX_WAIT, 0, &t, NULL, 0);
    result(2, "futex_timeout", r == -1 && errno == EAGAIN ? 0 : r, errno);
    return a;
}

static void *park_nanosleep(void *a) {
    struct timespec t = {2, 0}, rem;
    double start = now();
    long r = nanosleep(&t, &rem);
    double took = now() - start;
    if (r == 0 && (took < 1.99 || took > 30)) {
        snprintf(results[3], sizeof results[3], "nanosleep=took%.3f", took);
        return a;
    }
    result(3, "nanosleep", r, errno);
    return a;
}

static void *park_accept(void *a) {
    long r = accept(listen_fd, NULL, NULL);
    result(4, "accept", r, errno);
    return a;
}

static void *park_poll(void *a) {
    struct pollfd p = {pipe_poll[0], POLLIN, 0};
    long r = poll(&p, 1, -1);
    result(5, "poll", r, errno);
    return a;
}

static void *park_poll_timeout(void *a) {
    struct pollfd p = {pipe_poll_t[0], POLLIN, 0};
    long r = poll(&p, 1, 60000);
    if (r == 0) {
        snprintf(results[6], sizeof results[6], "poll_timeout=timedout");
        return a;
    }
    result(6, "poll_timeout", r, errno);
    return a;
}

/* epoll_wait is never restarted: any ptrace stop ends it with EINTR, so
   it is retried as real programs do, and the EINTRs are counted. */
static void *park_epoll(void *a) {
    struct epoll_event ev;
    long r, eintr = 0;
    while ((r = epoll_wait(epoll_fd, &ev, 1, -1)) < 0 && errno == EINTR)
        eintr++;
    if (r < 0)
        result(7, "epoll_wait", r, errno);
    else
        snprintf(results[7], sizeof results[7], "epoll_wait=ok eintr=%ld", eintr);
    return a;
}

static void on_sigchld(int sig) {
    (void)sig;
    sigchld_count++;
}

static void *watch_children(void *a) {
    while (!stop_all) {
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p > 0)
            waited_count++;
        usleep(1000);
    }
    return a;
}

/* Two counters kept equal under a mutex, a page apart (a dump that read
   them at different times would show them far apart). */
static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t counters[1024] __attribute__((aligned(4096)));
#define SECOND_COUNTER 512

static void *count(void *a) {
    while (!stop_all) {
        pthread_mutex_lock(&counters_lock);
        counters[0]++;
        counters[SECOND_COUNTER]++;
        pthread_mutex_unlock(&counters_lock);
    }
    return a;
}

/* Sweeps over a mapping (see --sweep-mib); sweep_gen and sweep_pos are
   written after the page they describe. */
static uint64_t *sweep_map;
static size_t sweep_pages;
static volatile uint64_t sweep_gen, sweep_pos;
static void *sweep(void *a) {
    for (uint64_t gen = 2; !stop_all; gen++) {
        __atomic_store_n(&sweep_pos, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&sweep_gen, gen, __ATOMIC_RELEASE);
        for (size_t p = 0; p < sweep_pages && !stop_all; p++) {
            __atomic_store_n(&sweep_map[p * 512], gen, __ATOMIC_RELEASE);
            __atomic_store_n(&sweep_pos, p + 1, __ATOMIC_RELEASE);
            if (p % 64 == 63)
                usleep(1000);
        }
        usleep(20 * 1000);
    }
    return a;
}

/* A buffer rewritten with a seed-derived pattern and verified, forever. */
static volatile uint64_t checks;
static void *checksum(void *a) {
    size_t n = (1 << 20) / 8;
    uint64_t *buf = malloc(n * 8);
    for (uint64_t seed = 1; !stop_all; seed++) {
        uint64_t sum = 0, want = 0;
        for (size_t i = 0; i < n; i++) {
            buf[i] = seed * 0x9e3779b97f4a7c15ull + i;
            want += seed * 0x9e3779b97f4a7c15ull + i;
        }
        for (size_t i = 0; i < n; i++)
            sum += buf[i];
        if (sum != want)
            bad_count++;
        checks++;
    }
    free(buf);
    return a;
}

static void kill_on_clone(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 4, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fork, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_vfork, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 435 /* clone3 */, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog)) {
        perror("seccomp");
        exit(3);
    }
}

int main(int argc, char **argv) {
    int ncounters = 0, do_checksum = 0, seccomp = 0, quiescent = 0;
    long heap_mib = 0, uncopied_kib = 0, sweep_mib = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--counters") && i + 1 < argc) ncounters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--checksum")) do_checksum = 1;
        else if (!strcmp(argv[i], "--seccomp-kill-clone")) seccomp = 1;
        else if (!strcmp(argv[i], "--quiescent")) quiescent = 1;
        else if (!strcmp(argv[i], "--uncopied-kib") && i + 1 < argc) uncopied_kib = atol(argv[++i]);
        else if (!strcmp(argv[i], "--heap-mib") && i + 1 < argc) heap_mib = atol(argv[++i]);
        else if (!strcmp(argv[i], "--sweep-mib") && i + 1 < argc) sweep_mib = atol(argv[++i]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *heap = NULL;
    if (heap_mib > 0) {
        heap = malloc(heap_mib << 20);
        for (long i = 0; i < heap_mib << 20; i++)
            heap[i] = (char)(i * 7 + 3);
    }
    char *dontfork = NULL, *wipeonfork = NULL;
    if (uncopied_kib > 0) {
        size_t len = (size_t)uncopied_kib << 10;
        dontfork = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        wipeonfork = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < len; i += 8) {
            memcpy(dontfork + i, "DONTFORK", 8);
            memcpy(wipeonfork + i, "WIPEONFK", 8);
        }
        if (madvise(dontfork, len, MADV_DONTFORK) || madvise(wipeonfork, len, MADV_WIPEONFORK)) {
            perror("madvise");
            return 7;
        }
    }
    if (sweep_mib > 0) {
        size_t len = (size_t)sweep_mib << 20;
        sweep_map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (sweep_map == MAP_FAILED)
            return 8;
        sweep_pages = len / 4096;
        /* Sweep 1, whole: every page holds 1 before the thread starts. */
        for (size_t p = 0; p < sweep_pages; p++)
            sweep_map[p * 512] = 1;
        sweep_gen = 1;
        sweep_pos = sweep_pages;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    if (pipe(pipe_read) || pipe(pipe_poll) || pipe(pipe_poll_t) || pipe(pipe_epoll))
        return 4;
    listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    /* An abstract socket: no file to clean up. */
    snprintf(sock_path, sizeof sock_path, "coroner-snapshot-target-%d", getpid());
    memcpy(addr.sun_path + 1, sock_path, strlen(sock_path));
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sock_path);
    if (bind(listen_fd, (struct sockaddr *)&addr, alen) || listen(listen_fd, 4))
        return 5;
    epoll_fd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, pipe_epoll[0], &ev);

    void *(*parkers[])(void *) = {park_read, park_futex, park_futex_timeout, park_nanosleep,
                                  park_accept, park_poll, park_poll_timeout, park_epoll};
    int nparked = sizeof parkers / sizeof parkers[0];
    pthread_t threads[64];
    int n = 0;
    const char *names[] = {"p-read", "p-futex", "p-futex_t", "p-nanosleep",
                           "p-accept", "p-poll", "p-poll_t", "p-epoll"};
    for (int i = 0; i < nparked; i++) {
        if (quiescent && (parkers[i] == park_epoll || parkers[i] == park_nanosleep)) {
            snprintf(results[i], sizeof results[i], "%s=ok", names[i] + 2);
            continue;
        }
        pthread_create(&threads[n], NULL, parkers[i], NULL);
        pthread_setname_np(threads[n++], names[i]);
    }
    if (!quiescent) {
        pthread_create(&threads[n], NULL, watch_children, NULL);
        pthread_setname_np(threads[n++], "watcher");
    }
    for (int i = 0; i < ncounters && n < 60; i++) {
        pthread_create(&threads[n], NULL, count, NULL);
        pthread_setname_np(threads[n++], "counter");
    }
    if (do_checksum) {
        pthread_create(&threads[n], NULL, checksum, NULL);
        pthread_setname_np(threads[n++], "checksum");
    }
    if (sweep_mib > 0) {
        pthread_create(&threads[n], NULL, sweep, NULL);
        pthread_setname_np(threads[n++], "sweep");
    }
    if (seccomp)
        kill_on_clone();
    /* Let the parked threads reach their calls. */
    usleep(100 * 1000);
    printf("READY pid=%d counters=%p second_counter=%p lock=%p checks=%p bad=%p heap=%p "
           "dontfork=%p wipeonfork=%p sweep=%p sweep_gen=%p sweep_pos=%p sweep_pages=%zu\n",
           getpid(), (void *)counters, (void *)&counters[SECOND_COUNTER], (void *)&counters_lock,
           (void *)&checks, (void *)&bad_count, (void *)heap, (void *)dontfork, (void *)wipeonfork,
           (void *)sweep_map, (void *)&sweep_gen, (void *)&sweep_pos, sweep_pages);

    char line[64];
    long r;
    for (;;) {
        r = read(0, line, sizeof line - 1);
        if (r < 0 && errno == EINTR) {
            printf("RESULT main_read=EINTR\n");
            continue;
        }
        break;
    }
    if (r <= 0)
        return 0;
    stop_all = 1;
    /* Wake every parked call (a write to a pipe nobody reads is harmless). */
    if (write(pipe_read[1], "x", 1) != 1 || write(pipe_poll[1], "x", 1) != 1 ||
        write(pipe_poll_t[1], "x", 1) != 1 || write(pipe_epoll[1], "x", 1) != 1)
        return 6;
    __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
    __atomic_store_n(&futex_t_word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &futex_t_word, FUTEX_WAKE, 1, NULL, NULL, 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&addr, alen);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < nparked; i++)
        printf("RESULT %s\n", results[i]);
    printf("SIGCHLD %ld\nWAITED %ld\nBAD %ld\nCHECKS %lu\n", sigchld_count, waited_count,
           bad_count, (unsigned long)checks);
    if (heap) {
        for (long i = 0; i < heap_mib << 20; i++)
            if (heap[i] != (char)(i * 7 + 3)) {
                printf("HEAP changed at %ld\n", i);
                break;
            }
    }
    printf("DONE\n");
    return 0;
}
