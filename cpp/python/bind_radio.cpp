// Bindings for the radio kernels (windowed RMS and spread, copy comparison, spike finding and
// correction). Validate, then release the GIL around the pure C++ loop.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "icecore/radio_cleaning.hpp"
#include "icecore/windowed_rms.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

template <class T>
py::array_t<double> windowed_rms_impl(const carray<T>& traces, py::ssize_t window, int threads) {
    require_ndim(traces, 2, "traces");
    require_nonempty(traces, "traces");
    if constexpr (std::is_floating_point_v<T>) require_finite(traces, "traces");
    const auto rows = static_cast<std::size_t>(traces.shape(0));
    const auto samples = static_cast<std::size_t>(traces.shape(1));
    if (window < 1) fail("window", "must be >= 1 sample, got " + std::to_string(window));
    if (static_cast<std::size_t>(window) > samples)
        fail("window", std::to_string(window) + " samples is longer than the trace (" +
                           std::to_string(samples) + " samples)");
    check_threads(threads);
    py::array_t<double> out(static_cast<py::ssize_t>(rows));
    const T* in = traces.data();
    double* o = out.mutable_data();
    {
        // Pure C++ from here on: no Python objects are touched while the GIL is released.
        py::gil_scoped_release release;
        windowed_rms_min<T>(in, rows, samples, static_cast<std::size_t>(window), o, threads);
    }
    return out;
}

template <class T>
py::tuple windowed_rms_spread_impl(const carray<T>& traces, py::ssize_t block, py::ssize_t window,
                                   py::ssize_t n_smallest, int threads) {
    require_ndim(traces, 2, "traces");
    require_nonempty(traces, "traces");
    if constexpr (std::is_floating_point_v<T>) require_finite(traces, "traces");
    const auto rows = static_cast<std::size_t>(traces.shape(0));
    const auto samples = static_cast<std::size_t>(traces.shape(1));
    if (block < 1 || samples % static_cast<std::size_t>(block) != 0)
        fail("block", "must divide the row length " + std::to_string(samples) + ", got " + std::to_string(block));
    if (window < 1 || window > block)
        fail("window", "must be in [1, block = " + std::to_string(block) + "], got " + std::to_string(window));
    if (n_smallest < 1) fail("n_smallest", "must be >= 1, got " + std::to_string(n_smallest));
    check_threads(threads);
    py::array_t<double> rms(static_cast<py::ssize_t>(rows)), spread(static_cast<py::ssize_t>(rows));
    const T* in = traces.data();
    double* r = rms.mutable_data();
    double* sp = spread.mutable_data();
    {
        py::gil_scoped_release release;
        windowed_rms_spread<T>(in, rows, samples, static_cast<std::size_t>(block),
                               static_cast<std::size_t>(window), static_cast<std::size_t>(n_smallest),
                               r, sp, threads);
    }
    return py::make_tuple(rms, spread);
}

template <class T>
py::array_t<T> copy_of(const carray<T>& a) {
    std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
    py::array_t<T> out(shape);
    std::memcpy(out.mutable_data(), a.data(), static_cast<std::size_t>(a.size()) * sizeof(T));
    return out;
}

template <class T>
py::tuple compare_copies_impl(const carray<T>& traces, int threads) {
    require_ndim(traces, 3, "traces");
    require_nonempty(traces, "traces");
    const auto events = static_cast<std::size_t>(traces.shape(0));
    const auto copies = static_cast<std::size_t>(traces.shape(1));
    const auto samples = static_cast<std::size_t>(traces.shape(2));
    if (copies < 2) fail("traces", "needs at least 2 copies (axis 1), got " + std::to_string(copies));
    check_threads(threads);
    py::array_t<T> out = copy_of(traces);
    py::array_t<std::int32_t> changed({static_cast<py::ssize_t>(events), static_cast<py::ssize_t>(copies)});
    py::array_t<std::int32_t> unresolved(static_cast<py::ssize_t>(events));
    T* o = out.mutable_data();
    std::int32_t* ch = changed.mutable_data();
    std::int32_t* un = unresolved.mutable_data();
    {
        py::gil_scoped_release release;
        compare_copies<T>(o, events, copies, samples, ch, un, threads);
    }
    return py::make_tuple(out, changed, unresolved);
}

inline void check_threshold(double k, const char* name) {
    if (!std::isfinite(k) || !(k > 0)) fail(name, "must be a finite number > 0, got " + std::to_string(k));
}

template <class T>
py::array_t<std::uint8_t> find_spikes_impl(const carray<T>& traces, double amp_k, double jump_k, int threads) {
    require_ndim(traces, 2, "traces");
    require_nonempty(traces, "traces");
    if (traces.shape(1) < 3) fail("traces", "needs at least 3 samples per trace, got " + std::to_string(traces.shape(1)));
    check_threshold(amp_k, "amp_k");
    check_threshold(jump_k, "jump_k");
    check_threads(threads);
    const auto rows = static_cast<std::size_t>(traces.shape(0));
    const auto samples = static_cast<std::size_t>(traces.shape(1));
    py::array_t<std::uint8_t> mask({traces.shape(0), traces.shape(1)});
    const T* in = traces.data();
    std::uint8_t* m = mask.mutable_data();
    {
        py::gil_scoped_release release;
        find_spikes<T>(in, rows, samples, amp_k, jump_k, m, threads);
    }
    return mask;
}

template <class T>
py::tuple correct_spikes_impl(const carray<T>& traces, const carray<std::uint8_t>& mask, int msb_bit,
                              double keep_k, int threads) {
    require_ndim(traces, 2, "traces");
    require_nonempty(traces, "traces");
    require_ndim(mask, 2, "mask");
    if (mask.shape(0) != traces.shape(0) || mask.shape(1) != traces.shape(1)) fail("mask", "must have the shape of traces");
    constexpr int max_bit = std::numeric_limits<T>::digits - 1;
    if (msb_bit < 0 || msb_bit > max_bit)
        fail("msb_bit", "must be in [0, " + std::to_string(max_bit) + "] for this sample type, got " + std::to_string(msb_bit));
    check_threshold(keep_k, "keep_k");
    check_threads(threads);
    const auto rows = static_cast<std::size_t>(traces.shape(0));
    const auto samples = static_cast<std::size_t>(traces.shape(1));
    py::array_t<T> out = copy_of(traces);
    py::array_t<std::int32_t> flipped(traces.shape(0)), replaced(traces.shape(0)), unresolved(traces.shape(0));
    T* o = out.mutable_data();
    const std::uint8_t* m = mask.data();
    std::int32_t* f = flipped.mutable_data();
    std::int32_t* rp = replaced.mutable_data();
    std::int32_t* un = unresolved.mutable_data();
    {
        py::gil_scoped_release release;
        correct_spikes<T>(o, rows, samples, m, msb_bit, keep_k, f, rp, un, threads);
    }
    return py::make_tuple(out, flipped, replaced, unresolved);
}

template <class T>
py::tuple robust_stats_impl(const carray<T>& traces) {
    require_ndim(traces, 2, "traces");
    require_nonempty(traces, "traces");
    const auto rows = static_cast<std::size_t>(traces.shape(0));
    const auto samples = static_cast<std::size_t>(traces.shape(1));
    py::array_t<double> med(traces.shape(0)), sig(traces.shape(0));
    const T* in = traces.data();
    double* md = med.mutable_data();
    double* sg = sig.mutable_data();
    {
        py::gil_scoped_release release;
        for (std::size_t r = 0; r < rows; ++r) robust_location_scale<T>(in + r * samples, samples, md + r, sg + r);
    }
    return py::make_tuple(med, sig);
}

// One Python name per kernel, one overload per sample type. The array argument is marked
// noconvert, so an array of exactly that dtype (C-contiguous, native byte order) picks its own
// overload and is used without a copy; overloads are tried in registration order.
template <class T>
void def_cleaning(py::module_& m) {
    const bool first = std::is_same_v<T, std::int16_t>;  // docstrings on the first overload only
    m.def("compare_copies", &compare_copies_impl<T>, py::arg("traces").noconvert(), py::arg("threads") = 0,
          first ? R"doc(Repair disagreeing samples of the read-out copies by majority (see radio_cleaning.hpp).

traces : (events, copies, samples) C-contiguous int16 or int32 array (copies >= 2); not modified.
Returns (repaired copy, changed (events, copies) int32, unresolved (events,) int32).)doc" : "");
    m.def("find_spikes", &find_spikes_impl<T>, py::arg("traces").noconvert(), py::arg("amp_k"), py::arg("jump_k"),
          py::arg("threads") = 0,
          first ? R"doc(Spike mask of each trace: bit 1 amplitude outlier (|x - median| > amp_k MAD), bit 2 jump
(two opposite jumps > jump_k MAD of the differences). traces : (rows, samples >= 3) C-contiguous
int16 or int32. Returns a (rows, samples) uint8 mask.)doc" : "");
    m.def("correct_spikes", &correct_spikes_impl<T>, py::arg("traces").noconvert(), py::arg("mask"),
          py::arg("msb_bit"), py::arg("keep_k"), py::arg("threads") = 0,
          first ? R"doc(Correct flagged samples: flip bit msb_bit if the result is within keep_k MAD of the median,
else the mean of the nearest non-spike neighbours (two inner ones at trace ends), rounded half
away from zero. traces : (rows, samples) C-contiguous int16 or int32; mask : (rows, samples)
uint8, non-zero = spike. Returns (corrected copy, flipped, replaced, unresolved), counts per row.)doc"
                : "");
    m.def("robust_stats", &robust_stats_impl<T>, py::arg("traces").noconvert(),
          first ? R"doc(Median and robust sigma (1.4826 MAD, floored at 1 count) of each row of a C-contiguous
(rows, samples) int16 or int32 array. Returns two (rows,) float64 arrays.)doc" : "");
}

constexpr const char* kRmsDoc = R"doc(Minimum sliding-window RMS of each row of a 2-d array.

Parameters
----------
traces : (rows, samples) C-contiguous array of int16, int32, float32 or float64 (each its own
         overload, used without a copy); any other array is converted to float64
window : window length in samples (1 <= window <= samples)
threads : worker threads, 0 = all cores

Returns
-------
(rows,) float64 array: min over offsets of sqrt(mean(x**2)) within the window, in input units.
)doc";

constexpr const char* kSpreadDoc = R"doc(RMS amplitude and RMS spread of each row of a 2-d array made of blocks of `block` samples.

traces : (rows, samples) C-contiguous array of int16, int32, float32 or float64 (each its own
         overload, used without a copy); any other array is converted to float64.
rms    : min over blocks of the minimum sliding-window RMS inside the block.
spread : std (ddof=0) of the n_smallest smallest RMS values of the non-overlapping window-sample
         sub-traces of all blocks (all of them if fewer).
Returns (rms, spread), float64 arrays of shape (rows,).)doc";

// `exact`: the array must have dtype T already (noconvert); the last (float64) overload accepts
// anything numpy can convert, so it is the fallback for other dtypes and layouts.
// The docstring goes on the first overload only (pybind11 lists every overload's signature).
template <class T>
void def_rms(py::module_& m, bool exact) {
    const bool first = std::is_same_v<T, std::int16_t>;
    auto traces = exact ? py::arg("traces").noconvert() : py::arg("traces");
    m.def("windowed_rms_min", &windowed_rms_impl<T>, traces, py::arg("window"), py::arg("threads") = 0,
          first ? kRmsDoc : "");
    m.def("windowed_rms_spread", &windowed_rms_spread_impl<T>, traces, py::arg("block"), py::arg("window"),
          py::arg("n_smallest"), py::arg("threads") = 0, first ? kSpreadDoc : "");
}

}  // namespace

void bind_radio(py::module_& m) {
    def_rms<std::int16_t>(m, true);
    def_rms<std::int32_t>(m, true);
    def_rms<float>(m, true);
    def_rms<double>(m, false);
    def_cleaning<std::int16_t>(m);
    def_cleaning<std::int32_t>(m);
}

}  // namespace icecore::python
