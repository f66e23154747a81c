// parallel_for: every index visited exactly once, results independent of the thread count,
// the first exception re-thrown after all threads joined.
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "check.hpp"
#include "icecore/parallel.hpp"

ICECORE_TEST(every_index_once_for_any_thread_count) {
    for (int threads : {1, 2, 3, 7, 64}) {
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{1000}}) {
            std::vector<int> hits(n, 0);
            icecore::parallel_for(n, threads, [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) ++hits[i];
            });
            for (std::size_t i = 0; i < n; ++i) CHECK(hits[i] == 1);
        }
    }
}

ICECORE_TEST(results_do_not_depend_on_threads) {
    const std::size_t n = 10007;
    auto compute = [&](int threads) {
        std::vector<double> out(n);
        icecore::parallel_for(n, threads, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                double s = 0;  // a per-index reduction whose rounding would show any mix-up
                for (std::size_t k = 1; k <= 50; ++k) s += 1.0 / static_cast<double>(i * k + 1);
                out[i] = s;
            }
        });
        return out;
    };
    const auto ref = compute(1);
    for (int threads : {2, 5, 16}) CHECK(compute(threads) == ref);
}

ICECORE_TEST(chunks_are_contiguous_and_ordered) {
    const std::size_t n = 100;
    std::vector<std::pair<std::size_t, std::size_t>> chunks(4);
    std::atomic<int> k{0};
    icecore::parallel_for(n, 4, [&](std::size_t b, std::size_t e) { chunks[static_cast<std::size_t>(k++)] = {b, e}; });
    std::size_t covered = 0;
    for (auto& c : chunks) {
        CHECK(c.second > c.first);
        CHECK(c.second - c.first == 25);
        covered += c.second - c.first;
    }
    CHECK(covered == n);
}

ICECORE_TEST(first_exception_is_rethrown) {
    CHECK_THROWS(icecore::parallel_for(100, 4,
                                       [&](std::size_t b, std::size_t) {
                                           if (b >= 50) throw std::invalid_argument("chunk");
                                       }),
                 std::invalid_argument);
}

ICECORE_TEST(dynamic_every_index_once_and_independent_of_threads) {
    for (std::size_t grain : {std::size_t{1}, std::size_t{4}, std::size_t{100}}) {
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1001}}) {
            auto compute = [&](int threads) {
                std::vector<int> hits(n, 0);
                std::vector<double> out(n);
                icecore::parallel_for_dynamic(n, threads, grain, [&](std::size_t b, std::size_t e) {
                    CHECK(e > b && e - b <= grain);
                    for (std::size_t i = b; i < e; ++i) {
                        ++hits[i];
                        double s = 0;  // uneven work per index
                        for (std::size_t k = 1; k <= 1 + i % 97; ++k) s += 1.0 / static_cast<double>(i * k + 1);
                        out[i] = s;
                    }
                });
                for (std::size_t i = 0; i < n; ++i) CHECK(hits[i] == 1);
                return out;
            };
            const auto ref = compute(1);
            for (int threads : {2, 3, 16}) CHECK(compute(threads) == ref);
        }
    }
    CHECK_THROWS(icecore::parallel_for_dynamic(100, 4, 3,
                                               [&](std::size_t b, std::size_t) {
                                                   if (b >= 50) throw std::invalid_argument("chunk");
                                               }),
                 std::invalid_argument);
}

ICECORE_TEST_MAIN()
