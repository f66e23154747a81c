// A minimal test harness for the pure-C++ kernel tests (no framework dependency): each test is a
// function registered with ICECORE_TEST; CHECK/CHECK_NEAR/CHECK_THROWS record failures with file
// and line; main() runs every test and returns non-zero if any failed (ctest reads the code).
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace icecore_test {

struct Registry {
    std::vector<std::pair<std::string, std::function<void()>>> tests;
    int failures = 0;
    static Registry& get() {
        static Registry r;
        return r;
    }
};

struct Register {
    Register(const char* name, std::function<void()> fn) { Registry::get().tests.emplace_back(name, std::move(fn)); }
};

inline std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

inline void fail(const char* file, int line, const std::string& what) {
    ++Registry::get().failures;
    std::fprintf(stderr, "%s:%d: FAILED %s\n", file, line, what.c_str());
}

inline int run_all() {
    auto& r = Registry::get();
    for (auto& [name, fn] : r.tests) {
        const int before = r.failures;
        try {
            fn();
        } catch (const std::exception& e) {
            fail(name.c_str(), 0, std::string("uncaught exception: ") + e.what());
        }
        std::printf("%s %s\n", r.failures == before ? "ok    " : "FAILED", name.c_str());
    }
    std::printf("%zu tests, %d failed checks\n", r.tests.size(), r.failures);
    return r.failures == 0 ? 0 : 1;
}

}  // namespace icecore_test

#define ICECORE_CAT2(a, b) a##b
#define ICECORE_CAT(a, b) ICECORE_CAT2(a, b)
#define ICECORE_TEST(name)                                                                  \
    static void name();                                                                     \
    static icecore_test::Register ICECORE_CAT(reg_, name)(#name, name);                     \
    static void name()

#define CHECK(cond) \
    do { if (!(cond)) icecore_test::fail(__FILE__, __LINE__, #cond); } while (0)

#define CHECK_NEAR(a, b, tol)                                                                        \
    do {                                                                                             \
        const double va_ = static_cast<double>(a), vb_ = static_cast<double>(b);                     \
        if (!(std::fabs(va_ - vb_) <= (tol)))                                                        \
            icecore_test::fail(__FILE__, __LINE__, std::string(#a " = ") + icecore_test::num(va_) +  \
                                                       " vs " #b " = " + icecore_test::num(vb_));    \
    } while (0)

#define CHECK_THROWS(expr, Exc)                                                        \
    do {                                                                               \
        bool thrown_ = false;                                                          \
        try { (void)(expr); } catch (const Exc&) { thrown_ = true; }                   \
        if (!thrown_) icecore_test::fail(__FILE__, __LINE__, #expr " did not throw " #Exc); \
    } while (0)

#define ICECORE_TEST_MAIN() \
    int main() { return icecore_test::run_all(); }
