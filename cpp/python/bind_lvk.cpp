// Bindings for the LVK follow-up kernel (icecore/lvk_llh.hpp). Validate, then release the GIL.
// Results cross the binding as a numpy structured array (dtype LVK_RESULT_DTYPE below).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "icecore/lvk_llh.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

std::vector<double> vec1(const carray<double>& a, const char* name, std::size_t n) {
    require_ndim(a, 1, name);
    if (static_cast<std::size_t>(a.size()) != n)
        fail(name, "expected length " + std::to_string(n) + ", got " + std::to_string(a.size()));
    require_finite(a, name);
    return std::vector<double>(a.data(), a.data() + a.size());
}

// Holds validated copies of an event set; the view points into them.
struct EventsBuffer {
    std::vector<double> ra, dec, sigma, inv_bg, eratio;
    LvkEventsView view() const {
        return LvkEventsView{ra.data(), dec.data(), sigma.data(), inv_bg.data(), eratio.data(), dec.size()};
    }
};

EventsBuffer events_from(const carray<double>& ra, const carray<double>& dec, const carray<double>& sigma,
                         const carray<double>& inv_bg, const carray<double>& eratio, std::size_t n_gamma) {
    require_ndim(dec, 1, "dec");
    const auto n = static_cast<std::size_t>(dec.size());
    EventsBuffer b;
    b.ra = vec1(ra, "ra", n);
    b.dec = vec1(dec, "dec", n);
    b.sigma = vec1(sigma, "sigma", n);
    b.inv_bg = vec1(inv_bg, "inv_bg", n);
    require_ndim(eratio, 2, "eratio");
    if (static_cast<std::size_t>(eratio.shape(0)) != n || static_cast<std::size_t>(eratio.shape(1)) != n_gamma)
        fail("eratio", "expected shape (" + std::to_string(n) + ", " + std::to_string(n_gamma) + ")");
    require_finite(eratio, "eratio");
    b.eratio.assign(eratio.data(), eratio.data() + eratio.size());
    for (double s : b.sigma)
        if (!(s > 0.0)) fail("sigma", "must be > 0 (radians)");
    for (double v : b.inv_bg)
        if (!(v >= 0.0)) fail("inv_bg", "must be >= 0");
    for (double v : b.eratio)
        if (!(v >= 0.0)) fail("eratio", "must be >= 0");
    for (double d : b.dec)
        if (std::fabs(d) > 1.5707963267948966 + 1e-12) fail("dec", "must be within [-pi/2, pi/2] (radians)");
    return b;
}

}  // namespace

void bind_lvk(py::module_& m) {
    PYBIND11_NUMPY_DTYPE(LvkResult, ts, ns, gamma_index, pixel, odds_lambda, n_near);
    py::class_<LvkSearch>(m, "LvkSearch",
                          "Generic (unbinned likelihood with GW prior) and Bayesian (odds ratio) searches over the "
                          "pixels of a GW sky map. Angles in radians. See icecore/lvk_llh.hpp.")
        .def(py::init([](const carray<double>& ra, const carray<double>& dec, const carray<double>& log_prior,
                         const carray<double>& weight, const carray<double>& moments, std::size_t n_gamma,
                         std::size_t bayes_gamma_index, double n_sigma, double ns_max) {
                 require_ndim(dec, 1, "dec");
                 const auto n = static_cast<std::size_t>(dec.size());
                 if (n == 0) fail("dec", "is empty");
                 require_ndim(moments, 2, "moments");
                 if (static_cast<std::size_t>(moments.shape(0)) != n) fail("moments", "first axis must match dec");
                 require_finite(moments, "moments");
                 if (n_gamma == 0) fail("n_gamma", "must be >= 1");
                 if (bayes_gamma_index >= n_gamma) fail("bayes_gamma_index", "must be < n_gamma");
                 if (!(n_sigma > 0.0) || !std::isfinite(n_sigma)) fail("n_sigma", "must be finite and > 0");
                 if (!(ns_max > 0.0) || !std::isfinite(ns_max)) fail("ns_max", "must be finite and > 0");
                 LvkSettings s;
                 s.n_gamma = n_gamma;
                 s.bayes_gamma_index = bayes_gamma_index;
                 s.n_sigma = n_sigma;
                 s.ns_max = ns_max;
                 const auto nm = static_cast<std::size_t>(moments.shape(1));
                 if (nm == 0) fail("moments", "needs at least one column (M_0)");
                 return std::make_unique<LvkSearch>(vec1(ra, "ra", n), vec1(dec, "dec", n),
                                                    vec1(log_prior, "log_prior", n), vec1(weight, "weight", n),
                                                    std::vector<double>(moments.data(), moments.data() + moments.size()),
                                                    nm, s);
             }),
             py::arg("ra"), py::arg("dec"), py::arg("log_prior"), py::arg("weight"), py::arg("moments"),
             py::arg("n_gamma") = 1, py::arg("bayes_gamma_index") = 0, py::arg("n_sigma") = 5.0,
             py::arg("ns_max") = 1000.0)
        .def_property_readonly("n_pixels", &LvkSearch::n_pixels)
        .def(
            "evaluate",
            [](const LvkSearch& self, const carray<double>& ra, const carray<double>& dec, const carray<double>& sigma,
               const carray<double>& inv_bg, const carray<double>& eratio) {
                const EventsBuffer b = events_from(ra, dec, sigma, inv_bg, eratio, self.settings().n_gamma);
                py::array_t<LvkResult> out(1);
                LvkResult* p = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    *p = self.evaluate(b.view());
                }
                return out;
            },
            py::arg("ra"), py::arg("dec"), py::arg("sigma"), py::arg("inv_bg"), py::arg("eratio"),
            "Both searches on one window; returns a length-1 structured array "
            "(ts, ns, gamma_index, pixel, odds_lambda, n_near).")
        .def(
            "ts_map",
            [](const LvkSearch& self, const carray<double>& ra, const carray<double>& dec, const carray<double>& sigma,
               const carray<double>& inv_bg, const carray<double>& eratio) {
                const EventsBuffer b = events_from(ra, dec, sigma, inv_bg, eratio, self.settings().n_gamma);
                const auto n = static_cast<py::ssize_t>(self.n_pixels());
                py::array_t<double> ts(n), ns(n);
                double* pt = ts.mutable_data();
                double* pn = ns.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.ts_map(b.view(), pt, pn);
                }
                return py::make_tuple(ts, ns);
            },
            py::arg("ra"), py::arg("dec"), py::arg("sigma"), py::arg("inv_bg"), py::arg("eratio"),
            "Generic TS and ns of every region pixel (the caller's pixel order).")
        .def(
            "trials",
            [](const LvkSearch& self, const carray<double>& dec, const carray<double>& sigma,
               const carray<double>& inv_bg, const carray<double>& eratio, double mean_n, std::int64_t fixed_n,
               std::size_t n_trials, std::uint64_t seed, int threads, std::uint64_t first_trial) {
                carray<double> ra_dummy(dec.size());
                std::fill(ra_dummy.mutable_data(), ra_dummy.mutable_data() + ra_dummy.size(), 0.0);
                const EventsBuffer b = events_from(ra_dummy, dec, sigma, inv_bg, eratio, self.settings().n_gamma);
                if (b.dec.empty()) fail("dec", "the background pool is empty");
                if (fixed_n < 0 && (!(mean_n >= 0.0) || !std::isfinite(mean_n)))
                    fail("mean_n", "must be finite and >= 0");
                check_threads(threads);
                py::array_t<LvkResult> out(static_cast<py::ssize_t>(n_trials));
                LvkResult* p = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.trials(b.view(), mean_n, fixed_n, n_trials, seed, threads, p, first_trial);
                }
                return out;
            },
            py::arg("dec"), py::arg("sigma"), py::arg("inv_bg"), py::arg("eratio"), py::arg("mean_n"),
            py::arg("fixed_n") = -1, py::arg("n_trials") = 1000, py::arg("seed") = 0, py::arg("threads") = 0,
            py::arg("first_trial") = 0,
            "Background trials: N ~ Poisson(mean_n) (or fixed_n >= 0) events drawn from the pool with uniform RA; "
            "trial i is seeded by (seed, first_trial + i), whatever the thread count, so batches "
            "(first_trial = 0, B, 2B, ...) reproduce one run.");

    m.def(
        "distance_moments",
        [](const carray<double>& kdec, const carray<double>& mu, const carray<double>& sigma, std::size_t n_nodes,
           const carray<double>& table, double grid_lo, double grid_step, int threads) {
            require_ndim(kdec, 1, "kdec");
            const auto n = static_cast<std::size_t>(kdec.size());
            const std::vector<double> kv = vec1(kdec, "kdec", n), mv = vec1(mu, "mu", n), sv = vec1(sigma, "sigma", n);
            for (std::size_t i = 0; i < n; ++i) {
                if (!(kv[i] > 0.0)) fail("kdec", "must be > 0");
                if (!(mv[i] > 0.0)) fail("mu", "must be > 0 (Mpc)");
                if (!(sv[i] > 0.0)) fail("sigma", "must be > 0 (Mpc)");
            }
            if (n_nodes < 2) fail("n_nodes", "must be >= 2");
            require_ndim(table, 2, "table");
            require_finite(table, "table");
            const auto n_grid = static_cast<std::size_t>(table.shape(0)), nm = static_cast<std::size_t>(table.shape(1));
            if (n_grid < 2 || nm == 0) fail("table", "needs at least 2 rows and 1 column");
            if (!(grid_step > 0.0) || !std::isfinite(grid_step)) fail("grid_step", "must be finite and > 0");
            if (!std::isfinite(grid_lo)) fail("grid_lo", "must be finite");
            check_threads(threads);
            py::array_t<double> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(nm)});
            double* po = out.mutable_data();
            const double* pt = table.data();
            {
                py::gil_scoped_release release;
                lvk_distance_moments(kv.data(), mv.data(), sv.data(), n, n_nodes, pt, n_grid, grid_lo, grid_step, nm,
                                     po, threads);
            }
            return out;
        },
        py::arg("kdec"), py::arg("mu"), py::arg("sigma"), py::arg("n_nodes"), py::arg("table"), py::arg("grid_lo"),
        py::arg("grid_step"), py::arg("threads") = 0,
        "Per-pixel average of the tabulated moments M_k(c) (rows: ln c = grid_lo + i grid_step) over the distance "
        "ansatz r^2 N(r; mu, sigma) at n_nodes even steps of r in mu +- 5 sigma, with c = kdec / r^2; "
        "returns (n_pixels, n_moment).");

    m.def(
        "fit_ns",
        [](const carray<double>& x, double ns_max) {
            require_ndim(x, 1, "x");
            require_finite(x, "x");
            double value = 0.0;
            const double ns = lvk_fit_ns(x.data(), static_cast<std::size_t>(x.size()), ns_max, &value);
            return py::make_tuple(ns, value);
        },
        py::arg("x"), py::arg("ns_max") = 1000.0,
        "Maximise -ns + sum ln(1 + ns x_i) over ns in [0, ns_max]; returns (ns, maximum).");
}

}  // namespace icecore::python
