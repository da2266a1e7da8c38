/*
 * Workload for bench/snapshot.sh: DATA MiB of non-zero data, ZERO MiB of
 * touched zero pages, a RESERVE GiB untouched reservation, optionally on
 * transparent huge pages; a heartbeat thread that measures the longest gap
 * between its 1 ms ticks (the longest stall, as the process itself sees
 * it); optionally a writer that rewrites the data at WRITE MiB/s.
 *
 * usage: snapshot-workload DATA_MIB ZERO_MIB RESERVE_GIB HUGE(0|1) WRITE_MIB_S STALL_FILE
 * STALL_FILE holds the longest gap in microseconds since the last SIGUSR1.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t reset;
static char *data;
static size_t data_len;
static long write_mib_s;
static int stall_fd;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_usr1(int s) { (void)s; reset = 1; }

static void *heartbeat(void *a) {
    uint64_t last = now_us(), max = 0;
    for (;;) {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
        uint64_t n = now_us(), gap = n - last;
        last = n;
        if (reset) {
            reset = 0;
            max = 0;
        }
        if (gap > max) {
            max = gap;
            char buf[32];
            int len = snprintf(buf, sizeof buf, "%llu\n", (unsigned long long)max);
            if (pwrite(stall_fd, buf, (size_t)len, 0) < 0) perror("pwrite");
            if (ftruncate(stall_fd, len) < 0) perror("ftruncate");
        }
    }
    return a;
}

/* Touch one byte per page, WRITE MiB/s, round and round. */
static void *writer(void *a) {
    size_t off = 0, per_tick = ((size_t)write_mib_s << 20) / 100;
    for (unsigned char v = 1;; v++) {
        for (size_t done = 0; done < per_tick; done += 4096) {
            data[off] = (char)v;
            off = (off + 4096) % data_len;
        }
        struct timespec t = {0, 10000000};
        nanosleep(&t, NULL);
    }
    return a;
}

static char *region(size_t len, int huge) {
    /* 2 MiB aligned, so huge pages can back it. */
    size_t align = 2 << 20;
    char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    char *a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    madvise(a, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    return a;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s DATA_MIB ZERO_MIB RESERVE_GIB HUGE WRITE_MIB_S STALL_FILE\n", argv[0]);
        return 2;
    }
    long data_mib = atol(argv[1]), zero_mib = atol(argv[2]), reserve_gib = atol(argv[3]);
    int huge = atoi(argv[4]);
    write_mib_s = atol(argv[5]);
    stall_fd = open(argv[6], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    data_len = (size_t)data_mib << 20;
    data = region(data_len, huge);
    for (size_t i = 0; i < data_len; i += 8)
        *(uint64_t *)(data + i) = 0x434f524f4e455200ull + i;
    size_t zero_len = (size_t)zero_mib << 20;
    if (zero_len) {
        char *z = region(zero_len, huge);
        for (size_t i = 0; i < zero_len; i += 4096) z[i] = 0;
    }
    if (reserve_gib)
        mmap(NULL, (size_t)reserve_gib << 30, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    signal(SIGUSR1, on_usr1);
    pthread_t t;
    pthread_create(&t, NULL, heartbeat, NULL);
    if (write_mib_s > 0) pthread_create(&t, NULL, writer, NULL);
    printf("READY pid=%d\n", getpid());
    fflush(stdout);
    for (;;) pause();
}
