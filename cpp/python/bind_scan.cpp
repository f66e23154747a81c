// Bindings for the sky-scan refinement state machine ScanDriver (_core.scan).
//
// The binding only converts: numpy arrays -> ScanSettings / DirectionFitResult, and the
// kernel's ScanTask / ScanRecord vectors -> numpy structured arrays of the same layout
// (SCAN_TASK_DTYPE, SCAN_RECORD_DTYPE, checked at compile time below). The settings and the
// next_batch / submit protocol are checked by the kernel (std::invalid_argument -> ValueError);
// the user-facing checks with argument names are in icecore.scan.loop.ScanSettings.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "icecore/scan.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

static_assert(sizeof(ScanTask) == 72 && offsetof(ScanTask, level) == 0 && offsetof(ScanTask, nside) == 8 &&
                  offsetof(ScanTask, pixel) == 16 && offsetof(ScanTask, zenith) == 24 &&
                  offsetof(ScanTask, azimuth) == 32 && offsetof(ScanTask, seed) == 40 &&
                  offsetof(VertexSeed, t) == 24,
              "SCAN_TASK_DTYPE mirrors ScanTask");
static_assert(sizeof(ScanRecord) == 88 && offsetof(ScanRecord, level) == 0 && offsetof(ScanRecord, nside) == 8 &&
                  offsetof(ScanRecord, pixel) == 16 && offsetof(ScanRecord, zenith) == 24 &&
                  offsetof(ScanRecord, azimuth) == 32 && offsetof(ScanRecord, fit) == 40 &&
                  sizeof(DirectionFitResult) == 48 && offsetof(DirectionFitResult, x) == 8 &&
                  offsetof(DirectionFitResult, n_eval) == 40 && offsetof(DirectionFitResult, status) == 44,
              "SCAN_RECORD_DTYPE mirrors ScanRecord");

using Field = std::pair<const char*, const char*>;  // name, numpy format

py::dtype struct_dtype(const std::vector<Field>& fields, const std::vector<std::size_t>& offsets,
                       std::size_t itemsize) {
    py::list names, formats, offs;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        names.append(fields[i].first);
        formats.append(fields[i].second);
        offs.append(offsets[i]);
    }
    return py::dtype(names, formats, offs, static_cast<py::ssize_t>(itemsize));
}

// level int32, nside int64, pixel int64 (NESTED), zenith, azimuth float64 (radians, IceCube
// local), seeds (4,) float64 (the seed vertex x, y, z m; t ns).
py::dtype task_dtype() {
    return struct_dtype({{"level", "<i4"}, {"nside", "<i8"}, {"pixel", "<i8"}, {"zenith", "<f8"},
                         {"azimuth", "<f8"}, {"seeds", "(4,)<f8"}},
                        {offsetof(ScanTask, level), offsetof(ScanTask, nside), offsetof(ScanTask, pixel),
                         offsetof(ScanTask, zenith), offsetof(ScanTask, azimuth), offsetof(ScanTask, seed)},
                        sizeof(ScanTask));
}

// The task fields without seeds, then the fit: neg_llh float64, vertex (4,) float64,
// n_eval int32, status int32.
py::dtype record_dtype() {
    const std::size_t fit = offsetof(ScanRecord, fit);
    return struct_dtype({{"level", "<i4"}, {"nside", "<i8"}, {"pixel", "<i8"}, {"zenith", "<f8"},
                         {"azimuth", "<f8"}, {"neg_llh", "<f8"}, {"vertex", "(4,)<f8"}, {"n_eval", "<i4"},
                         {"status", "<i4"}},
                        {offsetof(ScanRecord, level), offsetof(ScanRecord, nside), offsetof(ScanRecord, pixel),
                         offsetof(ScanRecord, zenith), offsetof(ScanRecord, azimuth),
                         fit + offsetof(DirectionFitResult, neg_llh), fit + offsetof(DirectionFitResult, x),
                         fit + offsetof(DirectionFitResult, n_eval), fit + offsetof(DirectionFitResult, status)},
                        sizeof(ScanRecord));
}

template <class T>
py::array to_numpy(const std::vector<T>& v, const py::dtype& dt) {
    py::array out(dt, std::vector<py::ssize_t>{static_cast<py::ssize_t>(v.size())});
    if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
    return out;
}

ScanSettings make_settings(const std::vector<std::int64_t>& nsides, const std::vector<double>& extensions,
                           const carray<double>& rotation, const carray<double>& initial_seed,
                           double llh_diff_threshold, double max_refine_radius, int max_rounds_per_level,
                           double polish_threshold, int max_polish_rounds, double polish_window) {
    require_ndim(rotation, 2, "rotation");
    if (rotation.shape(0) != 3 || rotation.shape(1) != 3) fail("rotation", "expected a 3x3 matrix");
    require_ndim(initial_seed, 1, "initial_seed");
    if (initial_seed.shape(0) != 4) fail("initial_seed", "expected (x, y, z, t)");
    ScanSettings s;
    s.nsides = nsides;
    s.extensions = extensions;
    for (int i = 0; i < 9; ++i) s.rotation[i] = rotation.data()[i];
    const double* q = initial_seed.data();
    s.initial_seed = {q[0], q[1], q[2], q[3]};
    s.llh_diff_threshold = llh_diff_threshold;
    s.max_refine_radius = max_refine_radius;
    s.max_rounds_per_level = max_rounds_per_level;
    s.polish_threshold = polish_threshold;
    s.max_polish_rounds = max_polish_rounds;
    s.polish_window = polish_window;
    return s;
}

void submit_py(ScanDriver& d, const carray<double>& neg_llh, const carray<double>& vertex,
               const carray<int>& n_eval, const carray<int>& status) {
    require_ndim(neg_llh, 1, "neg_llh");
    require_ndim(vertex, 2, "vertex");
    require_ndim(n_eval, 1, "n_eval");
    require_ndim(status, 1, "status");
    const auto n = static_cast<std::size_t>(neg_llh.shape(0));
    if (static_cast<std::size_t>(vertex.shape(0)) != n || vertex.shape(1) != 4)
        fail("vertex", "expected shape (" + std::to_string(n) + ", 4), as neg_llh");
    if (static_cast<std::size_t>(n_eval.shape(0)) != n) fail("n_eval", "length differs from neg_llh");
    if (static_cast<std::size_t>(status.shape(0)) != n) fail("status", "length differs from neg_llh");
    std::vector<DirectionFitResult> res(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double* v = vertex.data() + 4 * i;
        res[i] = {neg_llh.data()[i], v[0], v[1], v[2], v[3], n_eval.data()[i], status.data()[i]};
    }
    d.submit(res.data(), n);  // checks that a batch is pending and that n matches it
}

}  // namespace

void bind_scan(py::module_& m) {
    m.attr("SCAN_TASK_DTYPE") = task_dtype();
    m.attr("SCAN_RECORD_DTYPE") = record_dtype();

    py::class_<ScanDriver>(m, "ScanDriver", R"doc(Sky-scan refinement state machine (scan.hpp).

Pixels are NESTED on the equatorial sky; each task carries the IceCube-local (zenith, azimuth)
in radians obtained with v_local = rotation @ v_equatorial, and the seed vertex (x, y, z, t).
Not thread-safe: drive one instance from one Python thread.
)doc")
        .def(py::init([](const std::vector<std::int64_t>& nsides, const std::vector<double>& extensions,
                         const carray<double>& rotation, const carray<double>& initial_seed,
                         double llh_diff_threshold, double max_refine_radius, int max_rounds_per_level,
                         double polish_threshold, int max_polish_rounds, double polish_window) {
                 return ScanDriver(make_settings(nsides, extensions, rotation, initial_seed, llh_diff_threshold,
                                                 max_refine_radius, max_rounds_per_level, polish_threshold,
                                                 max_polish_rounds, polish_window));
             }),
             py::arg("nsides"), py::arg("extensions"), py::arg("rotation"), py::arg("initial_seed"),
             py::arg("llh_diff_threshold") = 0.0, py::arg("max_refine_radius") = 0.0,
             py::arg("max_rounds_per_level") = 64, py::arg("polish_threshold") = 0.0,
             py::arg("max_polish_rounds") = 3, py::arg("polish_window") = 1e300,
             "nsides: increasing powers of two; extensions: one disc area (in parent pixel areas) "
             "per refinement level; rotation: 3x3 equatorial->local; initial_seed: (4,) vertex for "
             "the first level; llh_diff_threshold > 0 with max_refine_radius (radians) > 0 also "
             "refines neighbours whose -lnL differ by more than the threshold; polish_threshold > 0 "
             "re-fits pixels that stick out of their neighbours' surface by more than it, seeded "
             "from the lowest neighbour's vertex, up to max_polish_rounds rounds after each round, "
             "only from neighbours within polish_window of the level's best -lnL (scan.hpp).")
        .def("next_batch", [](ScanDriver& d) { return to_numpy(d.next_batch(), task_dtype()); },
             "Next tasks as an (n,) structured array of SCAN_TASK_DTYPE: level, nside, pixel "
             "(NESTED), zenith, azimuth (radians, local), seeds (4,). Empty when the scan is finished.")
        .def("submit", &submit_py, py::arg("neg_llh"), py::arg("vertex"), py::arg("n_eval"),
             py::arg("status"),
             "Results of the pending batch, in its order: neg_llh (n,), vertex (n, 4), n_eval (n,), "
             "status (n,) (the fields of FIT_RESULT_DTYPE).")
        .def("step", [](ScanDriver& d, const DirectionFitter& fitter, int threads) {
                 py::gil_scoped_release release;  // pure C++: next_batch, fit_batch, submit
                 return d.run_step(fitter, threads);
             },
             py::arg("fitter"), py::arg("threads") = 0,
             "One round with an in-process fitter (threads <= 0: all cores); returns the number of "
             "pixels fitted (0 = done).")
        .def("records", [](const ScanDriver& d) { return to_numpy(d.records(), record_dtype()); },
             "All evaluated pixels in evaluation order, an (n,) structured array of "
             "SCAN_RECORD_DTYPE: level, nside, pixel, zenith, azimuth, neg_llh, vertex (4,), n_eval, "
             "status.")
        .def_property_readonly("finished", &ScanDriver::finished)
        .def_property_readonly("has_pending", &ScanDriver::has_pending)
        .def_property_readonly("level", &ScanDriver::current_level)
        .def_property_readonly("rounds", &ScanDriver::rounds)
        .def_property_readonly("pending_is_polish", &ScanDriver::pending_is_polish,
                               "True if the pending batch re-fits evaluated pixels (polishing).")
        .def_property_readonly("polish_rounds", &ScanDriver::polish_rounds, "Polishing rounds per level.")
        .def_property_readonly("polish_fits", &ScanDriver::polish_fits, "Polishing re-fits per level.")
        .def_property_readonly("polish_improved", &ScanDriver::polish_improved,
                               "Re-fits per level that found a lower minimum (and replaced the fit).")
        .def_property_readonly("polish_evaluations", &ScanDriver::polish_evaluations,
                               "Likelihood evaluations of the re-fits per level (included in records' n_eval).")
        .def_property_readonly("best_index", &ScanDriver::best_index);
}

}  // namespace icecore::python
