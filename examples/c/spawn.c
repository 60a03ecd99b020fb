/*
 * Streaming: spawn a long-running command, print its output line by line
 * as it comes, and kill the whole sandbox when our own deadline passes.
 *
 *   cc spawn.c $(pkg-config --cflags --libs sandbox) -o spawn && ./spawn
 */
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sandbox.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(sbx_error_t *err) {
    fprintf(stderr, "sandbox: %s\n", sbx_error_message(err));
    sbx_error_free(err);
    return 1;
}

int main(void) {
    sbx_config_t *cfg = NULL;
    sbx_sandbox_t *sb = NULL;
    sbx_process_t *proc = NULL;
    sbx_result_t *res = NULL;
    sbx_error_t *err = NULL;
    const char *argv[] = {"sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done", NULL};

    if (sbx_config_new(&cfg, &err) != SBX_OK || sbx_config_set_stdio(cfg, 1, SBX_STDIO_PIPE, -1, &err) != SBX_OK
        || sbx_sandbox_new(cfg, &sb, &err) != SBX_OK) {
        sbx_config_free(cfg);
        return fail(err);
    }
    sbx_config_free(cfg);
    if (sbx_sandbox_spawn(sb, argv, &proc, &err) != SBX_OK) {
        sbx_sandbox_free(sb);
        return fail(err);
    }
    printf("sandbox init is host pid %d\n", sbx_process_pid(proc));

    double deadline = now() + 1.0;
    struct pollfd pfd = {.fd = sbx_process_stdio_fd(proc, 1), .events = POLLIN};
    char buf[256];
    int lines = 0;
    while (now() < deadline) {
        int ms = (int)((deadline - now()) * 1000) + 1;
        if (poll(&pfd, 1, ms) <= 0) continue;
        ssize_t n = read(pfd.fd, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
        fwrite(buf, 1, (size_t)n, stdout);
        fflush(stdout);
    }
    printf("deadline passed: killing the sandbox\n");
    if (sbx_process_kill(proc, &err) != SBX_OK || sbx_process_wait(proc, -1, &res, &err) != SBX_OK) {
        sbx_process_free(proc);
        sbx_sandbox_free(sb);
        return fail(err);
    }
    printf("ended by signal %d after %d lines\n", sbx_result_signal(res), lines);
    int ok = sbx_result_signal(res) == 9 && lines >= 3;
    sbx_result_free(res);
    sbx_process_free(proc);
    sbx_sandbox_free(sb);
    return ok ? 0 : 1;
}
