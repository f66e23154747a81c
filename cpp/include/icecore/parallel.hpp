// Deterministic static-chunk parallel loop shared by all kernels.
//
// Work [0, n) is split into `threads` contiguous chunks of (almost) equal size; each chunk is
// processed by one std::thread. Results written per index are therefore independent of the
// thread count as long as the body only writes to its own indices. The first exception thrown
// by any chunk is re-thrown in the caller after all threads have joined.
//
// Thread counts are clamped here, the one place every kernel goes through: a request above
// kMaxThreads runs kMaxThreads threads (never more than there are items). If the system
// refuses a thread (std::system_error from std::thread: EAGAIN under a process/memory limit),
// the threads already started are joined and a std::runtime_error naming the counts is thrown;
// a joinable std::thread is never destroyed, so this can never call std::terminate.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace icecore {

/// Largest number of threads any kernel starts; the Python API rejects larger requests
/// (icecore._validation.MAX_THREADS has the same value).
inline constexpr int kMaxThreads = 1024;

/// Number of threads to use: `requested` if > 0, else all hardware threads (at least 1);
/// clamped to kMaxThreads.
inline unsigned resolve_threads(int requested) {
    if (requested > 0) return static_cast<unsigned>(std::min(requested, kMaxThreads));
    const unsigned hw = std::thread::hardware_concurrency();
    return std::min(hw == 0 ? 1u : hw, static_cast<unsigned>(kMaxThreads));
}

/// Call body(begin, end) on contiguous chunks of [0, n) from up to `threads` threads.
template <class Body>
void parallel_for(std::size_t n, int threads, Body&& body) {
    if (n == 0) return;
    const std::size_t nt = std::min<std::size_t>(resolve_threads(threads), n);
    if (nt <= 1) {
        body(std::size_t{0}, n);
        return;
    }
    std::exception_ptr error;
    std::mutex error_mutex;
    auto run = [&](std::size_t begin, std::size_t end) noexcept {
        try {
            body(begin, end);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) error = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    const auto join_all = [&pool] {
        for (auto& t : pool)
            if (t.joinable()) t.join();
    };
    const std::size_t base = n / nt, extra = n % nt;
    try {
        pool.reserve(nt);
        std::size_t begin = 0;
        for (std::size_t k = 0; k < nt; ++k) {
            const std::size_t end = begin + base + (k < extra ? 1 : 0);
            pool.emplace_back(run, begin, end);
            begin = end;
        }
    } catch (const std::system_error& e) {
        const std::size_t started = pool.size();
        join_all();
        throw std::runtime_error("could not start thread " + std::to_string(started + 1) + " of " +
                                 std::to_string(nt) + " (" + e.what() +
                                 "); ask for fewer threads");
    } catch (...) {  // std::bad_alloc from reserve/emplace_back
        join_all();
        throw;
    }
    join_all();
    if (error) std::rethrow_exception(error);
}

/// Call body(begin, end) on chunks of `grain` consecutive indices of [0, n) handed out in order
/// to whichever of up to `threads` threads is free (dynamic scheduling: uneven items, such as
/// vertex fits of 1-7 seeds, do not leave a thread idle at the end). Which thread runs an index
/// varies, so results are independent of `threads` exactly when the body only writes its own
/// indices from inputs that do not depend on the thread (as with parallel_for).
template <class Body>
void parallel_for_dynamic(std::size_t n, int threads, std::size_t grain, Body&& body) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    const std::size_t nt = std::min<std::size_t>(resolve_threads(threads), (n + grain - 1) / grain);
    if (nt <= 1) {
        for (std::size_t begin = 0; begin < n; begin += grain) body(begin, std::min(n, begin + grain));
        return;
    }
    std::atomic<std::size_t> next{0};
    parallel_for(nt, static_cast<int>(nt), [&](std::size_t, std::size_t) {
        for (;;) {
            const std::size_t begin = next.fetch_add(grain, std::memory_order_relaxed);
            if (begin >= n) break;
            body(begin, std::min(n, begin + grain));
        }
    });
}

}  // namespace icecore
