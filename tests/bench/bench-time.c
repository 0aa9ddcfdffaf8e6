/* Times commands for tests/bench without the shell's fork and `date` in the
 * figure: each command is posix_spawn'ed (vfork + exec) and waited for
 * between two CLOCK_MONOTONIC readings. Compiled on the fly by the bench
 * scripts (cc -O2 -o bench-time bench-time.c).
 *
 *   bench-time run N [NAME=VALUE...] CMD...
 *       Runs CMD N times, one after the other, stdin and stdout on
 *       /dev/null (so no tool allocates a pty), stderr inherited. Prints one
 *       line per run: elapsed nanoseconds. Exits 1 at the first run that
 *       fails, naming it on stderr.
 *
 *   bench-time boot TIMEOUT_S [NAME=VALUE...] START... --- POLL...
 *       Runs START once, then POLL again and again (its output captured)
 *       until it prints a settled systemd state (running, degraded,
 *       maintenance, stopping) as a line of its own, 2 ms between tries.
 *       Prints "START_NS READY_NS STATE ATTEMPTS", both times counted from
 *       the moment START was spawned.
 *       Exits 1 when START fails or after TIMEOUT_S seconds of polling.
 *
 * NAME=VALUE words before a command are set in that command's environment
 * only (the way env(1) would, without another exec in the figure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Moves leading NAME=VALUE words of *argv into a copy of environ (replacing
 * variables of the same name) and returns it; *argv then points at the
 * command. */
static char **take_env(char ***argv) {
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while ((*argv)[extra] && strchr((*argv)[extra], '=') && (*argv)[extra][0] != '=')
        extra++;
    char **envp = calloc(n + extra + 1, sizeof *envp);
    if (!envp) {
        perror("bench-time");
        exit(1);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int replaced = 0;
        for (size_t j = 0; j < extra && !replaced; j++) {
            size_t len = strchr((*argv)[j], '=') - (*argv)[j] + 1;
            replaced = strncmp(environ[i], (*argv)[j], len) == 0;
        }
        if (!replaced)
            envp[m++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        envp[m++] = (*argv)[j];
    *argv += extra;
    return envp;
}

/* Spawns argv with stdin on /dev/null and stdout on out_fd; returns the
 * wait status, or -1 if it could not be spawned. */
static int spawn_wait(char **argv, char **envp, int out_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "bench-time: cannot run %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

static void report_failure(const char *what, char **argv, int status) {
    fprintf(stderr, "bench-time: %s:", what);
    for (char **a = argv; *a; a++)
        fprintf(stderr, " %s", *a);
    if (status == -1)
        fprintf(stderr, " (not run)\n");
    else if (WIFSIGNALED(status))
        fprintf(stderr, " (killed by signal %d)\n", WTERMSIG(status));
    else
        fprintf(stderr, " (exit status %d)\n", WEXITSTATUS(status));
}

static int cmd_run(int n, char **argv) {
    char **envp = take_env(&argv);
    if (!argv[0])
        return 2;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    for (int i = 0; i < n; i++) {
        long long t0 = now_ns();
        int status = spawn_wait(argv, envp, devnull);
        long long t1 = now_ns();
        if (status != 0) {
            char what[32];
            snprintf(what, sizeof what, "run %d failed", i + 1);
            report_failure(what, argv, status);
            return 1;
        }
        printf("%lld\n", t1 - t0);
        fflush(stdout);
    }
    return 0;
}

static const char *settled_state(const char *word) {
    static const char *const states[] = {"running", "degraded", "maintenance", "stopping"};
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (strcmp(word, states[i]) == 0)
            return states[i];
    return NULL;
}

/* Runs argv with stdout and stderr on a pipe (failed polls are expected and
 * not worth a log line each) and keeps what it printed in out. Returns the
 * settled systemd state it printed as a line of its own, or NULL. */
static const char *poll_once(char **argv, char out[256]) {
    out[0] = '\0';
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while (len < 255 && ((r = read(p[0], out + len, 255 - len)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0)
            len += (size_t)r;
    close(p[0]);
    out[len] = '\0';
    if (rc == 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    char copy[256], *save = NULL;
    memcpy(copy, out, len + 1);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *state = settled_state(line);
        if (state)
            return state;
    }
    return NULL;
}

static int cmd_boot(int timeout_s, char **start, char **poll) {
    char **envp = take_env(&start);
    if (!start[0])
        return 2;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    long long t0 = now_ns();
    int status = spawn_wait(start, envp, devnull);
    long long t_start = now_ns() - t0;
    if (status != 0) {
        report_failure("start failed", start, status);
        return 1;
    }
    char out[256];
    struct timespec pause = {0, 2 * 1000 * 1000}; /* between failed polls */
    for (int attempts = 1;; attempts++) {
        const char *state = poll_once(poll, out);
        long long t = now_ns() - t0;
        if (state) {
            printf("%lld %lld %s %d\n", t_start, t, state, attempts);
            return 0;
        }
        if (t > (long long)timeout_s * 1000000000LL) {
            fprintf(stderr, "bench-time: no settled state after %d s; the last poll said: %s\n", timeout_s,
                    out[0] ? out : "nothing");
            return 1;
        }
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "run") == 0)
        return cmd_run(atoi(argv[2]), argv + 3);
    if (argc >= 6 && strcmp(argv[1], "boot") == 0) {
        char **start = argv + 3, **poll = NULL;
        for (char **a = start; *a; a++)
            if (strcmp(*a, "---") == 0) {
                *a = NULL;
                poll = a + 1;
                break;
            }
        if (poll && *poll && *start)
            return cmd_boot(atoi(argv[2]), start, poll);
    }
    fprintf(stderr, "usage: bench-time run N [NAME=VALUE...] CMD...\n"
                    "       bench-time boot TIMEOUT_S [NAME=VALUE...] START... --- POLL...\n");
    return 2;
}
