// Deterministic static-chunk parallel loop shared by all kernels.
//
// Work [0, n) is split into `threads` contiguous chunks of (almost) equal size; each chunk is
// processed by one std::thread. Results written per index are therefore independent of the
// thread count as long as the body only writes to its own indices. The first exception thrown
// by any chunk is re-thrown in the caller after all threads have joined.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace icecore {

/// Number of threads to use: `requested` if > 0, else all hardware threads (at least 1).
inline unsigned resolve_threads(int requested) {
    if (requested > 0) return static_cast<unsigned>(requested);
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1u : hw;
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
    std::vector<std::thread> pool;
    pool.reserve(nt);
    const std::size_t base = n / nt, extra = n % nt;
    std::size_t begin = 0;
    for (std::size_t k = 0; k < nt; ++k) {
        const std::size_t end = begin + base + (k < extra ? 1 : 0);
        pool.emplace_back([&, begin, end] {
            try {
                body(begin, end);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!error) error = std::current_exception();
            }
        });
        begin = end;
    }
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace icecore
