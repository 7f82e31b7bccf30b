// A minimal parallel-for over row ranges for the CPU ops. Threads are std::thread; the count
// comes from alphacut::set_num_threads (Python: alphacut.set_num_threads / ALPHACUT_NUM_THREADS).
#pragma once
#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace alphacut {

inline std::atomic<int>& num_threads_setting() {
    static std::atomic<int> n{0};  // 0 = hardware concurrency
    return n;
}

inline int get_num_threads() {
    int n = num_threads_setting().load();
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    return n <= 0 ? 1 : n;
}

inline void set_num_threads(int n) { num_threads_setting().store(n < 0 ? 0 : n); }

// Calls f(lo, hi) on disjoint sub-ranges covering [begin, end). Ranges smaller than
// `min_chunk` are not split. Exceptions from workers are re-thrown on the caller's thread.
template <typename F>
void parallel_for(int begin, int end, F&& f, int min_chunk = 16) {
    const int n = end - begin;
    if (n <= 0) return;
    int threads = std::min(get_num_threads(), std::max(1, n / std::max(1, min_chunk)));
    if (threads <= 1) {
        f(begin, end);
        return;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(threads);
    pool.reserve(threads - 1);
    auto run = [&](int t) {
        const int lo = begin + static_cast<int>(static_cast<long long>(n) * t / threads);
        const int hi = begin + static_cast<int>(static_cast<long long>(n) * (t + 1) / threads);
        try {
            f(lo, hi);
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    for (int t = 1; t < threads; ++t) pool.emplace_back(run, t);
    run(0);
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace alphacut
