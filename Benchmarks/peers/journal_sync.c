/* What a journal sync costs on this disk, three ways (decision 0009, "Written over in place"):
 * appending to a file (mode 0), writing into space reserved with fallocate (1), and writing
 * over a file already filled with zeros (2); N writes of SIZE bytes, each followed by fdatasync.
 * Usage: journal_sync MODE SIZE [FILE]   e.g. for m in 0 1 2; do journal_sync $m 4096; done */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double cpu(void) {
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: journal_sync MODE SIZE [FILE]\n"); return 64; }
    int mode = atoi(argv[1]), size = atoi(argv[2]), n = 3000;
    const char *path = argc > 3 ? argv[3] : "journal_sync.tmp";
    char *buf = malloc(size);
    for (int i = 0; i < size; i++) buf[i] = (char)i;
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | (mode == 0 ? O_APPEND : 0), 0600);
    if (fd < 0) { perror("open"); return 1; }
    off_t total = (off_t)n * size + 4096;
    if (mode == 1 && fallocate(fd, 0, 0, total)) { perror("fallocate"); return 1; }
    if (mode == 2) {
        static char zeros[65536];
        for (off_t o = 0; o < total; o += sizeof zeros) if (write(fd, zeros, sizeof zeros) < 0) { perror("write"); return 1; }
    }
    fsync(fd);
    double t0 = now(), c0 = cpu();
    for (int i = 0; i < n; i++) {
        ssize_t w = mode == 0 ? write(fd, buf, size) : pwrite(fd, buf, size, (off_t)i * size);
        if (w != size || fdatasync(fd)) { perror("write"); return 1; }
    }
    double t = now() - t0, c = cpu() - c0;
    printf("mode %d size %d: %.1f us/sync, cpu %.1f us/sync\n", mode, size, t / n * 1e6, c / n * 1e6);
    close(fd);
    unlink(path);
    return 0;
}
