// Bindings for the sky scan: the refinement state machine
// (ScanDriver) and the synthetic AnalyticDirectionFitter (_core.scan). Validate, then release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "icecore/analytic_fitter.hpp"
#include "icecore/healpix.hpp"
#include "icecore/parallel.hpp"
#include "icecore/scan.hpp"
#include "validate.hpp"


namespace icecore::python {

namespace {

// ---- ScanDriver -----------------------------------------------------------------------------

ScanSettings make_settings(const std::vector<std::int64_t>& nsides, const std::vector<double>& extensions,
                           const carray<double>& rotation, const carray<double>& initial_seed,
                           double llh_diff_threshold, double max_refine_radius,
                           int max_rounds_per_level) {
    if (nsides.empty()) fail("nsides", "must not be empty");
    for (std::size_t k = 0; k < nsides.size(); ++k) {
        check_nside_py(nsides[k], "nsides");
        if (k > 0 && nsides[k] <= nsides[k - 1]) fail("nsides", "must be strictly increasing");
    }
    if (extensions.size() != nsides.size() - 1)
        fail("extensions", "needs one value per refinement level (" +
                               std::to_string(nsides.size() - 1) + "), got " +
                               std::to_string(extensions.size()));
    for (double e : extensions)
        if (!(e > 0.0) || !std::isfinite(e)) fail("extensions", "values must be finite and > 0");
    require_ndim(rotation, 2, "rotation");
    if (rotation.shape(0) != 3 || rotation.shape(1) != 3) fail("rotation", "expected a 3x3 matrix");
    require_finite(rotation, "rotation");
    require_ndim(initial_seed, 1, "initial_seed");
    if (initial_seed.shape(0) != 4) fail("initial_seed", "expected (x, y, z, t)");
    require_finite(initial_seed, "initial_seed");
    if (!std::isfinite(llh_diff_threshold)) fail("llh_diff_threshold", "must be finite");
    if (!std::isfinite(max_refine_radius) || max_refine_radius < 0)
        fail("max_refine_radius", "must be finite and >= 0");
    if (max_rounds_per_level < 1) fail("max_rounds_per_level", "must be >= 1");
    ScanSettings s;
    s.nsides = nsides;
    s.extensions = extensions;
    for (int i = 0; i < 9; ++i) s.rotation[i] = rotation.data()[i];
    const double* q = initial_seed.data();
    s.initial_seed = {q[0], q[1], q[2], q[3]};
    s.llh_diff_threshold = llh_diff_threshold;
    s.max_refine_radius = max_refine_radius;
    s.max_rounds_per_level = max_rounds_per_level;
    return s;
}

py::dict tasks_to_dict(const std::vector<ScanTask>& tasks) {
    const auto n = static_cast<py::ssize_t>(tasks.size());
    py::array_t<int> level(n);
    py::array_t<std::int64_t> nside(n), pixel(n);
    py::array_t<double> zen(n), az(n), seeds({n, py::ssize_t{4}});
    for (py::ssize_t i = 0; i < n; ++i) {
        const auto& t = tasks[static_cast<std::size_t>(i)];
        level.mutable_data()[i] = t.level;
        nside.mutable_data()[i] = t.nside;
        pixel.mutable_data()[i] = t.pixel;
        zen.mutable_data()[i] = t.zenith;
        az.mutable_data()[i] = t.azimuth;
        double* s = seeds.mutable_data() + 4 * i;
        s[0] = t.seed.x;
        s[1] = t.seed.y;
        s[2] = t.seed.z;
        s[3] = t.seed.t;
    }
    py::dict d;
    d["level"] = level;
    d["nside"] = nside;
    d["pixel"] = pixel;
    d["zenith"] = zen;
    d["azimuth"] = az;
    d["seeds"] = seeds;
    return d;
}

py::dict records_to_dict(const std::vector<ScanRecord>& recs) {
    const auto n = static_cast<py::ssize_t>(recs.size());
    py::array_t<int> level(n), n_eval(n), status(n);
    py::array_t<std::int64_t> nside(n), pixel(n);
    py::array_t<double> zen(n), az(n), llh(n), vertex({n, py::ssize_t{4}});
    for (py::ssize_t i = 0; i < n; ++i) {
        const auto& r = recs[static_cast<std::size_t>(i)];
        level.mutable_data()[i] = r.level;
        nside.mutable_data()[i] = r.nside;
        pixel.mutable_data()[i] = r.pixel;
        zen.mutable_data()[i] = r.zenith;
        az.mutable_data()[i] = r.azimuth;
        llh.mutable_data()[i] = r.fit.neg_llh;
        double* v = vertex.mutable_data() + 4 * i;
        v[0] = r.fit.x;
        v[1] = r.fit.y;
        v[2] = r.fit.z;
        v[3] = r.fit.t;
        n_eval.mutable_data()[i] = r.fit.n_eval;
        status.mutable_data()[i] = r.fit.status;
    }
    py::dict d;
    d["level"] = level;
    d["nside"] = nside;
    d["pixel"] = pixel;
    d["zenith"] = zen;
    d["azimuth"] = az;
    d["neg_llh"] = llh;
    d["vertex"] = vertex;
    d["n_eval"] = n_eval;
    d["status"] = status;
    return d;
}

void submit_py(ScanDriver& d, const carray<double>& neg_llh, const carray<double>& vertex,
               const carray<int>& n_eval, const carray<int>& status) {
    if (!d.has_pending()) throw py::value_error("no batch is pending: call next_batch() first");
    const auto n = d.pending().size();
    require_ndim(neg_llh, 1, "neg_llh");
    require_ndim(vertex, 2, "vertex");
    require_ndim(n_eval, 1, "n_eval");
    require_ndim(status, 1, "status");
    if (static_cast<std::size_t>(neg_llh.shape(0)) != n)
        fail("neg_llh", "expected " + std::to_string(n) + " results (the pending batch), got " +
                            std::to_string(neg_llh.shape(0)));
    if (static_cast<std::size_t>(vertex.shape(0)) != n || vertex.shape(1) != 4)
        fail("vertex", "expected shape (" + std::to_string(n) + ", 4)");
    if (static_cast<std::size_t>(n_eval.shape(0)) != n) fail("n_eval", "length mismatch");
    if (static_cast<std::size_t>(status.shape(0)) != n) fail("status", "length mismatch");
    std::vector<DirectionFitResult> res(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double* v = vertex.data() + 4 * i;
        res[i] = {neg_llh.data()[i], v[0], v[1], v[2], v[3], n_eval.data()[i], status.data()[i]};
    }
    d.submit(res.data(), n);
}

}  // namespace

void bind_scan(py::module_& m) {
    py::class_<ScanDriver>(m, "ScanDriver", R"doc(Sky-scan refinement state machine (scan.hpp).

Pixels are NESTED on the equatorial sky; each task carries the IceCube-local (zenith, azimuth)
in radians obtained with v_local = rotation @ v_equatorial, and the seed vertex (x, y, z, t).
Not thread-safe: drive one instance from one Python thread.
)doc")
        .def(py::init([](const std::vector<std::int64_t>& nsides, const std::vector<double>& extensions,
                         const carray<double>& rotation, const carray<double>& initial_seed,
                         double llh_diff_threshold, double max_refine_radius, int max_rounds_per_level) {
                 return ScanDriver(make_settings(nsides, extensions, rotation, initial_seed,
                                                 llh_diff_threshold, max_refine_radius,
                                                 max_rounds_per_level));
             }),
             py::arg("nsides"), py::arg("extensions"), py::arg("rotation"), py::arg("initial_seed"),
             py::arg("llh_diff_threshold") = 0.0, py::arg("max_refine_radius") = 0.0,
             py::arg("max_rounds_per_level") = 64,
             "nsides: increasing powers of two; extensions: one disc area (in parent pixel areas) "
             "per refinement level; rotation: 3x3 equatorial->local; initial_seed: (4,) vertex for "
             "the first level; llh_diff_threshold > 0 with max_refine_radius (radians) > 0 also "
             "refines neighbours whose -lnL differ by more than the threshold.")
        .def("next_batch", [](ScanDriver& d) {
                 if (d.has_pending()) throw py::value_error("the pending batch must be submitted first");
                 return tasks_to_dict(d.next_batch());
             },
             "Next tasks as a dict of arrays: level, nside, pixel (NESTED), zenith, azimuth "
             "(radians, local), seeds (n, 4). Empty arrays when the scan is finished.")
        .def("submit", &submit_py, py::arg("neg_llh"), py::arg("vertex"), py::arg("n_eval"),
             py::arg("status"), "Results of the pending batch, in its order.")
        .def("step", [](ScanDriver& d, const DirectionFitter& fitter, int threads) {
                 check_threads(threads);
                 if (d.has_pending()) throw py::value_error("a batch is pending: submit it first");
                 py::gil_scoped_release release;  // pure C++: next_batch, fit_batch, submit
                 return d.run_step(fitter, threads);
             },
             py::arg("fitter"), py::arg("threads") = 0,
             "One round with an in-process fitter; returns the number of pixels fitted (0 = done).")
        .def("run", [](ScanDriver& d, const DirectionFitter& fitter, int threads) {
                 check_threads(threads);
                 if (d.has_pending()) throw py::value_error("a batch is pending: submit it first");
                 py::gil_scoped_release release;
                 d.run(fitter, threads);
             },
             py::arg("fitter"), py::arg("threads") = 0, "Run all remaining rounds in C++.")
        .def("records", [](const ScanDriver& d) { return records_to_dict(d.records()); },
             "All evaluated pixels in evaluation order: level, nside, pixel, zenith, azimuth, "
             "neg_llh, vertex (n, 4), n_eval, status.")
        .def("local_direction", [](const ScanDriver& d, std::int64_t nside, std::int64_t pix) {
                 check_nside_py(nside);
                 if (pix < 0 || pix >= healpix::npix(nside)) fail("pix", "out of range for nside");
                 double z, a;
                 d.local_direction(nside, pix, z, a);
                 return py::make_tuple(z, a);
             }, py::arg("nside"), py::arg("pix"), "(zenith, azimuth) radians of a NESTED pixel centre.")
        .def_property_readonly("finished", &ScanDriver::finished)
        .def_property_readonly("has_pending", &ScanDriver::has_pending)
        .def_property_readonly("level", &ScanDriver::current_level)
        .def_property_readonly("rounds", &ScanDriver::rounds)
        .def_property_readonly("best_index", &ScanDriver::best_index);

    py::class_<AnalyticDirectionFitter, DirectionFitter>(m, "AnalyticDirectionFitter", R"doc(SYNTHETIC fitter for tests and benchmarks (not physics).

-lnL = kappa (1 - cos psi) + vertex_weight |v - v_true|^2, psi the angle to the true direction
(zenith, azimuth radians, IceCube local); the fitted vertex v moves vertex_pull of the way from
the seed to v_true; `work` dummy evaluations per fit emulate a likelihood's cost.
2 Delta(-lnL) <= c is a cap of solid angle pi c / kappa sr when vertex_weight = 0.
)doc")
        .def(py::init([](double zenith, double azimuth, double kappa, const carray<double>& vertex,
                         double vertex_pull, double vertex_weight, int work) {
                 if (!std::isfinite(zenith) || zenith < 0 || zenith > 3.14159265358979323846)
                     fail("zenith", "must be within [0, pi] radians");
                 if (!std::isfinite(azimuth)) fail("azimuth", "must be finite");
                 if (!(kappa > 0) || !std::isfinite(kappa)) fail("kappa", "must be finite and > 0");
                 require_ndim(vertex, 1, "vertex");
                 if (vertex.shape(0) != 4) fail("vertex", "expected (x, y, z, t)");
                 require_finite(vertex, "vertex");
                 if (!(vertex_pull >= 0 && vertex_pull <= 1)) fail("vertex_pull", "must be within [0, 1]");
                 if (!(vertex_weight >= 0) || !std::isfinite(vertex_weight))
                     fail("vertex_weight", "must be finite and >= 0");
                 if (work < 0) fail("work", "must be >= 0");
                 AnalyticFitterParams p;
                 p.zenith = zenith;
                 p.azimuth = azimuth;
                 p.kappa = kappa;
                 const double* v = vertex.data();
                 p.vertex = {v[0], v[1], v[2], v[3]};
                 p.vertex_pull = vertex_pull;
                 p.vertex_weight = vertex_weight;
                 p.work = work;
                 return AnalyticDirectionFitter(p);
             }),
             py::arg("zenith"), py::arg("azimuth"), py::arg("kappa") = 1000.0,
             py::arg("vertex") = std::vector<double>{0.0, 0.0, 0.0, 0.0}, py::arg("vertex_pull") = 0.5,
             py::arg("vertex_weight") = 0.0, py::arg("work") = 0)
        .def_property_readonly("params", [](const AnalyticDirectionFitter& f) {
            const auto& p = f.params();
            py::dict d;
            d["zenith"] = p.zenith;
            d["azimuth"] = p.azimuth;
            d["kappa"] = p.kappa;
            d["vertex"] = std::vector<double>{p.vertex.x, p.vertex.y, p.vertex.z, p.vertex.t};
            d["vertex_pull"] = p.vertex_pull;
            d["vertex_weight"] = p.vertex_weight;
            d["work"] = p.work;
            return d;
        }, "The constructor arguments as a dict (JSON-serialisable).");
}

}  // namespace icecore::python
