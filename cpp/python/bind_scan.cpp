// Bindings for the sky scan: HEALPix NESTED primitives, the refinement state machine
// (ScanDriver) and the synthetic AnalyticDirectionFitter. Validate, then release the GIL.
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

void check_nside_py(std::int64_t nside, const char* name = "nside") {
    if (nside < 1 || nside > (std::int64_t{1} << 29) || (nside & (nside - 1)) != 0)
        fail(name, "must be a power of two in [1, 2^29], got " + std::to_string(nside));
}

void check_pixels(const carray<std::int64_t>& pix, std::int64_t nside, const char* name) {
    const std::int64_t np = healpix::npix(nside);
    const std::int64_t* p = pix.data();
    for (py::ssize_t i = 0; i < pix.size(); ++i)
        if (p[i] < 0 || p[i] >= np)
            fail(name, "pixel " + std::to_string(p[i]) + " at flat index " + std::to_string(i) +
                           " is outside [0, " + std::to_string(np) + ")");
}

py::tuple pix2ang_py(std::int64_t nside, const carray<std::int64_t>& pix, int threads) {
    check_nside_py(nside);
    require_ndim(pix, 1, "pix");
    check_pixels(pix, nside, "pix");
    check_threads(threads);
    const auto n = static_cast<std::size_t>(pix.shape(0));
    py::array_t<double> theta(static_cast<py::ssize_t>(n)), phi(static_cast<py::ssize_t>(n));
    const std::int64_t* p = pix.data();
    double* th = theta.mutable_data();
    double* ph = phi.mutable_data();
    {
        py::gil_scoped_release release;
        parallel_for(n, threads, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) healpix::pix2ang_nest(nside, p[i], th[i], ph[i]);
        });
    }
    return py::make_tuple(theta, phi);
}

py::array_t<double> pix2vec_py(std::int64_t nside, const carray<std::int64_t>& pix, int threads) {
    check_nside_py(nside);
    require_ndim(pix, 1, "pix");
    check_pixels(pix, nside, "pix");
    check_threads(threads);
    const auto n = static_cast<std::size_t>(pix.shape(0));
    py::array_t<double> out({static_cast<py::ssize_t>(n), py::ssize_t{3}});
    const std::int64_t* p = pix.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        parallel_for(n, threads, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) healpix::pix2vec_nest(nside, p[i], o + 3 * i);
        });
    }
    return out;
}

py::array_t<std::int64_t> ang2pix_py(std::int64_t nside, const carray<double>& theta,
                                     const carray<double>& phi, int threads) {
    check_nside_py(nside);
    require_ndim(theta, 1, "theta");
    require_ndim(phi, 1, "phi");
    if (theta.shape(0) != phi.shape(0)) fail("phi", "length differs from theta");
    require_finite(theta, "theta");
    require_finite(phi, "phi");
    const double* th = theta.data();
    for (py::ssize_t i = 0; i < theta.size(); ++i)
        if (th[i] < 0.0 || th[i] > 3.14159265358979323846)
            fail("theta", "must be within [0, pi] radians (flat index " + std::to_string(i) + ")");
    check_threads(threads);
    const auto n = static_cast<std::size_t>(theta.shape(0));
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(n));
    std::int64_t* o = out.mutable_data();
    const double* ph = phi.data();
    {
        py::gil_scoped_release release;
        parallel_for(n, threads, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) o[i] = healpix::ang2pix_nest(nside, th[i], ph[i]);
        });
    }
    return out;
}

py::array_t<std::int64_t> vec2pix_py(std::int64_t nside, const carray<double>& vec, int threads) {
    check_nside_py(nside);
    require_ndim(vec, 2, "vec");
    if (vec.shape(1) != 3) fail("vec", "expected shape (n, 3)");
    require_finite(vec, "vec");
    const auto n = static_cast<std::size_t>(vec.shape(0));
    const double* v = vec.data();
    for (std::size_t i = 0; i < n; ++i)
        if (v[3 * i] == 0.0 && v[3 * i + 1] == 0.0 && v[3 * i + 2] == 0.0)
            fail("vec", "zero vector at row " + std::to_string(i));
    check_threads(threads);
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(n));
    std::int64_t* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        parallel_for(n, threads, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) o[i] = healpix::vec2pix_nest(nside, v + 3 * i);
        });
    }
    return out;
}

py::array_t<std::int64_t> children_py(std::int64_t nside, std::int64_t pix, std::int64_t nside_child) {
    check_nside_py(nside);
    check_nside_py(nside_child, "nside_child");
    if (nside_child < nside) fail("nside_child", "must be >= nside");
    if (pix < 0 || pix >= healpix::npix(nside)) fail("pix", "out of range for nside");
    const auto c = healpix::children_nest(nside, pix, nside_child);
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(c.size()));
    std::copy(c.begin(), c.end(), out.mutable_data());
    return out;
}

py::array_t<std::int64_t> parent_py(std::int64_t nside, const carray<std::int64_t>& pix,
                                    std::int64_t nside_parent) {
    check_nside_py(nside);
    check_nside_py(nside_parent, "nside_parent");
    if (nside_parent > nside) fail("nside_parent", "must be <= nside");
    require_ndim(pix, 1, "pix");
    check_pixels(pix, nside, "pix");
    py::array_t<std::int64_t> out(pix.shape(0));
    for (py::ssize_t i = 0; i < pix.shape(0); ++i)
        out.mutable_data()[i] = healpix::parent_nest(nside, pix.data()[i], nside_parent);
    return out;
}

py::array_t<std::int64_t> query_disc_py(std::int64_t nside, const carray<double>& vec, double radius) {
    check_nside_py(nside);
    require_ndim(vec, 1, "vec");
    if (vec.shape(0) != 3) fail("vec", "expected 3 components");
    require_finite(vec, "vec");
    const double* v = vec.data();
    if (v[0] == 0.0 && v[1] == 0.0 && v[2] == 0.0) fail("vec", "is the zero vector");
    if (!std::isfinite(radius) || radius < 0.0) fail("radius", "must be finite and >= 0 radians");
    std::vector<std::int64_t> sel;
    {
        py::gil_scoped_release release;
        sel = healpix::query_disc_nest(nside, v, radius);
    }
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(sel.size()));
    std::copy(sel.begin(), sel.end(), out.mutable_data());
    return out;
}

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
    m.def("healpix_pix2ang_nest", &pix2ang_py, py::arg("nside"), py::arg("pix"), py::arg("threads") = 0,
          "(theta, phi) in radians of NESTED pixel centres (phi in [0, 2 pi)).");
    m.def("healpix_pix2vec_nest", &pix2vec_py, py::arg("nside"), py::arg("pix"), py::arg("threads") = 0,
          "(n, 3) unit vectors of NESTED pixel centres.");
    m.def("healpix_ang2pix_nest", &ang2pix_py, py::arg("nside"), py::arg("theta"), py::arg("phi"),
          py::arg("threads") = 0, "NESTED pixels containing (theta, phi) in radians.");
    m.def("healpix_vec2pix_nest", &vec2pix_py, py::arg("nside"), py::arg("vec"), py::arg("threads") = 0,
          "NESTED pixels containing the (n, 3) vectors (need not be normalised).");
    m.def("healpix_children_nest", &children_py, py::arg("nside"), py::arg("pix"), py::arg("nside_child"),
          "All NESTED pixels at nside_child inside pixel pix at nside (ascending).");
    m.def("healpix_parent_nest", &parent_py, py::arg("nside"), py::arg("pix"), py::arg("nside_parent"),
          "NESTED pixels at nside_parent containing the given pixels at nside.");
    m.def("healpix_query_disc_nest", &query_disc_py, py::arg("nside"), py::arg("vec"), py::arg("radius"),
          "NESTED pixels whose centres lie within radius (radians) of vec, ascending "
          "(healpy.query_disc(..., nest=True, inclusive=False)).");
    m.def("healpix_max_pixrad", [](std::int64_t nside) {
        check_nside_py(nside);
        return healpix::max_pixrad(nside);
    }, py::arg("nside"), "Upper bound (radians) of the centre-to-corner distance of a pixel.");

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
