// A minimal parallel-for over row ranges for the CPU ops. Threads are std::thread; the count
// comes from alphacut::set_num_threads (Python: alphacut.set_num_threads / ALPHACUT_NUM_THREADS),
// capped at kMaxThreadsPerHardwareThread per hardware thread and kMaxThreads in all: more only
// adds start-up cost and memory (an 8 MiB stack each), and an unbounded request exhausts the
// process's threads.
//
// Each call reads the count once. A thread that cannot be created (EAGAIN under a thread or
// address-space limit, or out of memory) is not an error: its share of the work runs on the
// threads that did start, down to the calling thread alone.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace alphacut {

constexpr int kMaxThreadsPerHardwareThread = 4;
constexpr int kMaxThreads = 256;

inline int hardware_threads() {
    const unsigned int n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(std::min(n, 1u << 20));
}

// The most threads one call uses, whatever was asked for.
inline int max_num_threads() { return std::min(kMaxThreads, kMaxThreadsPerHardwareThread * hardware_threads()); }

inline std::atomic<int>& num_threads_setting() {
    static std::atomic<int> n{0};  // 0 = hardware concurrency
    return n;
}

// A limit for the calling thread alone (0 = none): a worker of a batch that runs images side by
// side, each on fewer threads, without changing the setting for the rest of the process.
inline int& thread_limit() {
    thread_local int n = 0;
    return n;
}

// The threads a call starts now: the setting (0 = one per hardware thread), within the calling
// thread's limit, capped.
inline int get_num_threads() {
    int n = num_threads_setting().load();
    if (n <= 0) n = hardware_threads();
    const int limit = thread_limit();
    if (limit > 0) n = std::min(n, limit);
    return std::min(n, max_num_threads());
}

inline void set_num_threads(int n) { num_threads_setting().store(n < 0 ? 0 : n); }

namespace detail {

// Starts worker(t) on a new thread for t = 1 .. n - 1, in order, until one cannot be created;
// returns the threads that run (workers 1 .. size()).
template <typename W>
std::vector<std::thread> start_workers(int n, W& worker) {
    std::vector<std::thread> pool;
    try {
        pool.reserve(static_cast<std::size_t>(n > 1 ? n - 1 : 0));
        for (int t = 1; t < n; ++t) pool.emplace_back(worker, t);
    } catch (...) {
        // std::system_error (no thread) or std::bad_alloc: carry on with the threads that started.
    }
    return pool;
}

}  // namespace detail

// Calls f(lo, hi) on disjoint sub-ranges covering [begin, end). Ranges smaller than
// `min_chunk` are not split. Exceptions from workers are re-thrown on the caller's thread.
// The sub-ranges are fixed before any thread starts: ranges whose thread could not be created
// run on the caller, after its own.
template <typename F>
void parallel_for(int begin, int end, F&& f, int min_chunk = 16) {
    const long long n = static_cast<long long>(end) - begin;
    if (n <= 0) return;
    const long long chunks = std::max(1LL, n / std::max(1, min_chunk));
    const int threads = static_cast<int>(std::min<long long>(get_num_threads(), chunks));
    if (threads <= 1) {
        f(begin, end);
        return;
    }
    std::vector<std::exception_ptr> errors(threads);
    auto run = [&](int t) {
        const int lo = static_cast<int>(begin + n * t / threads);
        const int hi = static_cast<int>(begin + n * (t + 1) / threads);
        try {
            f(lo, hi);
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    std::vector<std::thread> pool = detail::start_workers(threads, run);
    run(0);
    for (int t = static_cast<int>(pool.size()) + 1; t < threads; ++t) run(t);
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

// For work whose members wait for each other (barriers): runs body(t, team) for every t in
// [0, team) at the same time, each on its own thread (t = 0 on the caller). team is `threads`,
// or fewer when threads cannot be created; prepare(team) runs on the caller before any member
// starts, to size the state the members share (the barrier, per-member slots). Exceptions are
// re-thrown on the caller's thread.
template <typename Prepare, typename Body>
void parallel_team(int threads, Prepare&& prepare, Body&& body) {
    threads = std::max(1, threads);
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    int team = 1;
    std::vector<std::exception_ptr> errors(threads);
    auto member = [&](int t) {
        {
            std::unique_lock<std::mutex> lock(m);
            cv.wait(lock, [&] { return go; });
        }
        if (t >= team) return;  // prepare failed: team is 0
        try {
            body(t, team);
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    std::vector<std::thread> pool = detail::start_workers(threads, member);
    std::exception_ptr prepare_error;
    {
        std::lock_guard<std::mutex> lock(m);
        team = static_cast<int>(pool.size()) + 1;
        try {
            prepare(team);
        } catch (...) {
            prepare_error = std::current_exception();
            team = 0;
        }
        go = true;
    }
    cv.notify_all();
    if (team > 0) {
        try {
            body(0, team);
        } catch (...) {
            errors[0] = std::current_exception();
        }
    }
    for (auto& th : pool) th.join();
    if (prepare_error) std::rethrow_exception(prepare_error);
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace alphacut
