// The DirectionFitter interface shared by the scan and the likelihood, and the synthetic
// AnalyticDirectionFitter (_core.scan). Registered before bind_scan.cpp and bind_likelihood.cpp,
// so that the fitters there can name DirectionFitter as their base.
//
// fit_batch returns a numpy structured array of FIT_RESULT_DTYPE whose layout is that of the
// C++ struct DirectionFitResult (checked below at compile time), so the results are copied
// into numpy in one block. The bindings convert; the invariants are checked by the kernels
// (std::invalid_argument, which pybind11 turns into ValueError).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "icecore/analytic_fitter.hpp"
#include "icecore/direction_fit.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

static_assert(sizeof(DirectionFitResult) == 48, "FIT_RESULT_DTYPE mirrors DirectionFitResult");
static_assert(offsetof(DirectionFitResult, neg_llh) == 0 && offsetof(DirectionFitResult, x) == 8 &&
                  offsetof(DirectionFitResult, y) == 16 && offsetof(DirectionFitResult, z) == 24 &&
                  offsetof(DirectionFitResult, t) == 32 && offsetof(DirectionFitResult, n_eval) == 40 &&
                  offsetof(DirectionFitResult, status) == 44,
              "FIT_RESULT_DTYPE mirrors DirectionFitResult");

// neg_llh float64, vertex (4,) float64 (x, y, z m; t ns), n_eval int32, status int32.
py::dtype fit_result_dtype() {
    py::list names, formats, offsets;
    const std::array<std::pair<const char*, const char*>, 4> fields{
        {{"neg_llh", "<f8"}, {"vertex", "(4,)<f8"}, {"n_eval", "<i4"}, {"status", "<i4"}}};
    const std::array<std::size_t, 4> offs{offsetof(DirectionFitResult, neg_llh),
                                          offsetof(DirectionFitResult, x),
                                          offsetof(DirectionFitResult, n_eval),
                                          offsetof(DirectionFitResult, status)};
    for (std::size_t i = 0; i < fields.size(); ++i) {
        names.append(fields[i].first);
        formats.append(fields[i].second);
        offsets.append(offs[i]);
    }
    return py::dtype(names, formats, offsets, static_cast<py::ssize_t>(sizeof(DirectionFitResult)));
}

py::array fit_batch_py(const DirectionFitter& fitter, const carray<double>& zenith,
                       const carray<double>& azimuth, const carray<double>& seeds, int threads,
                       std::int64_t nside) {
    require_ndim(zenith, 1, "zenith");
    require_ndim(azimuth, 1, "azimuth");
    require_ndim(seeds, 2, "seeds");
    const auto n = static_cast<std::size_t>(zenith.shape(0));
    if (static_cast<std::size_t>(azimuth.shape(0)) != n)
        fail("azimuth", "length " + std::to_string(azimuth.shape(0)) + " differs from zenith (" +
                            std::to_string(n) + ")");
    if (static_cast<std::size_t>(seeds.shape(0)) != n || seeds.shape(1) != 4)
        fail("seeds", "expected shape (" + std::to_string(n) + ", 4) of (x, y, z, t)");
    require_finite(zenith, "zenith");
    require_finite(azimuth, "azimuth");
    require_finite(seeds, "seeds");
    check_threads(threads);
    if (nside < 0 || (nside > 0 && (nside & (nside - 1)) != 0)) fail("nside", "must be 0 or a power of two");
    std::vector<VertexSeed> sv(n);
    const double* s = seeds.data();
    for (std::size_t i = 0; i < n; ++i) sv[i] = {s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]};
    std::vector<DirectionFitResult> res(n);
    {
        py::gil_scoped_release release;  // the fitter is pure C++ and const
        fitter.fit_batch(zenith.data(), azimuth.data(), sv.data(), n, res.data(), threads, nside);
    }
    py::array out(fit_result_dtype(), std::vector<py::ssize_t>{static_cast<py::ssize_t>(n)});
    if (n > 0) std::memcpy(out.mutable_data(), res.data(), n * sizeof(DirectionFitResult));
    return out;
}

AnalyticDirectionFitter make_analytic(double zenith, double azimuth, double kappa,
                                      const carray<double>& vertex, double vertex_pull,
                                      double vertex_weight, int work) {
    require_ndim(vertex, 1, "vertex");
    if (vertex.shape(0) != 4) fail("vertex", "expected (x, y, z, t)");
    AnalyticFitterParams p;
    p.zenith = zenith;
    p.azimuth = azimuth;
    p.kappa = kappa;
    const double* v = vertex.data();
    p.vertex = {v[0], v[1], v[2], v[3]};
    p.vertex_pull = vertex_pull;
    p.vertex_weight = vertex_weight;
    p.work = work;
    return AnalyticDirectionFitter(p);  // checks the parameters (std::invalid_argument)
}

}  // namespace

void bind_direction_fitter(py::module_& m) {
    m.attr("FIT_RESULT_DTYPE") = fit_result_dtype();

    py::class_<DirectionFitter>(m, "DirectionFitter",
                                "Abstract per-direction vertex fitter (see direction_fit.hpp).")
        .def("fit_batch", &fit_batch_py, py::arg("zenith"), py::arg("azimuth"), py::arg("seeds"),
             py::arg("threads") = 0, py::arg("nside") = 0,
             R"doc(Fit the vertex for fixed directions.

Parameters
----------
zenith, azimuth : (n,) float64, radians, IceCube convention (where the particle comes from)
seeds : (n, 4) float64, starting vertex (x, y, z in m, t in ns) per direction
threads : worker threads, 0 = all cores (results do not depend on it)
nside : HEALPix nside of the scan level of these directions (0 = not part of a scan); a fitter
    may choose its settings per level from it (the Pandel likelihood: level_seeds)

Returns
-------
(n,) structured array of FIT_RESULT_DTYPE: 'neg_llh' float64, 'vertex' (4,) float64,
'n_eval' int32 (likelihood evaluations), 'status' int32 (0 = converged)
)doc");

    py::class_<AnalyticDirectionFitter, DirectionFitter>(m, "AnalyticDirectionFitter", R"doc(SYNTHETIC fitter for tests and benchmarks (not physics).

-lnL = kappa (1 - cos psi) + vertex_weight |v - v_true|^2, psi the angle to the true direction
(zenith, azimuth radians, IceCube local); the fitted vertex v moves vertex_pull of the way from
the seed to v_true; `work` dummy evaluations per fit emulate a likelihood's cost.
2 Delta(-lnL) <= c is a cap of solid angle pi c / kappa sr when vertex_weight = 0.
)doc")
        .def(py::init(&make_analytic), py::arg("zenith"), py::arg("azimuth"), py::arg("kappa") = 1000.0,
             py::arg("vertex") = std::vector<double>{0.0, 0.0, 0.0, 0.0}, py::arg("vertex_pull") = 0.5,
             py::arg("vertex_weight") = 0.0, py::arg("work") = 0,
             "zenith in [0, pi] and azimuth (radians, IceCube local) of the true direction; kappa > 0 "
             "(1/rad^2); vertex (x, y, z m, t ns) the fake fit moves toward; vertex_pull in [0, 1]; "
             "vertex_weight >= 0; work >= 0 dummy evaluations per fit.")
        .def_property_readonly("zenith", [](const AnalyticDirectionFitter& f) { return f.params().zenith; },
                               "True zenith (radians, IceCube local).")
        .def_property_readonly("azimuth", [](const AnalyticDirectionFitter& f) { return f.params().azimuth; },
                               "True azimuth (radians, IceCube local).")
        .def_property_readonly("kappa", [](const AnalyticDirectionFitter& f) { return f.params().kappa; },
                               "Concentration (1/rad^2).")
        .def_property_readonly("vertex", [](const AnalyticDirectionFitter& f) {
                                   const VertexSeed& v = f.params().vertex;
                                   return std::array<double, 4>{v.x, v.y, v.z, v.t};
                               }, "True vertex (x, y, z m; t ns).")
        .def_property_readonly("vertex_pull", [](const AnalyticDirectionFitter& f) { return f.params().vertex_pull; },
                               "Fraction of the way from the seed to the true vertex.")
        .def_property_readonly("vertex_weight",
                               [](const AnalyticDirectionFitter& f) { return f.params().vertex_weight; },
                               "Weight of |v - v_true|^2 in -lnL (1/m^2).")
        .def_property_readonly("work", [](const AnalyticDirectionFitter& f) { return f.params().work; },
                               "Dummy evaluations per fit.");
}

}  // namespace icecore::python
