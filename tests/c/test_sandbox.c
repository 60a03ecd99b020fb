/*
 * Tests of the C ABI, run against real sandboxes (no mocks): every function
 * of include/sandbox.h, its success path and its error paths, asserting the
 * status, the error's code, stage and message.
 *
 * tests/c/run.sh builds this with -Wall -Wextra -Werror and
 * AddressSanitizer (leaks included) and runs it as root and again as uid
 * 65534 with no capabilities. Prints "N passed, M failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

static const char *current;
static int current_failed;
static char tmp[256];

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,     \
                    current, #cond);                                                 \
            current_failed = 1;                                                      \
            return;                                                                  \
        }                                                                            \
    } while (0)

/* Asserts a failed call: its status, the error's code, and words of its message. */
#define CHECK_ERR(call, code, words)                                                 \
    do {                                                                             \
        sbx_status_t s_ = (call);                                                    \
        if (!check_error(s_, err, code, words, __LINE__)) return;                    \
    } while (0)

static sbx_error_t *err;

static int check_error(sbx_status_t s, sbx_error_t *e, sbx_status_t code, const char *words, int line) {
    int ok = s == code && sbx_error_code(e) == code && strstr(sbx_error_message(e), words) != NULL;
    if (!ok) {
        fprintf(stderr, "%s:%d: %s: expected %s with \"%s\", got %s: %s\n", __FILE__, line, current,
                sbx_status_name(code), words, sbx_status_name(s), sbx_error_message(e));
        current_failed = 1;
    }
    sbx_error_free(e);
    err = NULL;
    return ok;
}

#define OK(call)                                                                     \
    do {                                                                             \
        sbx_status_t s_ = (call);                                                    \
        if (s_ != SBX_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s: %s failed: %s: %s\n", __FILE__, __LINE__,    \
                    current, #call, sbx_status_name(s_), sbx_error_message(err));     \
            sbx_error_free(err);                                                     \
            err = NULL;                                                              \
            current_failed = 1;                                                      \
            return;                                                                  \
        }                                                                            \
    } while (0)

/* Runs argv under cfg and returns the result (NULL after reporting a failure). */
static sbx_result_t *run(sbx_config_t *cfg, const char *const *argv) {
    sbx_result_t *res = NULL;
    sbx_status_t s = sbx_run(cfg, argv, &res, &err);
    if (s != SBX_OK) {
        fprintf(stderr, "%s: sbx_run(%s) failed: %s: %s\n", current, argv[0], sbx_status_name(s),
                sbx_error_message(err));
        sbx_error_free(err);
        err = NULL;
        current_failed = 1;
    }
    return res;
}

/* Whether the captured stdout equals `want` (len bytes). */
static int stdout_is(const sbx_result_t *res, const char *want, size_t len) {
    size_t n = 0;
    const uint8_t *out = sbx_result_stdout(res, &n);
    if (n == len && memcmp(out, want, len) == 0) return 1;
    fprintf(stderr, "%s: stdout was \"%.*s\" (%zu bytes), want \"%.*s\"\n", current, (int)n, (const char *)out,
            n, (int)len, want);
    return 0;
}
#define STDOUT_IS(res, s) stdout_is(res, s, strlen(s))

static sbx_config_t *new_config(void) {
    sbx_config_t *cfg = NULL;
    if (sbx_config_new(&cfg, &err) != SBX_OK) {
        fprintf(stderr, "sbx_config_new failed: %s\n", sbx_error_message(err));
        exit(2);
    }
    return cfg;
}

/* ---------------------------------------------------------------- tests */

static void version_macros_agree_with_the_library(void) {
    CHECK(strcmp(sbx_version(), SBX_VERSION_STRING) == 0);
    CHECK(sbx_version_number() == SBX_VERSION_NUMBER);
    CHECK(SBX_VERSION_NUMBER == SBX_VERSION_MAJOR * 1000000 + SBX_VERSION_MINOR * 1000 + SBX_VERSION_PATCH);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", SBX_VERSION_MAJOR, SBX_VERSION_MINOR, SBX_VERSION_PATCH);
    CHECK(strcmp(sbx_version(), want) == 0);
}

static void status_names_are_stable(void) {
    CHECK(strcmp(sbx_status_name(SBX_OK), "SBX_OK") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_INVALID_ARGUMENT), "SBX_E_INVALID_ARGUMENT") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_INVALID_CONFIG), "SBX_E_INVALID_CONFIG") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_UNSUPPORTED), "SBX_E_UNSUPPORTED") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_PERMISSION), "SBX_E_PERMISSION") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_NOT_FOUND), "SBX_E_NOT_FOUND") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_SETUP), "SBX_E_SETUP") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_IO), "SBX_E_IO") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_TIMEOUT), "SBX_E_TIMEOUT") == 0);
    CHECK(strcmp(sbx_status_name(SBX_E_INTERNAL), "SBX_E_INTERNAL") == 0);
    CHECK(strcmp(sbx_status_name(12345), "SBX_E_UNKNOWN") == 0);
}

static void null_handles_are_safe_everywhere(void) {
    sbx_config_free(NULL);
    sbx_sandbox_free(NULL);
    sbx_process_free(NULL);
    sbx_result_free(NULL);
    sbx_error_free(NULL);
    sbx_system_report_free(NULL);
    CHECK(sbx_error_code(NULL) == SBX_OK);
    CHECK(sbx_error_errno(NULL) == 0);
    CHECK(strcmp(sbx_error_message(NULL), "") == 0);
    CHECK(strcmp(sbx_error_stage(NULL), "") == 0);
    CHECK(sbx_error_path(NULL) == NULL);
    CHECK(sbx_result_exit_code(NULL) == -1);
    CHECK(sbx_result_signal(NULL) == 0);
    CHECK(sbx_result_status(NULL) == -1);
    CHECK(!sbx_result_timed_out(NULL));
    CHECK(!sbx_result_stdout_truncated(NULL) && !sbx_result_stderr_truncated(NULL));
    size_t n = 99;
    CHECK(sbx_result_stdout(NULL, &n) != NULL && n == 0);
    char sink[1];
    memcpy(sink, sbx_result_stdout(NULL, NULL), 0); /* a real pointer even when empty */
    CHECK(sbx_result_stderr(NULL, NULL) != NULL);
    CHECK(strcmp(sbx_result_json(NULL), "") == 0);
    CHECK(sbx_process_pid(NULL) == -1 && sbx_process_pidfd(NULL) == -1 && sbx_process_stdio_fd(NULL, 0) == -1);
    CHECK(sbx_system_report_count(NULL) == 0);
    CHECK(strcmp(sbx_system_report_json(NULL), "") == 0);

    /* Every fallible call names its NULL argument. */
    CHECK_ERR(sbx_config_new(NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");
    CHECK(sbx_config_new(NULL, NULL) == SBX_E_INVALID_ARGUMENT); /* err may be NULL */
    CHECK_ERR(sbx_config_set_read_only(NULL, true, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_sandbox_new(NULL, NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");
    sbx_sandbox_t *sb = (sbx_sandbox_t *)1;
    CHECK_ERR(sbx_sandbox_new(NULL, &sb, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK(sb == NULL); /* out-pointers are NULL after a failure */
    sbx_process_t *p = NULL;
    const char *argv[] = {"true", NULL};
    CHECK_ERR(sbx_sandbox_spawn(NULL, argv, &p, &err), SBX_E_INVALID_ARGUMENT, "sandbox: is NULL");
    CHECK_ERR(sbx_process_wait(NULL, 0, NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");
    sbx_result_t *res = NULL;
    CHECK_ERR(sbx_process_wait(NULL, 0, &res, &err), SBX_E_INVALID_ARGUMENT, "process: is NULL");
    CHECK_ERR(sbx_process_kill(NULL, &err), SBX_E_INVALID_ARGUMENT, "process: is NULL");
    CHECK_ERR(sbx_process_signal(NULL, SIGTERM, &err), SBX_E_INVALID_ARGUMENT, "process: is NULL");
    CHECK_ERR(sbx_process_close_stdin(NULL, &err), SBX_E_INVALID_ARGUMENT, "process: is NULL");
    sbx_usage_t u = {.struct_size = sizeof u};
    CHECK_ERR(sbx_result_usage(NULL, &u, &err), SBX_E_INVALID_ARGUMENT, "res: is NULL");
    CHECK_ERR(sbx_check_system(NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");
    CHECK_ERR(sbx_run(NULL, argv, &res, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_namespace(NULL, SBX_NS_NET, false, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_rootfs(NULL, "/", &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_host_view(NULL, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_add_bind(NULL, "/a", "/b", true, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_add_tmpfs(NULL, "/t", 0, 0, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_env(NULL, "K", "V", &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_cwd(NULL, "/", &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_hostname(NULL, "h", &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_user(NULL, 1, 1, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_id_mapping(NULL, SBX_ID_MAP_AUTO, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_network(NULL, SBX_NETWORK_NONE, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_timeout_ms(NULL, 1, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_output_limit(NULL, 1, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_add_capability(NULL, "CHOWN", &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_nested_userns(NULL, true, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_stdio(NULL, 0, SBX_STDIO_NULL, -1, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_config_set_stdin_bytes(NULL, NULL, 0, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK_ERR(sbx_sandbox_spawn(NULL, argv, NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");
    sbx_feature_t f = {.struct_size = sizeof f};
    CHECK_ERR(sbx_system_report_get(NULL, 0, &f, &err), SBX_E_INVALID_ARGUMENT, "report: is NULL");
    CHECK_ERR(sbx_system_report_find(NULL, "kernel", &f, &err), SBX_E_INVALID_ARGUMENT, "report: is NULL");
    /* An argument error has no path and no errno. */
    CHECK(sbx_config_set_cwd(NULL, "/", &err) == SBX_E_INVALID_ARGUMENT);
    CHECK(sbx_error_path(err) == NULL && sbx_error_errno(err) == 0 && strcmp(sbx_error_stage(err), "validate") == 0);
    sbx_error_free(err);
    err = NULL;
}

static void boundary_values_are_errors_or_work_never_crash(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_timeout_ms(cfg, UINT64_MAX, &err)); /* too far away to matter: no timeout */
    const char *argv[] = {"true", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res && sbx_result_exit_code(res) == 0 && !sbx_result_timed_out(res));
    sbx_result_free(res);
    OK(sbx_config_set_timeout_ms(cfg, 30ull * 86400 * 1000, &err)); /* 30 days */
    res = run(cfg, argv);
    CHECK(res && sbx_result_exit_code(res) == 0);
    sbx_result_free(res);
    sbx_sandbox_t *sb = NULL;
    OK(sbx_sandbox_new(cfg, &sb, &err));
    sbx_process_t *p = NULL;
    OK(sbx_sandbox_spawn(sb, argv, &p, &err));
    OK(sbx_process_wait(p, INT64_MAX, &res, &err));
    CHECK(sbx_result_exit_code(res) == 0);
    sbx_result_free(res);
    sbx_process_free(p);
    sbx_sandbox_free(sb);

    OK(sbx_config_set_user(cfg, UINT32_MAX, 0, &err));
    CHECK_ERR(sbx_sandbox_new(cfg, &sb, &err), SBX_E_INVALID_CONFIG, "uid: '4294967295' is invalid");
    OK(sbx_config_set_user(cfg, 0, 0, &err));
    const char *empty_program[] = {"", NULL};
    CHECK_ERR(sbx_run(cfg, empty_program, &res, &err), SBX_E_INVALID_ARGUMENT, "argv[0]: is an empty string");
    char long_name[10000];
    memset(long_name, 'h', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    CHECK_ERR(sbx_config_set_hostname(cfg, long_name, &err), SBX_E_INVALID_CONFIG, "hostname: 9999 bytes");
    CHECK_ERR(sbx_config_set_hostname(cfg, "", &err), SBX_E_INVALID_CONFIG, "use 1 to 64 bytes");
    OK(sbx_config_set_output_limit(cfg, 0, &err));
    const char *echo[] = {"echo", "x", NULL};
    res = run(cfg, echo);
    size_t n = 9;
    CHECK(res && sbx_result_stdout(res, &n) != NULL && n == 0 && sbx_result_stdout_truncated(res));
    sbx_result_free(res);
    const char *json = "{\"mounts\": [{\"type\": \"tmpfs\", \"target\": \"/t\", \"mode\": 4294967295}]}";
    sbx_config_t *from_json = NULL;
    OK(sbx_config_from_json(json, strlen(json), &from_json, &err));
    CHECK_ERR(sbx_sandbox_new(from_json, &sb, &err), SBX_E_INVALID_CONFIG, "a tmpfs mode is at most 07777");
    sbx_config_free(from_json);
    sbx_config_free(cfg);
}

static void run_captures_output_and_reports_the_exit(void) {
    sbx_config_t *cfg = new_config();
    const char *argv[] = {"sh", "-c", "echo hello; echo oops >&2; exit 3", NULL};
    sbx_result_t *res = run(cfg, argv);
    sbx_config_free(cfg);
    CHECK(res);
    CHECK(STDOUT_IS(res, "hello\n"));
    size_t n = 0;
    const uint8_t *e = sbx_result_stderr(res, &n);
    CHECK(n == 5 && memcmp(e, "oops\n", 5) == 0);
    CHECK(sbx_result_exit_code(res) == 3);
    CHECK(sbx_result_signal(res) == 0);
    CHECK(sbx_result_status(res) == 3);
    CHECK(!sbx_result_timed_out(res));
    CHECK(!sbx_result_stdout_truncated(res) && !sbx_result_stderr_truncated(res));
    sbx_usage_t u = {.struct_size = sizeof u};
    OK(sbx_result_usage(res, &u, &err));
    CHECK(u.struct_size == sizeof u);
    CHECK(u.wall_time_us > 0 && u.wall_time_us < 10 * 1000 * 1000);
    CHECK(u.peak_memory_bytes > 0);
    CHECK(strstr(sbx_result_json(res), "\"exit_code\":3") != NULL);
    sbx_result_free(res);
}

static void usage_fills_only_what_an_older_caller_declared(void) {
    sbx_config_t *cfg = new_config();
    const char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done", NULL};
    sbx_result_t *res = run(cfg, argv);
    sbx_config_free(cfg);
    CHECK(res);
    sbx_usage_t u;
    memset(&u, 0xAB, sizeof u);
    u.struct_size = (uint32_t)offsetof(sbx_usage_t, cpu_user_us); /* a caller built when only wall time existed */
    OK(sbx_result_usage(res, &u, &err));
    CHECK(u.wall_time_us > 0);
    CHECK(u.cpu_user_us == 0xABABABABABABABABull && u.peak_memory_bytes == 0xABABABABABABABABull);
    CHECK(u.struct_size == offsetof(sbx_usage_t, cpu_user_us)); /* what was filled */
    sbx_usage_t full = {.struct_size = sizeof full};
    OK(sbx_result_usage(res, &full, &err));
    CHECK(full.cpu_user_us + full.cpu_system_us > 0 && full.reserved == 0);
    /* A caller built against a newer, larger struct learns what this library filled. */
    struct {
        sbx_usage_t usage;
        uint64_t newer_field;
    } newer;
    memset(&newer, 0xCD, sizeof newer);
    newer.usage.struct_size = sizeof newer;
    OK(sbx_result_usage(res, &newer.usage, &err));
    CHECK(newer.usage.struct_size == sizeof(sbx_usage_t) && newer.newer_field == 0xCDCDCDCDCDCDCDCDull);
    CHECK(newer.usage.reserved == 0); /* no stray bytes from the library's stack */
    sbx_usage_t bad = {.struct_size = 0};
    CHECK_ERR(sbx_result_usage(res, &bad, &err), SBX_E_INVALID_ARGUMENT, "struct_size");
    CHECK_ERR(sbx_result_usage(res, NULL, &err), SBX_E_INVALID_ARGUMENT, "usage: is NULL");
    sbx_result_free(res);
}

static void a_signal_and_a_timeout_are_reported(void) {
    sbx_config_t *cfg = new_config();
    const char *term[] = {"sh", "-c", "kill -TERM $$", NULL};
    sbx_result_t *res = run(cfg, term);
    CHECK(res);
    CHECK(sbx_result_exit_code(res) == -1 && sbx_result_signal(res) == SIGTERM && sbx_result_status(res) == 143);
    sbx_result_free(res);
    OK(sbx_config_set_timeout_ms(cfg, 200, &err));
    const char *sleep_argv[] = {"sleep", "10", NULL};
    res = run(cfg, sleep_argv);
    sbx_config_free(cfg);
    CHECK(res);
    CHECK(sbx_result_timed_out(res));
    CHECK(sbx_result_status(res) == 124 && sbx_result_signal(res) == SIGKILL);
    sbx_usage_t u = {.struct_size = sizeof u};
    OK(sbx_result_usage(res, &u, &err));
    CHECK(u.wall_time_us >= 200000 && u.wall_time_us < 5000000);
    sbx_result_free(res);
}

static void output_is_cut_at_the_limit(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_output_limit(cfg, 10, &err));
    const char *argv[] = {"sh", "-c", "head -c 100000 /dev/zero; head -c 100 /dev/zero >&2", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res);
    size_t n = 0, m = 0;
    sbx_result_stdout(res, &n);
    sbx_result_stderr(res, &m);
    CHECK(n == 10 && m == 10);
    CHECK(sbx_result_stdout_truncated(res) && sbx_result_stderr_truncated(res));
    CHECK(sbx_result_exit_code(res) == 0);
    sbx_result_free(res);
    OK(sbx_config_set_output_limit(cfg, SBX_OUTPUT_UNLIMITED, &err));
    res = run(cfg, argv);
    sbx_config_free(cfg);
    CHECK(res);
    sbx_result_stdout(res, &n);
    CHECK(n == 100000 && !sbx_result_stdout_truncated(res));
    sbx_result_free(res);
}

static void stdin_bytes_reach_the_workload_verbatim(void) {
    sbx_config_t *cfg = new_config();
    static const uint8_t data[] = {'a', 0, 0xff, '\n', 'z'};
    OK(sbx_config_set_stdin_bytes(cfg, data, sizeof data, &err));
    const char *argv[] = {"cat", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res);
    CHECK(stdout_is(res, (const char *)data, sizeof data));
    sbx_result_free(res);
    OK(sbx_config_set_stdin_bytes(cfg, NULL, 0, &err)); /* empty stdin */
    res = run(cfg, argv);
    CHECK(res && STDOUT_IS(res, ""));
    sbx_result_free(res);
    CHECK_ERR(sbx_config_set_stdin_bytes(cfg, NULL, 5, &err), SBX_E_INVALID_ARGUMENT, "data: is NULL with length 5");
    OK(sbx_config_set_stdio(cfg, 0, SBX_STDIO_NULL, -1, &err)); /* the bytes would be dropped */
    CHECK_ERR(sbx_run(cfg, argv, &res, &err), SBX_E_INVALID_CONFIG, "stdin bytes: they are set, but stdin is not a pipe");
    sbx_config_free(cfg);
}

static void environment_is_bytes_and_names_are_checked(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_env(cfg, "RAW", "caf\xe9", &err));
    OK(sbx_config_set_env(cfg, "FOO", "first", &err));
    OK(sbx_config_set_env(cfg, "FOO", "second", &err));
    const char *argv[] = {"sh", "-c", "printf '%s|%s|%s' \"$RAW\" \"$FOO\" \"${ASAN_OPTIONS:-clean}\"", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res);
    CHECK(STDOUT_IS(res, "caf\xe9|second|clean")); /* nothing of the host's environment */
    sbx_result_free(res);
    CHECK_ERR(sbx_config_set_env(cfg, "A=B", "x", &err), SBX_E_INVALID_CONFIG, "env: 'A=B' is not a variable name");
    CHECK_ERR(sbx_config_set_env(cfg, "", "x", &err), SBX_E_INVALID_CONFIG, "env");
    CHECK_ERR(sbx_config_set_env(cfg, NULL, "x", &err), SBX_E_INVALID_ARGUMENT, "key: is NULL");
    CHECK_ERR(sbx_config_set_env(cfg, "K", NULL, &err), SBX_E_INVALID_ARGUMENT, "value: is NULL");
    sbx_config_free(cfg);
}

static void cwd_hostname_and_user_apply(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_cwd(cfg, "/tmp", &err));
    OK(sbx_config_set_hostname(cfg, "cbox", &err));
    OK(sbx_config_set_user(cfg, 1000, 1001, &err));
    const char *argv[] = {"sh", "-c", "pwd; hostname; id -u; id -g", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res);
    CHECK(STDOUT_IS(res, "/tmp\ncbox\n1000\n1001\n"));
    sbx_result_free(res);
    CHECK_ERR(sbx_config_set_hostname(cfg, "bad\xff", &err), SBX_E_INVALID_ARGUMENT, "hostname: is not valid UTF-8");
    CHECK_ERR(sbx_config_set_hostname(cfg, "a/b", &err), SBX_E_INVALID_CONFIG, "hostname: 3 bytes, or a '/'");
    sbx_sandbox_t *sb = NULL;
    OK(sbx_config_set_hostname(cfg, "ok", &err));
    OK(sbx_config_set_cwd(cfg, "relative", &err));
    CHECK_ERR(sbx_sandbox_new(cfg, &sb, &err), SBX_E_INVALID_CONFIG, "cwd");
    CHECK_ERR(sbx_config_set_cwd(cfg, NULL, &err), SBX_E_INVALID_ARGUMENT, "dir: is NULL");
    sbx_config_free(cfg);
}

static void binds_and_tmpfs_mount_where_asked(void) {
    char file[300];
    snprintf(file, sizeof file, "%s/data", tmp);
    mkdir(file, 0777);
    chmod(file, 0777);
    snprintf(file, sizeof file, "%s/data/hello", tmp);
    FILE *f = fopen(file, "w");
    CHECK(f);
    fputs("from the host\n", f);
    fclose(f);
    chmod(file, 0666);
    char src[300];
    snprintf(src, sizeof src, "%s/data", tmp);

    sbx_config_t *cfg = new_config();
    OK(sbx_config_add_bind(cfg, src, "/ro", true, &err));
    OK(sbx_config_add_bind(cfg, src, "/rw", false, &err));
    OK(sbx_config_add_tmpfs(cfg, "/scratch", 1 << 20, 0700, &err));
    const char *argv[] = {"sh", "-c",
                          "cat /ro/hello; echo x > /ro/new 2>/dev/null || echo ro-refused; "
                          "echo written > /rw/new && echo rw-ok; stat -c %a /scratch; "
                          "head -c 2000000 /dev/zero > /scratch/big 2>/dev/null || echo full",
                          NULL};
    sbx_result_t *res = run(cfg, argv);
    sbx_config_free(cfg);
    CHECK(res);
    CHECK(STDOUT_IS(res, "from the host\nro-refused\nrw-ok\n700\nfull\n"));
    sbx_result_free(res);
    snprintf(file, sizeof file, "%s/data/new", tmp);
    CHECK(access(file, F_OK) == 0);

    cfg = new_config();
    sbx_sandbox_t *sb = NULL;
    OK(sbx_config_add_bind(cfg, "/nonexistent/source", "/x", true, &err));
    CHECK_ERR(sbx_sandbox_new(cfg, &sb, &err), SBX_E_INVALID_CONFIG, "/nonexistent/source");
    sbx_config_free(cfg);
    cfg = new_config();
    OK(sbx_config_add_tmpfs(cfg, "data", 0, 0, &err));
    CHECK_ERR(sbx_sandbox_new(cfg, &sb, &err), SBX_E_INVALID_CONFIG,
              "mounts[0]: mount target 'data' must be an absolute path");
    CHECK_ERR(sbx_config_add_tmpfs(cfg, "/t", 0, 077777, &err), SBX_E_INVALID_CONFIG, "mode: 77777 is not a file mode");
    CHECK_ERR(sbx_config_add_bind(cfg, NULL, "/x", false, &err), SBX_E_INVALID_ARGUMENT, "source: is NULL");
    CHECK_ERR(sbx_config_add_bind(cfg, "/tmp", NULL, false, &err), SBX_E_INVALID_ARGUMENT, "target: is NULL");
    CHECK_ERR(sbx_config_add_tmpfs(cfg, NULL, 0, 0, &err), SBX_E_INVALID_ARGUMENT, "target: is NULL");
    sbx_config_free(cfg);
}

static void a_directory_can_be_the_root(void) {
    char root[300];
    snprintf(root, sizeof root, "%s/root", tmp);
    mkdir(root, 0777);
    chmod(root, 0777);
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_rootfs(cfg, root, &err));
    const char *dirs[] = {"/usr", "/bin", "/lib", "/lib64", NULL};
    for (const char **d = dirs; *d; d++) {
        struct stat st;
        if (lstat(*d, &st) == 0) OK(sbx_config_add_bind(cfg, *d, *d, true, &err));
    }
    const char *argv[] = {"/bin/sh", "-c", "echo made > /made && cat /made", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res);
    CHECK(STDOUT_IS(res, "made\n"));
    sbx_result_free(res);
    char made[320];
    snprintf(made, sizeof made, "%s/made", root);
    CHECK(access(made, F_OK) == 0);

    OK(sbx_config_set_read_only(cfg, true, &err));
    const char *argv2[] = {"/bin/sh", "-c", "echo again > /again 2>&1 || echo refused", NULL};
    res = run(cfg, argv2);
    CHECK(res);
    CHECK(STDOUT_IS(res, "refused\n"));
    sbx_result_free(res);

    OK(sbx_config_set_host_view(cfg, &err)); /* back to the default root */
    const char *argv3[] = {"sh", "-c", "test -e /made || echo host-view", NULL};
    res = run(cfg, argv3);
    CHECK(res && STDOUT_IS(res, "host-view\n"));
    sbx_result_free(res);

    OK(sbx_config_set_rootfs(cfg, "/nonexistent/rootfs", &err));
    sbx_sandbox_t *sb = NULL;
    sbx_status_t s = sbx_sandbox_new(cfg, &sb, &err);
    CHECK(s == SBX_E_INVALID_CONFIG && sb == NULL);
    CHECK(strcmp(sbx_error_message(err),
                 "rootfs: /nonexistent/rootfs does not exist or is not a directory; "
                 "give an existing directory to use as /") == 0);
    CHECK(strcmp(sbx_error_stage(err), "validate") == 0);
    CHECK(sbx_error_path(err) && strcmp(sbx_error_path(err), "/nonexistent/rootfs") == 0);
    sbx_error_free(err);
    err = NULL;
    CHECK_ERR(sbx_config_set_rootfs(cfg, NULL, &err), SBX_E_INVALID_ARGUMENT, "dir: is NULL");
    sbx_config_free(cfg);
}

static void namespaces_and_network_can_be_chosen(void) {
    char host[128] = {0};
    gethostname(host, sizeof host - 1);
    sbx_config_t *cfg = new_config();
    const char *argv[] = {"sh", "-c", "hostname; tail -n +3 /proc/net/dev | wc -l", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res && STDOUT_IS(res, "sandbox\n1\n")); /* own hostname, only lo */
    sbx_result_free(res);
    OK(sbx_config_set_namespace(cfg, SBX_NS_UTS, false, &err));
    OK(sbx_config_set_network(cfg, SBX_NETWORK_HOST, &err));
    res = run(cfg, argv);
    CHECK(res);
    size_t n = 0;
    const char *out = (const char *)sbx_result_stdout(res, &n);
    CHECK(n > strlen(host) && strncmp(out, host, strlen(host)) == 0);
    size_t h = strlen(host);
    CHECK(!(n - h == 3 && memcmp(out + h, "\n1\n", 3) == 0)); /* more than lo */
    sbx_result_free(res);
    OK(sbx_config_set_namespace(cfg, SBX_NS_USER, true, &err));
    OK(sbx_config_set_namespace(cfg, SBX_NS_IPC, true, &err));
    OK(sbx_config_set_namespace(cfg, SBX_NS_CGROUP, true, &err));
    OK(sbx_config_set_namespace(cfg, SBX_NS_NET, true, &err));
    OK(sbx_config_set_namespace(cfg, SBX_NS_PID, true, &err));
    OK(sbx_config_set_namespace(cfg, SBX_NS_MOUNT, true, &err));
    CHECK_ERR(sbx_config_set_namespace(cfg, SBX_NS_USER, false, &err), SBX_E_INVALID_CONFIG,
              "the user namespace cannot be turned off");
    CHECK_ERR(sbx_config_set_namespace(cfg, 42, true, &err), SBX_E_INVALID_ARGUMENT, "namespace: 42 is not a namespace");
    CHECK_ERR(sbx_config_set_network(cfg, 7, &err), SBX_E_INVALID_ARGUMENT, "network: 7 is not a network mode");
    sbx_config_free(cfg);
}

static void id_mappings_are_checked(void) {
    sbx_config_t *cfg = new_config();
    sbx_sandbox_t *sb = NULL;
    CHECK_ERR(sbx_config_set_id_mapping(cfg, 9, &err), SBX_E_INVALID_ARGUMENT, "mapping: 9 is not an id mapping");
    OK(sbx_config_set_id_mapping(cfg, SBX_ID_MAP_HOST_ROOT, &err));
    if (geteuid() == 0) {
        const char *argv[] = {"sh", "-c", "awk '{print $2}' /proc/self/uid_map", NULL};
        sbx_result_t *res = run(cfg, argv);
        CHECK(res && STDOUT_IS(res, "0\n"));
        sbx_result_free(res);
    } else {
        CHECK_ERR(sbx_sandbox_new(cfg, &sb, &err), SBX_E_INVALID_CONFIG, "root");
    }
    OK(sbx_config_set_id_mapping(cfg, SBX_ID_MAP_AUTO, &err));
    const char *argv[] = {"sh", "-c", "awk '{print $2}' /proc/self/uid_map", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res);
    size_t n = 0;
    const char *out = (const char *)sbx_result_stdout(res, &n);
    CHECK(n > 1 && strncmp(out, "0\n", 2) != 0); /* sandbox root is never host root by default */
    sbx_result_free(res);
    OK(sbx_config_set_id_mapping(cfg, SBX_ID_MAP_SUBORDINATE, &err));
    sbx_status_t s = sbx_run(cfg, argv, &res, &err);
    if (s == SBX_OK) {
        sbx_result_free(res); /* this host grants the caller subordinate ids */
    } else {
        CHECK(s == SBX_E_UNSUPPORTED || s == SBX_E_NOT_FOUND);
        CHECK(strstr(sbx_error_message(err), "subordinate") != NULL);
        CHECK(strcmp(sbx_error_stage(err), "idmap") == 0);
        sbx_error_free(err);
        err = NULL;
    }
    sbx_config_free(cfg);
}

static void capabilities_and_nested_userns_are_opt_in(void) {
    sbx_config_t *cfg = new_config();
    const char *caps[] = {"sh", "-c", "grep CapEff /proc/self/status", NULL};
    sbx_result_t *res = run(cfg, caps);
    CHECK(res && STDOUT_IS(res, "CapEff:\t0000000000000000\n"));
    sbx_result_free(res);
    OK(sbx_config_add_capability(cfg, "CHOWN", &err));
    res = run(cfg, caps);
    CHECK(res && STDOUT_IS(res, "CapEff:\t0000000000000001\n"));
    sbx_result_free(res);
    CHECK_ERR(sbx_config_add_capability(cfg, "NOPE", &err), SBX_E_INVALID_CONFIG, "NOPE");
    CHECK_ERR(sbx_config_add_capability(cfg, "\xff", &err), SBX_E_INVALID_ARGUMENT, "capability: is not valid UTF-8");
    sbx_config_free(cfg);

    cfg = new_config();
    const char *nest[] = {"sh", "-c", "unshare -U true 2>/dev/null && echo nested || echo refused", NULL};
    res = run(cfg, nest);
    CHECK(res && STDOUT_IS(res, "refused\n"));
    sbx_result_free(res);
    OK(sbx_config_set_nested_userns(cfg, true, &err));
    res = run(cfg, nest);
    CHECK(res && STDOUT_IS(res, "nested\n"));
    sbx_result_free(res);
    sbx_config_free(cfg);
}

static void streams_can_go_to_a_callers_fd(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0666);
    CHECK(fd >= 0);
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_stdio(cfg, 1, SBX_STDIO_FD, fd, &err));
    OK(sbx_config_set_stdio(cfg, 2, SBX_STDIO_NULL, -1, &err));
    OK(sbx_config_set_stdio(cfg, 0, SBX_STDIO_NULL, -1, &err));
    const char *argv[] = {"sh", "-c", "echo to-file; echo hidden >&2", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res);
    size_t n = 1, m = 1;
    sbx_result_stdout(res, &n);
    sbx_result_stderr(res, &m);
    CHECK(n == 0 && m == 0);
    sbx_result_free(res);
    char buf[64] = {0};
    CHECK(pread(fd, buf, sizeof buf - 1, 0) == 8 && strcmp(buf, "to-file\n") == 0);
    CHECK(fcntl(fd, F_GETFD) >= 0); /* the caller's fd stays open */
    close(fd);
    OK(sbx_config_set_stdio(cfg, 1, SBX_STDIO_FD, 4000, &err)); /* not open */
    sbx_status_t s = sbx_run(cfg, argv, &res, &err);
    CHECK(s == SBX_E_INVALID_CONFIG && sbx_error_errno(err) == EBADF);
    CHECK(check_error(s, err, SBX_E_INVALID_CONFIG, "stdio[1]: fd 4000 cannot be used", __LINE__));
    OK(sbx_config_set_stdio(cfg, 1, SBX_STDIO_DEFAULT, -1, &err));
    OK(sbx_config_set_stdio(cfg, 2, SBX_STDIO_INHERIT, -1, &err));
    CHECK_ERR(sbx_config_set_stdio(cfg, 3, SBX_STDIO_NULL, -1, &err), SBX_E_INVALID_ARGUMENT,
              "stream: 3 is not a standard stream");
    CHECK_ERR(sbx_config_set_stdio(cfg, 1, 77, -1, &err), SBX_E_INVALID_ARGUMENT, "mode: 77 is not a stream mode");
    CHECK_ERR(sbx_config_set_stdio(cfg, 1, SBX_STDIO_FD, -1, &err), SBX_E_INVALID_ARGUMENT, "fd: -1");
    sbx_config_free(cfg);
}

static void json_configs_are_read_and_checked(void) {
    const char *json = "{\"hostname\": \"fromjson\", \"timeout\": 5.0, \"env\": [[\"J\", \"1\"]]}";
    sbx_config_t *cfg = NULL;
    OK(sbx_config_from_json(json, strlen(json), &cfg, &err));
    const char *argv[] = {"sh", "-c", "echo $(hostname) $J", NULL};
    sbx_result_t *res = run(cfg, argv);
    CHECK(res && STDOUT_IS(res, "fromjson 1\n"));
    sbx_result_free(res);
    sbx_config_free(cfg);
    cfg = NULL;
    const char *bad = "{\"hostname\": \"x\", \"no_such_field\": 1}";
    CHECK_ERR(sbx_config_from_json(bad, strlen(bad), &cfg, &err), SBX_E_INVALID_CONFIG, "unknown field `no_such_field`");
    CHECK(cfg == NULL);
    const char *bad_utf8 = "{\"hostname\": \"\xff\"}";
    CHECK_ERR(sbx_config_from_json(bad_utf8, strlen(bad_utf8), &cfg, &err), SBX_E_INVALID_CONFIG, "json:");
    CHECK_ERR(sbx_config_from_json(NULL, 4, &cfg, &err), SBX_E_INVALID_ARGUMENT, "json: is NULL with length 4");
    CHECK_ERR(sbx_config_from_json(json, strlen(json), NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");
}

static void sizes_parse_like_the_cli(void) {
    uint64_t n = 0;
    OK(sbx_parse_size("64m", &n, &err));
    CHECK(n == 64ull << 20);
    OK(sbx_parse_size("1.5G", &n, &err));
    CHECK(n == 3ull << 29);
    CHECK_ERR(sbx_parse_size("lots", &n, &err), SBX_E_INVALID_CONFIG, "'lots' is not a size");
    CHECK_ERR(sbx_parse_size("64m", NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");
    CHECK_ERR(sbx_parse_size(NULL, &n, &err), SBX_E_INVALID_ARGUMENT, "text: is NULL");
}

static void bad_commands_fail_before_anything_runs(void) {
    sbx_config_t *cfg = new_config();
    sbx_result_t *res = NULL;
    const char *missing[] = {"no-such-program-xyz", NULL};
    sbx_status_t s = sbx_run(cfg, missing, &res, &err);
    CHECK(s == SBX_E_NOT_FOUND && res == NULL);
    CHECK(strstr(sbx_error_message(err), "command: 'no-such-program-xyz' not found in the sandbox") != NULL);
    CHECK(strcmp(sbx_error_stage(err), "validate") == 0);
    sbx_error_free(err);
    err = NULL;
    const char *empty[] = {NULL};
    CHECK_ERR(sbx_run(cfg, empty, &res, &err), SBX_E_INVALID_ARGUMENT, "argv: is empty");
    CHECK_ERR(sbx_run(cfg, NULL, &res, &err), SBX_E_INVALID_ARGUMENT, "argv: is NULL");
    CHECK_ERR(sbx_run(cfg, missing, NULL, &err), SBX_E_INVALID_ARGUMENT, "out: is NULL");

    /* A file that is not executable: the exec step fails with EACCES. */
    char path[300];
    snprintf(path, sizeof path, "%s/script", tmp);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs("#!/bin/sh\necho hi\n", f);
    fclose(f);
    chmod(path, 0644);
    OK(sbx_config_add_bind(cfg, path, "/script", true, &err));
    const char *script[] = {"/script", NULL};
    s = sbx_run(cfg, script, &res, &err);
    CHECK(s == SBX_E_PERMISSION);
    CHECK(sbx_error_errno(err) == EACCES);
    CHECK(strcmp(sbx_error_stage(err), "exec") == 0);
    CHECK(strstr(sbx_error_message(err), "'/script' cannot be executed") != NULL);
    sbx_error_free(err);
    err = NULL;
    sbx_config_free(cfg);
}

static void spawned_processes_stream_through_pipes(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_stdio(cfg, 0, SBX_STDIO_PIPE, -1, &err));
    OK(sbx_config_set_stdio(cfg, 1, SBX_STDIO_PIPE, -1, &err));
    sbx_sandbox_t *sb = NULL;
    OK(sbx_sandbox_new(cfg, &sb, &err));
    sbx_config_free(cfg); /* the sandbox keeps its own copy */
    const char *argv[] = {"sh", "-c", "read line; echo \"got $line\"; exit 7", NULL};
    sbx_process_t *p = NULL;
    OK(sbx_sandbox_spawn(sb, argv, &p, &err));
    CHECK(sbx_process_pid(p) > 0 && sbx_process_pidfd(p) >= 0);
    int in = sbx_process_stdio_fd(p, 0), out = sbx_process_stdio_fd(p, 1);
    CHECK(in >= 0 && out >= 0);
    CHECK(sbx_process_stdio_fd(p, 2) == -1 && sbx_process_stdio_fd(p, 5) == -1);
    CHECK(write(in, "ping\n", 5) == 5);
    OK(sbx_process_close_stdin(p, &err));
    CHECK(sbx_process_stdio_fd(p, 0) == -1);
    char buf[64] = {0};
    size_t got = 0;
    ssize_t r;
    while ((r = read(out, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
    CHECK(strcmp(buf, "got ping\n") == 0);
    sbx_result_t *res = NULL;
    OK(sbx_process_wait(p, -1, &res, &err));
    CHECK(sbx_result_exit_code(res) == 7);
    sbx_result_free(res);
    OK(sbx_process_wait(p, 0, &res, &err)); /* waiting again gives the same result */
    CHECK(sbx_result_exit_code(res) == 7);
    sbx_result_free(res);
    sbx_process_free(p);
    sbx_sandbox_free(sb);
}

static void a_wait_can_time_out_and_a_kill_ends_it(void) {
    sbx_config_t *cfg = new_config();
    sbx_sandbox_t *sb = NULL;
    OK(sbx_sandbox_new(cfg, &sb, &err));
    sbx_config_free(cfg);
    const char *argv[] = {"sleep", "30", NULL};
    sbx_process_t *p = NULL;
    OK(sbx_sandbox_spawn(sb, argv, &p, &err));
    sbx_result_t *res = NULL;
    CHECK_ERR(sbx_process_wait(p, 50, &res, &err), SBX_E_TIMEOUT, "the sandbox still runs after 50 ms");
    CHECK(res == NULL);
    CHECK_ERR(sbx_process_signal(p, 0, &err), SBX_E_INVALID_ARGUMENT, "sig: 0 is not a signal");
    OK(sbx_process_signal(p, SIGTERM, &err)); /* init forwards it to sleep */
    OK(sbx_process_wait(p, 5000, &res, &err));
    CHECK(sbx_result_signal(res) == SIGTERM && !sbx_result_timed_out(res));
    sbx_result_free(res);
    sbx_process_free(p);

    OK(sbx_sandbox_spawn(sb, argv, &p, &err));
    OK(sbx_process_kill(p, &err));
    OK(sbx_process_wait(p, -1, &res, &err));
    CHECK(sbx_result_signal(res) == SIGKILL);
    sbx_result_free(res);
    OK(sbx_process_kill(p, &err)); /* killing an ended sandbox is fine */
    sbx_process_free(p);

    /* Freeing a running process kills the whole sandbox. */
    OK(sbx_sandbox_spawn(sb, argv, &p, &err));
    pid_t pid = sbx_process_pid(p);
    sbx_process_free(p);
    CHECK(kill(pid, 0) == -1 && errno == ESRCH);
    sbx_sandbox_free(sb);
}

static void process_edges_behave(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_stdio(cfg, 2, SBX_STDIO_PIPE, -1, &err));
    sbx_sandbox_t *sb = NULL;
    OK(sbx_sandbox_new(cfg, &sb, &err));
    const char *argv[] = {"sh", "-c", "echo to-stderr >&2; read x", NULL};
    sbx_process_t *p = NULL;
    OK(sbx_sandbox_spawn(sb, argv, &p, &err)); /* stdin inherited: /dev/null of this test, or a terminal */
    char buf[32] = {0};
    CHECK(read(sbx_process_stdio_fd(p, 2), buf, sizeof buf - 1) == 10 && strcmp(buf, "to-stderr\n") == 0);
    sbx_result_t *res = NULL;
    OK(sbx_process_wait(p, -1, &res, &err));
    CHECK(strstr(sbx_result_json(res), "\"timed_out\":false") != NULL);
    sbx_usage_t u = {.struct_size = sizeof u};
    OK(sbx_result_usage(res, &u, &err));
    CHECK(u.wall_time_us > 0);
    size_t n = 1;
    sbx_result_stdout(res, &n);
    CHECK(n == 0); /* a waited-for result has no captured output: the pipes were the caller's */
    sbx_result_free(res);
    OK(sbx_process_signal(p, SIGTERM, &err)); /* the sandbox has ended: nothing to do */
    sbx_process_free(p);
    sbx_sandbox_free(sb);

    /* A wait of 0 ms only checks. */
    OK(sbx_config_set_stdio(cfg, 2, SBX_STDIO_DEFAULT, -1, &err));
    OK(sbx_sandbox_new(cfg, &sb, &err));
    const char *sleeper[] = {"sleep", "30", NULL};
    OK(sbx_sandbox_spawn(sb, sleeper, &p, &err));
    CHECK_ERR(sbx_process_wait(p, 0, &res, &err), SBX_E_TIMEOUT, "still runs after 0 ms");
    sbx_process_free(p);
    sbx_sandbox_free(sb);

    /* Without a pid namespace, freeing the process still ends the workload. */
    char path[300];
    snprintf(path, sizeof path, "%s/nopid-pid", tmp);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0666);
    CHECK(fd >= 0);
    OK(sbx_config_set_namespace(cfg, SBX_NS_PID, false, &err));
    OK(sbx_config_set_stdio(cfg, 1, SBX_STDIO_FD, fd, &err));
    OK(sbx_sandbox_new(cfg, &sb, &err));
    const char *bg[] = {"sh", "-c", "sleep 30 & echo $!; wait", NULL};
    OK(sbx_sandbox_spawn(sb, bg, &p, &err));
    pid_t sleeper_pid = 0;
    for (int i = 0; i < 200 && sleeper_pid <= 0; i++) {
        char num[32] = {0};
        if (pread(fd, num, sizeof num - 1, 0) > 0) sleeper_pid = atoi(num);
        usleep(10000);
    }
    close(fd);
    sbx_process_free(p);
    sbx_sandbox_free(sb);
    sbx_config_free(cfg);
    CHECK(sleeper_pid > 0);
    int gone = 0;
    for (int i = 0; i < 300 && !gone; i++) {
        char stat_path[64], state = 0;
        snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)sleeper_pid);
        FILE *st = fopen(stat_path, "r");
        gone = !st || (fscanf(st, "%*d %*s %c", &state) == 1 && state == 'Z');
        if (st) fclose(st);
        if (!gone) usleep(10000);
    }
    CHECK(gone); /* the workload's child did not outlive the handle */
}

static void the_timeout_holds_while_nobody_waits(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_timeout_ms(cfg, 300, &err));
    OK(sbx_config_set_stdio(cfg, 1, SBX_STDIO_PIPE, -1, &err));
    sbx_sandbox_t *sb = NULL;
    OK(sbx_sandbox_new(cfg, &sb, &err));
    sbx_config_free(cfg);
    const char *argv[] = {"sh", "-c", "echo started; sleep 30", NULL};
    sbx_process_t *p = NULL;
    OK(sbx_sandbox_spawn(sb, argv, &p, &err));
    char buf[64] = {0};
    size_t got = 0;
    ssize_t r;
    /* Blocks until the sandbox is gone: only the sandbox's own timer can end it. */
    while ((r = read(sbx_process_stdio_fd(p, 1), buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)r;
    CHECK(strcmp(buf, "started\n") == 0);
    sbx_result_t *res = NULL;
    OK(sbx_process_wait(p, 2000, &res, &err)); /* init is reaping and reporting */
    CHECK(sbx_result_timed_out(res) && sbx_result_status(res) == 124);
    sbx_result_free(res);
    sbx_process_free(p);
    sbx_sandbox_free(sb);
}

static void limits_are_enforced_and_reported(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_memory_limit(cfg, 64ull << 20, &err));
    OK(sbx_config_set_pids_limit(cfg, 16, &err));
    OK(sbx_config_set_cpus(cfg, 1.5, &err));
    OK(sbx_config_set_cpu_weight(cfg, 200, &err));
    OK(sbx_config_set_nofile_limit(cfg, 64, &err));
    OK(sbx_config_set_fsize_limit(cfg, 1 << 20, &err));
    OK(sbx_config_set_timeout_ms(cfg, 20000, &err));
    const char *bomb[] = {"python3", "-c", "b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096])", NULL};
    sbx_result_t *res = run(cfg, bomb);
    CHECK(res);
    int how = sbx_result_limit(res, SBX_LIMIT_MEMORY);
    CHECK(how == SBX_ENFORCED_CGROUP_V1 || how == SBX_ENFORCED_CGROUP_V2 || how == SBX_ENFORCED_RLIMIT);
    if (how == SBX_ENFORCED_RLIMIT) {
        /* No cgroup for this caller: RLIMIT_AS makes the allocation fail. */
        CHECK(!sbx_result_oom_killed(res) && sbx_result_exit_code(res) == 1);
    } else {
        CHECK(sbx_result_oom_killed(res) && sbx_result_signal(res) == SIGKILL);
        sbx_usage_t u = {.struct_size = sizeof u};
        OK(sbx_result_usage(res, &u, &err));
        CHECK(u.cgroup_memory_peak_bytes != SBX_UNKNOWN && u.cgroup_memory_peak_bytes <= 65ull << 20);
        CHECK(sbx_result_limit(res, SBX_LIMIT_CPUS) == how && sbx_result_limit(res, SBX_LIMIT_CPU_WEIGHT) == how);
    }
    CHECK(sbx_result_limit(res, SBX_LIMIT_NOFILE) == SBX_ENFORCED_RLIMIT);
    CHECK(sbx_result_limit(res, SBX_LIMIT_FSIZE) == SBX_ENFORCED_RLIMIT);
    CHECK(sbx_result_limit(res, SBX_LIMIT_CPU_TIME) == SBX_ENFORCED_NOT_SET);
    CHECK(sbx_result_limit(res, 99) == SBX_ENFORCED_NOT_SET);
    CHECK(strstr(sbx_result_json(res), "\"limits\":{") != NULL);
    sbx_result_free(res);
    const char *ulimits[] = {"sh", "-c", "ulimit -n; ulimit -f", NULL};
    res = run(cfg, ulimits);
    CHECK(res && STDOUT_IS(res, "64\n2048\n"));
    sbx_result_free(res);
    sbx_config_free(cfg);

    cfg = new_config();
    OK(sbx_config_set_cpu_time_ms(cfg, 1000, &err));
    const char *spin[] = {"sh", "-c", "while :; do :; done", NULL};
    res = run(cfg, spin);
    CHECK(res && sbx_result_cpu_time_exceeded(res) && sbx_result_signal(res) == SIGXCPU);
    CHECK(sbx_result_limit(res, SBX_LIMIT_CPU_TIME) == SBX_ENFORCED_RLIMIT);
    sbx_result_free(res);
    OK(sbx_config_set_cpu_time_ms(cfg, 0, &err));

    /* No delegated cgroup under this parent, and strict: refused before the start. */
    OK(sbx_config_set_cgroup_parent(cfg, "sandbox-not-delegated", &err));
    OK(sbx_config_set_memory_limit(cfg, 64ull << 20, &err));
    OK(sbx_config_set_strict_limits(cfg, true, &err));
    const char *t[] = {"true", NULL};
    sbx_status_t s = sbx_run(cfg, t, &res, &err);
    CHECK(s == SBX_E_UNSUPPORTED && strcmp(sbx_error_stage(err), "cgroup") == 0);
    CHECK(check_error(s, err, SBX_E_UNSUPPORTED, "limits.memory: no writable cgroup with the memory controller", __LINE__));
    OK(sbx_config_set_strict_limits(cfg, false, &err));
    res = run(cfg, t);
    CHECK(res && sbx_result_limit(res, SBX_LIMIT_MEMORY) == SBX_ENFORCED_RLIMIT);
    sbx_result_free(res);
    OK(sbx_config_set_cgroup_parent(cfg, NULL, &err));
    OK(sbx_config_set_memory_limit(cfg, 1000, &err));
    CHECK_ERR(sbx_run(cfg, t, &res, &err), SBX_E_INVALID_CONFIG, "limits.memory: '1000' is invalid");
    OK(sbx_config_set_memory_limit(cfg, 0, &err));
    OK(sbx_config_set_cpus(cfg, -1, &err));
    CHECK_ERR(sbx_run(cfg, t, &res, &err), SBX_E_INVALID_CONFIG, "limits.cpus");
    CHECK_ERR(sbx_config_set_memory_limit(NULL, 1, &err), SBX_E_INVALID_ARGUMENT, "cfg: is NULL");
    CHECK(!sbx_result_oom_killed(NULL) && !sbx_result_cpu_time_exceeded(NULL));
    CHECK(sbx_result_limit(NULL, SBX_LIMIT_MEMORY) == SBX_ENFORCED_NOT_SET);
    sbx_config_free(cfg);
}

static void spawn_refuses_stdin_bytes(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_config_set_stdin_bytes(cfg, (const uint8_t *)"x", 1, &err));
    sbx_sandbox_t *sb = NULL;
    OK(sbx_sandbox_new(cfg, &sb, &err));
    sbx_config_free(cfg);
    const char *argv[] = {"true", NULL};
    sbx_process_t *p = NULL;
    CHECK_ERR(sbx_sandbox_spawn(sb, argv, &p, &err), SBX_E_INVALID_CONFIG, "stdin bytes: only sbx_run feeds them");
    CHECK_ERR(sbx_sandbox_spawn(sb, NULL, &p, &err), SBX_E_INVALID_ARGUMENT, "argv: is NULL");
    sbx_sandbox_free(sb);
}

static sbx_sandbox_t *shared;
static void *spawn_five(void *arg) {
    (void)arg;
    const char *argv[] = {"true", NULL};
    for (int i = 0; i < 5; i++) {
        sbx_process_t *p = NULL;
        sbx_result_t *res = NULL;
        sbx_error_t *e = NULL;
        if (sbx_sandbox_spawn(shared, argv, &p, &e) != SBX_OK || sbx_process_wait(p, -1, &res, &e) != SBX_OK ||
            sbx_result_exit_code(res) != 0) {
            fprintf(stderr, "thread run failed: %s\n", sbx_error_message(e));
            sbx_error_free(e);
            sbx_result_free(res);
            sbx_process_free(p);
            return (void *)1;
        }
        sbx_result_free(res);
        sbx_process_free(p);
    }
    return NULL;
}

static void many_threads_share_one_sandbox(void) {
    sbx_config_t *cfg = new_config();
    OK(sbx_sandbox_new(cfg, &shared, &err));
    sbx_config_free(cfg);
    pthread_t t[8];
    int started = 0, failures = 0;
    while (started < 8 && pthread_create(&t[started], NULL, spawn_five, NULL) == 0) started++;
    for (int i = 0; i < started; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        failures += r != NULL;
    }
    failures += 8 - started;
    sbx_sandbox_free(shared);
    CHECK(failures == 0);
}

static void the_system_check_reports_features(void) {
    sbx_system_report_t *report = NULL;
    OK(sbx_check_system(&report, &err));
    size_t n = sbx_system_report_count(report);
    CHECK(n >= 10);
    sbx_feature_t f = {.struct_size = sizeof f};
    OK(sbx_system_report_get(report, 0, &f, &err));
    CHECK(f.name && strcmp(f.name, "kernel") == 0 && f.detail && f.status == SBX_FEATURE_OK);
    CHECK(f.struct_size == sizeof f && f.reserved == 0);
    CHECK(f.value && strlen(f.value) > 0);
    OK(sbx_system_report_find(report, "user_namespaces", &f, &err));
    CHECK(f.available && f.status == SBX_FEATURE_OK && f.fix == NULL);
    OK(sbx_system_report_find(report, "root", &f, &err));
    CHECK(f.available == (geteuid() == 0));
    CHECK_ERR(sbx_system_report_find(report, "warp_drive", &f, &err), SBX_E_NOT_FOUND,
              "no feature 'warp_drive'; known features: kernel");
    CHECK_ERR(sbx_system_report_get(report, n, &f, &err), SBX_E_INVALID_ARGUMENT, "is past the last feature");
    sbx_feature_t small = {.struct_size = 3};
    CHECK_ERR(sbx_system_report_get(report, 0, &small, &err), SBX_E_INVALID_ARGUMENT, "struct_size is 3");
    CHECK_ERR(sbx_system_report_find(report, NULL, &f, &err), SBX_E_INVALID_ARGUMENT, "name: is NULL");
    CHECK(strncmp(sbx_system_report_json(report), "{\"features\":[", 13) == 0);
    sbx_system_report_free(report);
}

/* ---------------------------------------------------------------- runner */

#define T(fn) {#fn, fn}
static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    T(version_macros_agree_with_the_library),
    T(status_names_are_stable),
    T(null_handles_are_safe_everywhere),
    T(boundary_values_are_errors_or_work_never_crash),
    T(run_captures_output_and_reports_the_exit),
    T(usage_fills_only_what_an_older_caller_declared),
    T(a_signal_and_a_timeout_are_reported),
    T(output_is_cut_at_the_limit),
    T(stdin_bytes_reach_the_workload_verbatim),
    T(environment_is_bytes_and_names_are_checked),
    T(cwd_hostname_and_user_apply),
    T(binds_and_tmpfs_mount_where_asked),
    T(a_directory_can_be_the_root),
    T(namespaces_and_network_can_be_chosen),
    T(id_mappings_are_checked),
    T(capabilities_and_nested_userns_are_opt_in),
    T(streams_can_go_to_a_callers_fd),
    T(json_configs_are_read_and_checked),
    T(sizes_parse_like_the_cli),
    T(bad_commands_fail_before_anything_runs),
    T(spawned_processes_stream_through_pipes),
    T(a_wait_can_time_out_and_a_kill_ends_it),
    T(process_edges_behave),
    T(the_timeout_holds_while_nobody_waits),
    T(limits_are_enforced_and_reported),
    T(spawn_refuses_stdin_bytes),
    T(many_threads_share_one_sandbox),
    T(the_system_check_reports_features),
};

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
    snprintf(tmp, sizeof tmp, "%s/sbx-test-c-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp) || chmod(tmp, 0777) != 0) {
        perror("mkdtemp");
        return 2;
    }
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (only && strcmp(only, tests[i].name) != 0) continue;
        current = tests[i].name;
        current_failed = 0;
        tests[i].fn();
        printf("%s %s\n", current_failed ? "FAIL" : "ok  ", current);
        fflush(stdout);
        current_failed ? failed++ : passed++;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    printf("c tests (uid %d): %d passed, %d failed\n", (int)geteuid(), passed, failed);
    return failed ? 1 : 0;
}
