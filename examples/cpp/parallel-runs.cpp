// C++ with RAII wrappers (sandbox.hpp): one validated sandbox shared by a
// pool of threads, a one-shot run with stdin and a timeout, and a
// configuration error caught as an exception.
//
//   c++ -std=c++17 parallel-runs.cpp $(pkg-config --cflags --libs sandbox) -pthread

#include "sandbox.hpp"

#include <atomic>
#include <iostream>
#include <thread>

int main() {
    try {
        sandbox::Config cfg;
        cfg.timeout_ms(2000);

        // One-shot, with stdin bytes.
        auto echoed = sandbox::Config().stdin_bytes("sorted\nnot\n").run({"sort"});
        std::cout << "sort said: " << echoed.out();

        // A timeout is a result, not an exception.
        auto slow = sandbox::Config().timeout_ms(100).run({"sleep", "5"});
        std::cout << "sleep 5 timed out: " << (slow.timed_out() ? "yes" : "no") << "\n";

        // Four threads share one sandbox configuration.
        sandbox::Sandbox shared(cfg);
        std::atomic<int> ok{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < 4; t++)
            pool.emplace_back([&, t] {
                for (int i = 0; i < 5; i++) {
                    auto r = shared.run({"sh", "-c", "exit " + std::to_string((t + i) % 2)});
                    if (r.exit_code() == (t + i) % 2) ok++;
                }
            });
        for (auto &th : pool) th.join();
        std::cout << ok << " of 20 parallel runs reported the right exit code\n";

        // Bad input is an exception naming the field and the fix.
        try {
            sandbox::Config bad;
            bad.bind("/nonexistent/src", "/data", true);
            sandbox::Sandbox never(bad);
            return 1;
        } catch (const sandbox::Error &e) {
            std::cout << "refused (" << sbx_status_name(e.code) << ", stage " << e.stage << "): " << e.what() << "\n";
        }
        return ok == 20 && slow.timed_out() && echoed.out() == "not\nsorted\n" ? 0 : 1;
    } catch (const sandbox::Error &e) {
        std::cerr << "sandbox: " << e.what() << "\n";
        return 1;
    }
}
