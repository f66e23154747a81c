// Bindings for the HEALPix NESTED primitives (_core.healpix). The binding only converts arrays
// (ndim, lengths) and releases the GIL; the kernel checks nside, pixel numbers, angles and
// vectors (std::invalid_argument -> ValueError, re-thrown from the worker threads; threads <= 0
// means all cores, clamped to 1024 in parallel_for), and icecore.scan.healpix checks them first with argument names.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "icecore/healpix.hpp"
#include "icecore/parallel.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

py::tuple pix2ang_py(std::int64_t nside, const carray<std::int64_t>& pix, int threads) {
    require_ndim(pix, 1, "pix");
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
    require_ndim(pix, 1, "pix");
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
    require_ndim(theta, 1, "theta");
    require_ndim(phi, 1, "phi");
    if (theta.shape(0) != phi.shape(0)) fail("phi", "length differs from theta");
    const double* th = theta.data();
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
    require_ndim(vec, 2, "vec");
    if (vec.shape(1) != 3) fail("vec", "expected shape (n, 3)");
    const auto n = static_cast<std::size_t>(vec.shape(0));
    const double* v = vec.data();
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

py::array_t<std::int64_t> children_py(std::int64_t nside, std::int64_t pix, std::int64_t nside_child,
                                      std::size_t max_pixels) {
    const auto c = healpix::children_nest(nside, pix, nside_child, max_pixels);
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(c.size()));
    std::copy(c.begin(), c.end(), out.mutable_data());
    return out;
}

py::array_t<std::int64_t> parent_py(std::int64_t nside, const carray<std::int64_t>& pix,
                                    std::int64_t nside_parent) {
    require_ndim(pix, 1, "pix");
    py::array_t<std::int64_t> out(pix.shape(0));
    for (py::ssize_t i = 0; i < pix.shape(0); ++i)
        out.mutable_data()[i] = healpix::parent_nest(nside, pix.data()[i], nside_parent);
    return out;
}

py::array_t<std::int64_t> query_disc_py(std::int64_t nside, const carray<double>& vec, double radius,
                                        std::size_t max_pixels) {
    require_ndim(vec, 1, "vec");
    if (vec.shape(0) != 3) fail("vec", "expected 3 components");
    const double* v = vec.data();
    std::vector<std::int64_t> sel;
    {
        py::gil_scoped_release release;
        sel = healpix::query_disc_nest(nside, v, radius, max_pixels);
    }
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(sel.size()));
    std::copy(sel.begin(), sel.end(), out.mutable_data());
    return out;
}

}  // namespace

void bind_healpix(py::module_& m) {
    m.def("pix2ang_nest", &pix2ang_py, py::arg("nside"), py::arg("pix"), py::arg("threads") = 0,
          "(theta, phi) in radians of NESTED pixel centres (phi in [0, 2 pi)).");
    m.def("pix2vec_nest", &pix2vec_py, py::arg("nside"), py::arg("pix"), py::arg("threads") = 0,
          "(n, 3) unit vectors of NESTED pixel centres.");
    m.def("ang2pix_nest", &ang2pix_py, py::arg("nside"), py::arg("theta"), py::arg("phi"),
          py::arg("threads") = 0, "NESTED pixels containing (theta, phi) in radians.");
    m.def("vec2pix_nest", &vec2pix_py, py::arg("nside"), py::arg("vec"), py::arg("threads") = 0,
          "NESTED pixels containing the (n, 3) vectors (need not be normalised).");
    m.attr("MAX_SELECTED_PIXELS") = py::int_(healpix::kMaxSelectedPixels);
    m.def("children_nest", &children_py, py::arg("nside"), py::arg("pix"), py::arg("nside_child"),
          py::arg("max_pixels") = healpix::kMaxSelectedPixels,
          "All NESTED pixels at nside_child inside pixel pix at nside (ascending); ValueError if "
          "there are more than max_pixels.");
    m.def("parent_nest", &parent_py, py::arg("nside"), py::arg("pix"), py::arg("nside_parent"),
          "NESTED pixels at nside_parent containing the given pixels at nside.");
    m.def("query_disc_nest", &query_disc_py, py::arg("nside"), py::arg("vec"), py::arg("radius"),
          py::arg("max_pixels") = healpix::kMaxSelectedPixels,
          "NESTED pixels whose centres lie within radius (radians) of vec, ascending "
          "(healpy.query_disc(..., nest=True, inclusive=False)); ValueError before any work if "
          "the disc may hold more than max_pixels pixels (query_disc_bound).");
    m.def("query_disc_bound", &healpix::query_disc_bound, py::arg("nside"), py::arg("radius"),
          "Upper bound of the number of pixels query_disc_nest(nside, ., radius) can return.");
    m.def("max_pixrad", &healpix::max_pixrad, py::arg("nside"),
          "Upper bound (radians) of the centre-to-corner distance of a pixel.");
}

}  // namespace icecore::python
