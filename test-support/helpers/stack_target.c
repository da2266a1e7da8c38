/*
 * The process `coroner stack`'s tests unwind. Compiled -O2
 * -fomit-frame-pointer -g (see build.rs): unwinding it needs the DWARF CFI,
 * frame pointers would not do. Every thread parks at the end of a distinct,
 * known call chain that includes an inlined function, a recursion, a call
 * through libc (qsort's comparison callback) and tail calls, so a
 * backtrace can be compared frame by frame with gdb's and
 * minidump-stackwalk's. A tail call (a jump that reuses the caller's frame)
 * leaves no frame on the stack; gdb puts it back from the DWARF call-site
 * records, and so must `coroner stack`: stack_tail_call jumps to
 * stack_middle, and glibc's qsort jumps to qsort_r (a frame only with
 * libc's debug info, libc6-dbg, which both tools then read).
 *
 * Options (all optional):
 *   --threads N   worker threads (default 4); main is one more
 *   --crash       after READY, the main thread writes through NULL
 *   --gap-probe   one more thread, "gap-probe", that wakes every 100 us and
 *                 keeps the longest time it saw between two wake-ups (in
 *                 ns, a u64 at the address READY prints as gap=): how long a
 *                 tool held the process stopped, seen from inside. Write 0
 *                 there (/proc/PID/mem) to start a new measurement.
 *
 * Prints `READY pid=<pid> threads=<n> gap=<addr>` once every worker is
 * parked, then waits in pause() until killed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int parked;
static volatile int sink;
static int crash;
volatile uint64_t longest_gap_ns;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void *gap_probe(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "gap-probe");
    uint64_t last = now_ns();
    for (;;) {
        usleep(100);
        uint64_t t = now_ns();
        if (t - last > longest_gap_ns)
            longest_gap_ns = t - last;
        last = t;
    }
    return NULL;
}

/* The innermost frame of every worker: loops in pause(). */
__attribute__((noinline)) void stack_park(int depth) {
    atomic_fetch_add(&parked, 1);
    for (;;) {
        pause();
        sink += depth;
    }
}

/* Recursion: `depth` frames of stack_recurse on the stack. (GCC sees that
 * stack_park never returns and warns of endless recursion: not so.) */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) int stack_recurse(int depth) {
    if (depth <= 0) {
        stack_park(depth);
        return 0;
    }
    int r = stack_recurse(depth - 1);
    sink += r; /* work after the call: no tail call */
    return r + 1;
}

/* Inlined into its caller; debuggers still show it as its own frame. */
static inline __attribute__((always_inline)) int stack_inlined(int depth) {
    int r = stack_recurse(depth);
    sink += r;
    return r;
}

__attribute__((noinline)) int stack_middle(int depth) {
    int r = stack_inlined(depth);
    sink += r;
    return r * 2;
}

/* Ends with a jump to stack_middle (-O2 makes the call a tail call): no
 * frame of it stays on the stack. */
__attribute__((noinline)) int stack_tail_call(int depth) {
    return stack_middle(depth);
}

/* qsort's comparison callback: a worker parks from inside libc. */
static int compare_and_park(const void *a, const void *b) {
    stack_middle(1);
    return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) void stack_through_libc(void) {
    int values[2] = {2, 1};
    qsort(values, 2, sizeof values[0], compare_and_park);
    sink += values[0];
}

__attribute__((noinline)) static void *worker_main(void *arg) {
    long i = (long)arg;
    char name[16];
    snprintf(name, sizeof name, "stack-%ld", i);
    pthread_setname_np(pthread_self(), name);
    if (i % 3 == 0)
        stack_middle((int)(i % 4) + 1);
    else if (i % 3 == 1)
        stack_through_libc();
    else
        sink += stack_tail_call((int)(i % 4) + 1);
    return NULL;
}

__attribute__((noinline)) void main_wait(void) {
    if (crash)
        *(volatile int *)0 = 1;
    for (;;)
        pause();
}

int main(int argc, char **argv) {
    long threads = 4;
    int probe = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atol(argv[++i]);
        else if (strcmp(argv[i], "--crash") == 0)
            crash = 1;
        else if (strcmp(argv[i], "--gap-probe") == 0)
            probe = 1;
    }
    if (probe) {
        pthread_t t;
        if (pthread_create(&t, NULL, gap_probe, NULL) != 0) {
            perror("pthread_create");
            return 3;
        }
    }
    for (long i = 0; i < threads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker_main, (void *)i) != 0) {
            perror("pthread_create");
            return 3;
        }
    }
    while (atomic_load(&parked) < threads)
        usleep(1000);
    printf("READY pid=%d threads=%ld gap=%p\n", (int)getpid(), threads,
           (void *)&longest_gap_ns);
    fflush(stdout);
    main_wait();
    return 0;
}
