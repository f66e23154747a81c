// Bindings for the radio kernels (windowed RMS, ...). Validate, then release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>

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

}  // namespace

void bind_radio(py::module_& m) {
    const char* doc = R"doc(Minimum sliding-window RMS of each row of a 2-d array.

Parameters
----------
traces : (rows, samples) array of int16, int32, float32 or float64 (C-contiguous copy made if needed)
window : window length in samples (1 <= window <= samples)
threads : worker threads, 0 = all cores

Returns
-------
(rows,) float64 array: min over offsets of sqrt(mean(x**2)) within the window, in input units.
)doc";
    m.def("windowed_rms_min_i16", &windowed_rms_impl<std::int16_t>, py::arg("traces"),
          py::arg("window"), py::arg("threads") = 0, doc);
    m.def("windowed_rms_min_i32", &windowed_rms_impl<std::int32_t>, py::arg("traces"),
          py::arg("window"), py::arg("threads") = 0, doc);
    m.def("windowed_rms_min_f32", &windowed_rms_impl<float>, py::arg("traces"), py::arg("window"),
          py::arg("threads") = 0, doc);
    m.def("windowed_rms_min_f64", &windowed_rms_impl<double>, py::arg("traces"), py::arg("window"),
          py::arg("threads") = 0, doc);
}

}  // namespace icecore::python
