/* Writes the data tree tests/bench/storage-vs-lxd.sh puts into an instance
 * before snapshotting it: a quarter of the size in small files (4-64 KiB,
 * 256 to a directory), a quarter in 1 MiB files, half in four large files.
 * The content is pseudo-random (xorshift), so no filesystem can compress,
 * dedupe or hole-punch it. Compiled on the fly (cc -O2 -o bench-tree
 * bench-tree.c).
 *
 *   bench-tree DIR MIB
 *       Creates DIR (which must not exist) holding MIB mebibytes of files.
 *       Prints "FILES BYTES".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static uint64_t buf[(1 << 20) / sizeof(uint64_t)];
static long long files, bytes;

static void die(const char *what, const char *path) {
    fprintf(stderr, "bench-tree: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void refill(size_t n) {
    for (size_t i = 0; i < (n + 7) / 8; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        buf[i] = state;
    }
}

static void make_dir(const char *path) {
    if (mkdir(path, 0755) < 0)
        die("cannot create", path);
}

static void write_file(const char *path, long long size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        die("cannot create", path);
    while (size > 0) {
        size_t n = size < (long long)sizeof buf ? (size_t)size : sizeof buf;
        refill(n);
        for (size_t done = 0; done < n;) {
            ssize_t w = write(fd, (char *)buf + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                die("cannot write", path);
            done += (size_t)w;
        }
        size -= (long long)n;
        bytes += (long long)n;
    }
    if (close(fd) < 0)
        die("cannot write", path);
    files++;
}

int main(int argc, char **argv) {
    if (argc != 3 || atoll(argv[2]) <= 0) {
        fprintf(stderr, "usage: bench-tree DIR MIB\n");
        return 2;
    }
    const char *root = argv[1];
    long long total = atoll(argv[2]) << 20;
    char path[4096];
    make_dir(root);

    static const int small_kib[] = {4, 8, 16, 32, 64};
    long long budget = total / 4;
    snprintf(path, sizeof path, "%s/small", root);
    make_dir(path);
    for (long long i = 0; budget > 0; i++) {
        if (i % 256 == 0) {
            snprintf(path, sizeof path, "%s/small/%04lld", root, i / 256);
            make_dir(path);
        }
        long long size = (long long)small_kib[i % 5] << 10;
        if (size > budget)
            size = budget;
        snprintf(path, sizeof path, "%s/small/%04lld/f%lld", root, i / 256, i);
        write_file(path, size);
        budget -= size;
    }

    budget = total / 4;
    snprintf(path, sizeof path, "%s/medium", root);
    make_dir(path);
    for (long long i = 0; budget > 0; i++) {
        long long size = budget < (1 << 20) ? budget : (1 << 20);
        snprintf(path, sizeof path, "%s/medium/m%lld", root, i);
        write_file(path, size);
        budget -= size;
    }

    budget = total - total / 4 * 2;
    snprintf(path, sizeof path, "%s/large", root);
    make_dir(path);
    for (int i = 0; i < 4; i++) {
        long long size = i < 3 ? budget / 4 : budget - budget / 4 * 3;
        snprintf(path, sizeof path, "%s/large/l%d", root, i);
        write_file(path, size);
    }
    printf("%lld %lld\n", files, bytes);
    return 0;
}
