// Input checks shared by the bind_<area>.cpp files. All raise ValueError naming the argument,
// before the GIL is released and before any kernel runs.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "icecore/parallel.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace icecore::python {

template <class T>
using carray = py::array_t<T, py::array::c_style | py::array::forcecast>;

[[noreturn]] inline void fail(const std::string& name, const std::string& problem) {
    throw py::value_error("argument '" + name + "': " + problem);
}

template <class T>
void require_ndim(const carray<T>& a, py::ssize_t ndim, const char* name) {
    if (a.ndim() != ndim)
        fail(name, "expected a " + std::to_string(ndim) + "-d array, got " +
                       std::to_string(a.ndim()) + "-d");
}

template <class T>
void require_nonempty(const carray<T>& a, const char* name) {
    if (a.size() == 0) fail(name, "is empty");
}

template <class T>
void require_finite(const carray<T>& a, const char* name) {
    const T* p = a.data();
    const auto n = static_cast<std::size_t>(a.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(static_cast<double>(p[i])))
            fail(name, "contains NaN or infinity at flat index " + std::to_string(i));
    }
}

// Thread counts: 0 means all cores; above kMaxThreads is refused here with the argument name
// (parallel_for clamps as well, for kernels reached without this check).
inline int check_threads(int threads) {
    if (threads < 0 || threads > kMaxThreads)
        fail("threads", "must be within [0, " + std::to_string(kMaxThreads) +
                            "] (0 means all cores), got " + std::to_string(threads));
    return threads;
}

}  // namespace icecore::python
