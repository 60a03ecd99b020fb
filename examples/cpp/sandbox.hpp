// A thin RAII layer over the C ABI, as a C++ program would write it:
// handles in unique_ptrs with their _free as deleter, failures as a
// sandbox::Error exception that keeps the code, stage, errno and message.
#pragma once

#include <sandbox.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace sandbox {

class Error : public std::runtime_error {
  public:
    explicit Error(sbx_error_t *err)
        : std::runtime_error(sbx_error_message(err)), code(sbx_error_code(err)), stage(sbx_error_stage(err)),
          errno_value(sbx_error_errno(err)) {
        sbx_error_free(err);
    }
    sbx_status_t code;
    std::string stage;
    int errno_value;
};

// Calls a fallible sbx_* function and throws on failure.
template <typename F> void check(F &&call) {
    sbx_error_t *err = nullptr;
    if (call(&err) != SBX_OK) throw Error(err);
}

template <typename T, void (*Free)(T *)> struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using ConfigPtr = std::unique_ptr<sbx_config_t, Deleter<sbx_config_t, sbx_config_free>>;
using SandboxPtr = std::unique_ptr<sbx_sandbox_t, Deleter<sbx_sandbox_t, sbx_sandbox_free>>;
using ProcessPtr = std::unique_ptr<sbx_process_t, Deleter<sbx_process_t, sbx_process_free>>;
using ResultPtr = std::unique_ptr<sbx_result_t, Deleter<sbx_result_t, sbx_result_free>>;

inline std::vector<const char *> c_argv(const std::vector<std::string> &args) {
    std::vector<const char *> v;
    for (const auto &a : args) v.push_back(a.c_str());
    v.push_back(nullptr);
    return v;
}

class Result {
  public:
    explicit Result(sbx_result_t *r) : r_(r) {}
    int exit_code() const { return sbx_result_exit_code(r_.get()); }
    int signal() const { return sbx_result_signal(r_.get()); }
    bool timed_out() const { return sbx_result_timed_out(r_.get()); }
    std::string out() const {
        size_t n = 0;
        const uint8_t *p = sbx_result_stdout(r_.get(), &n);
        return std::string(reinterpret_cast<const char *>(p), n);
    }
    sbx_usage_t usage() const {
        sbx_usage_t u{};
        u.struct_size = sizeof u;
        check([&](sbx_error_t **e) { return sbx_result_usage(r_.get(), &u, e); });
        return u;
    }

  private:
    ResultPtr r_;
};

class Config {
  public:
    Config() {
        sbx_config_t *c = nullptr;
        check([&](sbx_error_t **e) { return sbx_config_new(&c, e); });
        c_.reset(c);
    }
    Config &timeout_ms(uint64_t ms) {
        check([&](sbx_error_t **e) { return sbx_config_set_timeout_ms(c_.get(), ms, e); });
        return *this;
    }
    Config &bind(const std::string &src, const std::string &dst, bool read_only) {
        check([&](sbx_error_t **e) { return sbx_config_add_bind(c_.get(), src.c_str(), dst.c_str(), read_only, e); });
        return *this;
    }
    Config &stdin_bytes(const std::string &data) {
        check([&](sbx_error_t **e) {
            return sbx_config_set_stdin_bytes(c_.get(), reinterpret_cast<const uint8_t *>(data.data()), data.size(), e);
        });
        return *this;
    }
    Result run(const std::vector<std::string> &args) const {
        auto argv = c_argv(args);
        sbx_result_t *r = nullptr;
        check([&](sbx_error_t **e) { return sbx_run(c_.get(), argv.data(), &r, e); });
        return Result(r);
    }
    const sbx_config_t *get() const { return c_.get(); }

  private:
    ConfigPtr c_;
};

// Validated once; spawn from any number of threads.
class Sandbox {
  public:
    explicit Sandbox(const Config &cfg) {
        sbx_sandbox_t *s = nullptr;
        check([&](sbx_error_t **e) { return sbx_sandbox_new(cfg.get(), &s, e); });
        s_.reset(s);
    }
    // Runs to the end; the process handle is freed (and the sandbox reaped) on return.
    Result run(const std::vector<std::string> &args) const {
        auto argv = c_argv(args);
        sbx_process_t *p = nullptr;
        check([&](sbx_error_t **e) { return sbx_sandbox_spawn(s_.get(), argv.data(), &p, e); });
        ProcessPtr proc(p);
        sbx_result_t *r = nullptr;
        check([&](sbx_error_t **e) { return sbx_process_wait(proc.get(), -1, &r, e); });
        return Result(r);
    }

  private:
    SandboxPtr s_;
};

}  // namespace sandbox
