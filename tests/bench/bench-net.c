/* Loopback client and server for tests/bench/proxy.sh (no socat, iperf3
 * or nc on our hosts). Compiled on the fly: cc -O2 -pthread -o bench-net
 * bench-net.c
 *
 *   bench-net server PORT
 *       Listens on 127.0.0.1:PORT; a thread per connection. A connection
 *       whose first byte is 't' is a sink: read to end of stream, then
 *       the count (8 bytes) is sent back. Any other first byte is echoed,
 *       and so is the rest until end of stream.
 *
 *   bench-net tput PORT MIB
 *       Sends MIB MiB (after the 't') on one connection to 127.0.0.1:PORT,
 *       half-closes, waits for the server's count. Prints MiB/s from
 *       connect to count, and exits 1 if the count is wrong.
 *
 *   bench-net relay PORT TARGET_PORT
 *       The plainest user-space relay, for reference: listens on
 *       127.0.0.1:PORT, connects each connection to 127.0.0.1:TARGET_PORT,
 *       and copies each direction with read/write on a thread of its own,
 *       passing half-closes on.
 *
 *   bench-net lat PORT N
 *       N times: connect to 127.0.0.1:PORT, send one byte, read it back,
 *       close. Prints one line per round trip: nanoseconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t m = write(fd, p, n);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) return -1;
        p += m;
        n -= (size_t)m;
    }
    return 0;
}

static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    size_t size = 1 << 18;
    char first, *buf = malloc(size);
    if (buf && read(fd, &first, 1) == 1) {
        if (first == 't') {
            uint64_t total = 0;
            ssize_t n;
            while ((n = read(fd, buf, size)) > 0) total += (uint64_t)n;
            write_all(fd, (const char *)&total, sizeof total);
        } else {
            ssize_t n = 1;
            buf[0] = first;
            do {
                if (write_all(fd, buf, (size_t)n) < 0) break;
            } while ((n = read(fd, buf, size)) > 0);
        }
    }
    free(buf);
    close(fd);
    return NULL;
}

static int server(int port) {
    int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(port);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1024) < 0) {
        perror("bench-net server");
        return 1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 << 10);
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, &attr, serve, (void *)(intptr_t)c) != 0) close(c);
    }
}

static int dial(int port);

struct copy_job {
    int from, to;
};

static void *copy_direction(void *arg) {
    struct copy_job *j = arg;
    size_t size = 1 << 18;
    char *buf = malloc(size);
    ssize_t n;
    while (buf && (n = read(j->from, buf, size)) > 0)
        if (write_all(j->to, buf, (size_t)n) < 0) break;
    shutdown(j->to, SHUT_WR);
    free(buf);
    return NULL;
}

static void *relay_connection(void *arg) {
    int c = (int)(intptr_t)arg >> 16, port = (int)(intptr_t)arg & 0xffff;
    int t = dial(port);
    struct copy_job up = {c, t}, down = {t, c};
    pthread_t back;
    if (pthread_create(&back, NULL, copy_direction, &down) == 0) {
        copy_direction(&up);
        pthread_join(back, NULL);
    }
    close(c);
    close(t);
    return NULL;
}

static int relay(int port, int target) {
    int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(port);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1024) < 0) {
        perror("bench-net relay");
        return 1;
    }
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, NULL, relay_connection, (void *)(intptr_t)((c << 16) | target)) != 0)
            close(c);
        else
            pthread_detach(t);
    }
}

static int dial(int port) {
    int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(port);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bench-net connect");
        exit(1);
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

static int tput(int port, long mib) {
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    long long t0 = now_ns();
    int s = dial(port);
    if (write_all(s, "t", 1) < 0) return 1;
    for (long i = 0; i < mib; i++)
        if (write_all(s, buf, sizeof buf) < 0) {
            perror("bench-net send");
            return 1;
        }
    shutdown(s, SHUT_WR);
    uint64_t total = 0;
    size_t got = 0;
    while (got < sizeof total) {
        ssize_t n = read(s, (char *)&total + got, sizeof total - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    long long t1 = now_ns();
    close(s);
    if (got != sizeof total || total != (uint64_t)mib << 20) {
        fprintf(stderr, "bench-net: the server counted %llu bytes of %llu\n", (unsigned long long)total,
                (unsigned long long)mib << 20);
        return 1;
    }
    printf("%.1f\n", (double)mib / ((t1 - t0) / 1e9));
    return 0;
}

static int lat(int port, long n) {
    for (long i = 0; i < n; i++) {
        char c = 'x';
        long long t0 = now_ns();
        int s = dial(port);
        if (write_all(s, &c, 1) < 0 || read(s, &c, 1) != 1) {
            fprintf(stderr, "bench-net: no echo\n");
            return 1;
        }
        long long t1 = now_ns();
        close(s);
        printf("%lld\n", t1 - t0);
    }
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && !strcmp(argv[1], "server")) return server(atoi(argv[2]));
    if (argc == 4 && !strcmp(argv[1], "tput")) return tput(atoi(argv[2]), atol(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "relay")) return relay(atoi(argv[2]), atoi(argv[3]));
    if (argc == 4 && !strcmp(argv[1], "lat")) return lat(atoi(argv[2]), atol(argv[3]));
    fprintf(stderr, "usage: bench-net server PORT | tput PORT MIB | relay PORT TARGET_PORT | lat PORT N\n");
    return 2;
}
