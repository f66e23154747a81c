// The DirectionFitter interface shared by the scan and the likelihood (_core.scan). Registered
// before both, so that derived classes in bind_scan.cpp and bind_likelihood.cpp can name it as base.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "icecore/direction_fit.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

py::dict fit_batch_py(const DirectionFitter& fitter, const carray<double>& zenith,
                      const carray<double>& azimuth, const carray<double>& seeds, int threads) {
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
    std::vector<VertexSeed> sv(n);
    const double* s = seeds.data();
    for (std::size_t i = 0; i < n; ++i) sv[i] = {s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]};
    std::vector<DirectionFitResult> res(n);
    {
        py::gil_scoped_release release;  // the fitter is pure C++ and const
        fitter.fit_batch(zenith.data(), azimuth.data(), sv.data(), n, res.data(), threads);
    }
    py::array_t<double> neg_llh(static_cast<py::ssize_t>(n));
    py::array_t<double> vertex({static_cast<py::ssize_t>(n), py::ssize_t{4}});
    py::array_t<int> n_eval(static_cast<py::ssize_t>(n));
    py::array_t<int> status(static_cast<py::ssize_t>(n));
    auto L = neg_llh.mutable_unchecked<1>();
    auto V = vertex.mutable_unchecked<2>();
    auto E = n_eval.mutable_unchecked<1>();
    auto S = status.mutable_unchecked<1>();
    for (std::size_t i = 0; i < n; ++i) {
        const auto k = static_cast<py::ssize_t>(i);
        L(k) = res[i].neg_llh;
        V(k, 0) = res[i].x;
        V(k, 1) = res[i].y;
        V(k, 2) = res[i].z;
        V(k, 3) = res[i].t;
        E(k) = res[i].n_eval;
        S(k) = res[i].status;
    }
    py::dict out;
    out["neg_llh"] = neg_llh;
    out["vertex"] = vertex;
    out["n_eval"] = n_eval;
    out["status"] = status;
    return out;
}

}  // namespace

void bind_direction_fitter(py::module_& m) {
    py::class_<DirectionFitter>(m, "DirectionFitter",
                                "Abstract per-direction vertex fitter (see direction_fit.hpp).")
        .def("fit_batch", &fit_batch_py, py::arg("zenith"), py::arg("azimuth"), py::arg("seeds"),
             py::arg("threads") = 0,
             R"doc(Fit the vertex for fixed directions.

Parameters
----------
zenith, azimuth : (n,) float64, radians, IceCube convention (where the particle comes from)
seeds : (n, 4) float64, starting vertex (x, y, z in m, t in ns) per direction
threads : worker threads, 0 = all cores (results do not depend on it)

Returns
-------
dict with 'neg_llh' (n,), 'vertex' (n, 4), 'n_eval' (n,) int, 'status' (n,) int (0 = ok)
)doc");
}

}  // namespace icecore::python
