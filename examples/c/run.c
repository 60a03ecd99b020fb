/*
 * One-shot: run a command in a fresh sandbox with a timeout and an output
 * limit, capture what it printed, report how it ended and what it used.
 *
 *   cc run.c $(pkg-config --cflags --libs sandbox) -o run && ./run
 */
#include <stdio.h>
#include <sandbox.h>

int main(void) {
    sbx_config_t *cfg = NULL;
    sbx_result_t *res = NULL;
    sbx_error_t *err = NULL;
    const char *argv[] = {"sh", "-c", "echo \"hello from $(hostname) as uid $(id -u)\"; ls /home 2>&1; exit 3", NULL};

    if (sbx_config_new(&cfg, &err) != SBX_OK
        || sbx_config_set_timeout_ms(cfg, 2000, &err) != SBX_OK
        || sbx_config_set_output_limit(cfg, 1 << 20, &err) != SBX_OK
        || sbx_config_set_env(cfg, "GREETING", "hi", &err) != SBX_OK
        || sbx_run(cfg, argv, &res, &err) != SBX_OK) {
        fprintf(stderr, "sandbox: %s (%s, stage %s)\n", sbx_error_message(err),
                sbx_status_name(sbx_error_code(err)), sbx_error_stage(err));
        sbx_error_free(err);
        sbx_config_free(cfg);
        return 1;
    }
    sbx_config_free(cfg);

    size_t len = 0;
    const uint8_t *out = sbx_result_stdout(res, &len);
    printf("stdout (%zu bytes):\n%.*s", len, (int)len, (const char *)out);
    sbx_usage_t usage = {.struct_size = sizeof usage};
    if (sbx_result_usage(res, &usage, &err) != SBX_OK) {
        fprintf(stderr, "sandbox: %s\n", sbx_error_message(err));
        sbx_error_free(err);
    }
    printf("exit code %d, signal %d, timed out: %s\n", sbx_result_exit_code(res), sbx_result_signal(res),
           sbx_result_timed_out(res) ? "yes" : "no");
    printf("wall %.1f ms, cpu %.1f ms, peak memory %llu KiB\n", usage.wall_time_us / 1000.0,
           (usage.cpu_user_us + usage.cpu_system_us) / 1000.0, (unsigned long long)usage.peak_memory_bytes >> 10);
    int ok = sbx_result_exit_code(res) == 3;
    sbx_result_free(res);
    return ok ? 0 : 1;
}
