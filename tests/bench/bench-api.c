/* Drives an LXD-style REST API (LXD's or lodged's) over its unix socket for
 * tests/bench/daemon-vs-lxd.sh, timing requests from inside one process:
 * no client start-up, no shell in any figure. HTTP/1.1 with keep-alive;
 * answers may come with Content-Length or chunked. Compiled on the fly by
 * the script (cc -O2 -o bench-api bench-api.c).
 *
 *   bench-api SOCKET get N PATH
 *       N GETs of PATH, one after the other over one kept-open connection,
 *       after one untimed GET that opens it. Prints one line per request:
 *       nanoseconds from the first byte sent to the last byte of the answer
 *       read.
 *
 *   bench-api SOCKET create PREFIX FIRST COUNT
 *       Creates the empty instances PREFIX<FIRST> .. PREFIX<FIRST+COUNT-1>
 *       (source type none), one at a time: POST /1.0/instances, then GET
 *       /1.0/operations/<id>/wait on the same connection. Prints one line per
 *       instance: nanoseconds from the POST to the end of the wait.
 *
 *   bench-api SOCKET launch NAME ALIAS [POOL]
 *       Creates NAME from the image ALIAS and starts it, as `lxc launch`
 *       asks the daemon to (POST /1.0/instances, wait; PUT .../state start,
 *       wait). Prints "CREATE_NS START_NS". With POOL, the root disk is on
 *       that pool (as `lxc launch -s POOL` asks).
 *
 *   bench-api SOCKET lease NAME IFACE
 *       Starts the stopped instance NAME (PUT .../state start, wait), then
 *       asks GET /1.0/instances/NAME/state every 10 ms until IFACE has an
 *       IPv4 address there (from the guest's DHCP client). Prints
 *       "START_NS RUNNING_TO_ADDRESS_NS"; dies after 60 s without one.
 *
 *   bench-api SOCKET snapshot NAME SNAPSHOT
 *       Takes the snapshot SNAPSHOT of the instance NAME (POST
 *       /1.0/instances/NAME/snapshots, wait). Prints nanoseconds from the
 *       POST to the end of the wait.
 *
 * Every operation waited for must end with status code 200, every answer
 * with a 2xx status; otherwise it says what came back on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *socket_path;
static int conn = -1;
static int reconnects = -1; /* the first connect is not a reconnect */

/* Bytes read from the socket but not consumed yet (the next answer's, in
 * principle none with one request in flight). */
static char rbuf[65536];
static size_t rlen, rpos;

/* The last answer. */
static int status;
static char *body;
static size_t body_len, body_cap;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench-api: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void connect_socket(void) {
    if (conn >= 0)
        close(conn);
    conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn < 0)
        die("socket: %s", strerror(errno));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof addr.sun_path)
        die("socket path too long: %s", socket_path);
    strcpy(addr.sun_path, socket_path);
    if (connect(conn, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("cannot connect to %s: %s", socket_path, strerror(errno));
    rlen = rpos = 0;
    reconnects++;
}

/* Refills rbuf; returns 0 at end of stream. */
static int fill(void) {
    if (rpos < rlen)
        return 1;
    ssize_t n;
    do
        n = read(conn, rbuf, sizeof rbuf);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        die("read: %s", strerror(errno));
    rlen = (size_t)n;
    rpos = 0;
    return n > 0;
}

/* Reads one CRLF-terminated line (without the CRLF) into line. */
static int read_line(char *line, size_t cap) {
    size_t n = 0;
    for (;;) {
        if (!fill())
            return 0;
        char c = rbuf[rpos++];
        if (c == '\n') {
            if (n > 0 && line[n - 1] == '\r')
                n--;
            line[n] = '\0';
            return 1;
        }
        if (n + 1 < cap)
            line[n++] = c;
    }
}

static void body_append(const char *p, size_t n) {
    if (body_len + n + 1 > body_cap) {
        while (body_len + n + 1 > body_cap)
            body_cap = body_cap ? body_cap * 2 : 65536;
        body = realloc(body, body_cap);
        if (!body)
            die("out of memory");
    }
    memcpy(body + body_len, p, n);
    body_len += n;
    body[body_len] = '\0';
}

static void read_exact(size_t n) {
    while (n > 0) {
        if (!fill())
            die("the daemon closed the connection in the middle of an answer");
        size_t take = rlen - rpos < n ? rlen - rpos : n;
        body_append(rbuf + rpos, take);
        rpos += take;
        n -= take;
    }
}

/* Reads one answer; returns 0 when the connection was closed before its
 * first byte (a kept-alive connection the server dropped). */
static int read_answer(int *server_closes) {
    char line[8192];
    body_len = 0;
    if (!read_line(line, sizeof line))
        return 0;
    if (sscanf(line, "HTTP/1.%*d %d", &status) != 1)
        die("not an HTTP status line: %s", line);
    long long content_length = -1;
    int chunked = 0;
    *server_closes = 0;
    for (;;) {
        if (!read_line(line, sizeof line))
            die("the daemon closed the connection in the headers");
        if (line[0] == '\0')
            break;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            content_length = atoll(line + 15);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strcasestr(line + 18, "chunked"))
            chunked = 1;
        else if (strncasecmp(line, "Connection:", 11) == 0 && strcasestr(line + 11, "close"))
            *server_closes = 1;
    }
    if (chunked) {
        for (;;) {
            if (!read_line(line, sizeof line))
                die("the daemon closed the connection in a chunked answer");
            size_t size = strtoul(line, NULL, 16);
            if (size == 0) {
                while (read_line(line, sizeof line) && line[0] != '\0')
                    ; /* trailers */
                break;
            }
            read_exact(size);
            read_line(line, sizeof line); /* the CRLF after the chunk */
        }
    } else if (content_length >= 0) {
        read_exact((size_t)content_length);
    } else {
        while (fill()) { /* the answer ends with the connection */
            body_append(rbuf + rpos, rlen - rpos);
            rpos = rlen;
        }
        *server_closes = 1;
    }
    if (!body)
        body_append("", 0);
    return 1;
}

/* Returns 0 when the server has gone away (EPIPE, ECONNRESET). */
static int write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(conn, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            return 0;
        if (w < 0)
            die("write: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

/* Sends one request and reads its answer into status/body. A connection the
 * server closed while idle is opened again once (counted in reconnects). */
static void request(const char *method, const char *path, const char *json) {
    char head[4096];
    size_t blen = json ? strlen(json) : 0;
    int hlen = snprintf(head, sizeof head,
                        "%s %s HTTP/1.1\r\nHost: lxd\r\nUser-Agent: bench-api\r\n%s"
                        "Content-Length: %zu\r\n\r\n",
                        method, path, json ? "Content-Type: application/json\r\n" : "", blen);
    for (int attempt = 0;; attempt++) {
        if (conn < 0)
            connect_socket();
        int closes;
        if (write_all(head, (size_t)hlen) && (!blen || write_all(json, blen)) && read_answer(&closes)) {
            if (closes) {
                close(conn);
                conn = -1;
            }
            break;
        }
        if (attempt > 0)
            die("%s %s: the daemon closed the connection without answering", method, path);
        close(conn);
        conn = -1;
    }
    if (status < 200 || status > 299)
        die("%s %s: HTTP %d: %s", method, path, status, body);
}

/* --- just enough JSON to pick fields out of an answer ------------------- */

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Returns the end of the JSON value starting at p (after skipping blanks),
 * or NULL when it is malformed. */
static const char *skip_value(const char *p) {
    p = skip_ws(p);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : NULL;
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = skip_value(p); /* the key */
                if (!p || *(p = skip_ws(p)) != ':')
                    return NULL;
                p++;
            }
            p = skip_value(p);
            if (!p)
                return NULL;
            p = skip_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    const char *start = p;
    while (*p && !strchr(",}] \t\r\n", *p))
        p++;
    return p > start ? p : NULL;
}

/* The value of KEY in the JSON object at obj (its own keys only), or NULL. */
static const char *json_get(const char *obj, const char *key) {
    const char *p = skip_ws(obj);
    if (*p != '{')
        return NULL;
    p = skip_ws(p + 1);
    size_t klen = strlen(key);
    while (*p == '"') {
        const char *kend = skip_value(p);
        if (!kend)
            return NULL;
        int match = (size_t)(kend - p) == klen + 2 && strncmp(p + 1, key, klen) == 0;
        p = skip_ws(kend);
        if (*p != ':')
            return NULL;
        p = skip_ws(p + 1);
        if (match)
            return p;
        p = skip_value(p);
        if (!p)
            return NULL;
        p = skip_ws(p);
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1);
    }
    return NULL;
}

/* Copies the JSON string at v (no escapes expected) into out. */
static int json_string(const char *v, char *out, size_t cap) {
    if (!v || *v != '"')
        return 0;
    const char *end = strchr(v + 1, '"');
    if (!end || (size_t)(end - v - 1) >= cap)
        return 0;
    memcpy(out, v + 1, (size_t)(end - v - 1));
    out[end - v - 1] = '\0';
    return 1;
}

/* Sends an async request and waits for its operation on the same
 * connection; dies unless the operation ends with status code 200. */
static void request_and_wait(const char *method, const char *path, const char *json) {
    request(method, path, json);
    char op[512];
    if (!json_string(json_get(body, "operation"), op, sizeof op) || op[0] == '\0')
        die("%s %s: no operation in the answer: %s", method, path, body);
    char wait_path[600];
    snprintf(wait_path, sizeof wait_path, "%s/wait", op);
    request("GET", wait_path, NULL);
    const char *md = json_get(body, "metadata");
    const char *code = md ? json_get(md, "status_code") : NULL;
    if (!code || atoi(code) != 200)
        die("%s %s: the operation failed: %s", method, path, body);
}

static int cmd_get(int n, const char *path) {
    request("GET", path, NULL); /* untimed: connects, warms both sides up */
    for (int i = 0; i < n; i++) {
        long long t0 = now_ns();
        request("GET", path, NULL);
        long long t1 = now_ns();
        printf("%lld\n", t1 - t0);
    }
    return 0;
}

static int cmd_create(const char *prefix, int first, int count) {
    char json[512];
    for (int i = first; i < first + count; i++) {
        snprintf(json, sizeof json, "{\"name\":\"%s%d\",\"source\":{\"type\":\"none\"}}", prefix, i);
        long long t0 = now_ns();
        request_and_wait("POST", "/1.0/instances", json);
        printf("%lld\n", now_ns() - t0);
    }
    return 0;
}

static int cmd_launch(const char *name, const char *alias, const char *pool) {
    char json[1024], path[512], devices[512] = "";
    if (pool)
        snprintf(devices, sizeof devices,
                 ",\"devices\":{\"root\":{\"type\":\"disk\",\"path\":\"/\",\"pool\":\"%s\"}}", pool);
    snprintf(json, sizeof json, "{\"name\":\"%s\",\"source\":{\"type\":\"image\",\"alias\":\"%s\"}%s}", name,
             alias, devices);
    long long t0 = now_ns();
    request_and_wait("POST", "/1.0/instances", json);
    long long t1 = now_ns();
    snprintf(path, sizeof path, "/1.0/instances/%s/state", name);
    request_and_wait("PUT", path, "{\"action\":\"start\",\"timeout\":-1}");
    long long t2 = now_ns();
    printf("%lld %lld\n", t1 - t0, t2 - t1);
    return 0;
}

/* Whether the state's network.IFACE lists an address of family inet. */
static int has_ipv4(const char *iface) {
    const char *md = json_get(body, "metadata");
    const char *net = md ? json_get(md, "network") : NULL;
    const char *dev = net && *net == '{' ? json_get(net, iface) : NULL;
    const char *addrs = dev ? json_get(dev, "addresses") : NULL;
    if (!addrs || *addrs != '[')
        return 0;
    const char *end = skip_value(addrs);
    for (const char *p = addrs; p && p < end && (p = strstr(p, "\"family\"")) && p < end; p++) {
        const char *v = skip_ws(p + 8);
        if (*v == ':' && strncmp(skip_ws(v + 1), "\"inet\"", 6) == 0)
            return 1;
    }
    return 0;
}

static int cmd_lease(const char *name, const char *iface) {
    char path[512];
    snprintf(path, sizeof path, "/1.0/instances/%s/state", name);
    long long t0 = now_ns();
    request_and_wait("PUT", path, "{\"action\":\"start\",\"timeout\":-1}");
    long long t1 = now_ns();
    for (;;) {
        request("GET", path, NULL);
        if (has_ipv4(iface))
            break;
        if (now_ns() - t1 > 60LL * 1000000000LL)
            die("%s: no IPv4 address on %s within 60 s: %s", name, iface, body);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    printf("%lld %lld\n", t1 - t0, now_ns() - t1);
    return 0;
}

static int cmd_snapshot(const char *name, const char *snapshot) {
    char json[512], path[512];
    snprintf(json, sizeof json, "{\"name\":\"%s\",\"stateful\":false}", snapshot);
    snprintf(path, sizeof path, "/1.0/instances/%s/snapshots", name);
    long long t0 = now_ns();
    request_and_wait("POST", path, json);
    printf("%lld\n", now_ns() - t0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3)
        goto usage;
    socket_path = argv[1];
    signal(SIGPIPE, SIG_IGN); /* a dropped connection is a write error */
    int rc;
    if (argc == 5 && strcmp(argv[2], "get") == 0)
        rc = cmd_get(atoi(argv[3]), argv[4]);
    else if (argc == 6 && strcmp(argv[2], "create") == 0)
        rc = cmd_create(argv[3], atoi(argv[4]), atoi(argv[5]));
    else if ((argc == 5 || argc == 6) && strcmp(argv[2], "launch") == 0)
        rc = cmd_launch(argv[3], argv[4], argc == 6 ? argv[5] : NULL);
    else if (argc == 5 && strcmp(argv[2], "lease") == 0)
        rc = cmd_lease(argv[3], argv[4]);
    else if (argc == 5 && strcmp(argv[2], "snapshot") == 0)
        rc = cmd_snapshot(argv[3], argv[4]);
    else
        goto usage;
    if (reconnects > 0)
        fprintf(stderr, "bench-api: the daemon closed the kept-alive connection %d times\n", reconnects);
    return rc;
usage:
    fprintf(stderr, "usage: bench-api SOCKET get N PATH\n"
                    "       bench-api SOCKET create PREFIX FIRST COUNT\n"
                    "       bench-api SOCKET launch NAME ALIAS [POOL]\n"
                    "       bench-api SOCKET lease NAME IFACE\n"
                    "       bench-api SOCKET snapshot NAME SNAPSHOT\n");
    return 2;
}
