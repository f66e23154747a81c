// Bindings for the point-source likelihood kernel (icecore/ps_llh.hpp). Validate, then release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <cstdint>
#include <string>
#include <vector>

#include "icecore/ps_llh.hpp"
#include "icecore/ps_table.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

template <class T>
std::vector<T> vec_from(const py::dict& d, const char* key, const std::string& where, bool finite = true) {
    if (!d.contains(key)) fail(where, std::string("missing key '") + key + "'");
    carray<T> a = py::cast<carray<T>>(d[key]);
    const std::string name = where + "." + key;
    if (a.ndim() != 1) fail(name, "expected a 1-d array");
    if constexpr (std::is_floating_point_v<T>)
        if (finite) require_finite(a, name.c_str());
    return std::vector<T>(a.data(), a.data() + a.size());
}

PsSeason season_from(const py::dict& d, std::size_t k, std::size_t n_gamma) {
    const std::string where = "seasons[" + std::to_string(k) + "]";
    PsSeason s;
    s.dec = vec_from<double>(d, "dec", where);
    s.ra = vec_from<double>(d, "ra", where);
    s.sin_dec = vec_from<double>(d, "sin_dec", where);
    s.cos_dec = vec_from<double>(d, "cos_dec", where);
    s.sigma = vec_from<double>(d, "sigma", where);
    s.inv_b = vec_from<double>(d, "inv_b", where);
    s.efrac = vec_from<double>(d, "efrac", where);
    s.cos_r = vec_from<double>(d, "cos_r", where);
    s.ebin = vec_from<std::int32_t>(d, "ebin", where);
    s.etable = vec_from<double>(d, "etable", where);
    s.acc = vec_from<double>(d, "acc", where);
    s.acc_x_lo = vec_from<double>(d, "acc_x_lo", where);
    s.acc_x_hi = vec_from<double>(d, "acc_x_hi", where);
    s.n_total = py::cast<double>(d["n_total"]);
    s.n_class = py::cast<std::size_t>(d["n_class"]);
    s.n_e = py::cast<std::size_t>(d["n_e"]);
    for (double v : s.sigma)
        if (!(v > 0)) fail(where + ".sigma", "must be > 0");
    for (double v : s.inv_b)
        if (!(v >= 0)) fail(where + ".inv_b", "must be >= 0");
    for (double v : s.etable)
        if (!(v >= 0)) fail(where + ".etable", "must be >= 0");
    for (double v : s.acc_x_lo)
        if (!(v > 0)) fail(where + ".acc_x_lo", "energies must be > 0");
    (void)n_gamma;
    return s;
}

py::dict results_to_dict(const std::vector<PsFitResult>& r) {
    const auto n = static_cast<py::ssize_t>(r.size());
    py::array_t<double> ts(n), ns(n), gamma(n);
    py::array_t<std::int32_t> status(n), nsel(n), neval(n);
    auto t = ts.mutable_data();
    auto s = ns.mutable_data();
    auto g = gamma.mutable_data();
    auto st = status.mutable_data();
    auto ne = nsel.mutable_data();
    auto nv = neval.mutable_data();
    for (std::size_t i = 0; i < r.size(); ++i) {
        t[i] = r[i].ts;
        s[i] = r[i].ns;
        g[i] = r[i].gamma;
        st[i] = r[i].status;
        ne[i] = r[i].n_selected;
        nv[i] = r[i].n_eval;
    }
    py::dict d;
    d["ts"] = ts;
    d["ns"] = ns;
    d["gamma"] = gamma;
    d["status"] = status;
    d["n_selected"] = nsel;
    d["n_eval"] = neval;
    return d;
}

void check_cls(const PsModel& m, const carray<std::int32_t>& cls, py::ssize_t rows, const char* name) {
    const auto ns = static_cast<py::ssize_t>(m.n_seasons());
    if (cls.size() != rows * ns)
        fail(name, "expected " + std::to_string(rows) + " x " + std::to_string(ns) + " class indices, got " +
                       std::to_string(cls.size()));
}

}  // namespace

void bind_ps(py::module_& m) {
    m.def(
        "ps_parse_table",
        [](const py::bytes& text, std::size_t n_cols) {
            if (n_cols == 0) fail("n_cols", "must be >= 1");
            const std::string_view sv = text;
            TableParseResult r;
            {
                py::gil_scoped_release release;
                r = parse_table(sv.data(), sv.size(), n_cols);
            }
            py::array_t<double> out({static_cast<py::ssize_t>(r.n_rows), static_cast<py::ssize_t>(n_cols)});
            std::copy(r.values.begin(), r.values.begin() + static_cast<std::ptrdiff_t>(r.n_rows * n_cols),
                      out.mutable_data());
            return py::make_tuple(out, r.error_line, r.error);
        },
        py::arg("text"), py::arg("n_cols"),
        "Parse a whitespace table (bytes, header/comment lines starting with '#' skipped) with n_cols finite "
        "numbers per line. Returns (rows x n_cols float64 array of the lines before the first error, "
        "1-based error line or 0, error message).");

    py::class_<PsModel>(m, "PsModel", R"doc(Point-source likelihood-ratio kernel over several seasons.

Built by icecore.ps.PointSourceAnalysis; see cpp/include/icecore/ps_llh.hpp for the model.
Angles in radians. Each season is a dict with event arrays (sorted by dec) dec, ra, sin_dec,
cos_dec, sigma, inv_b, efrac, cos_r (float64), ebin (int32); its tables etable (n_class*n_gamma*n_e),
acc (n_class*n_acc, livetime*A_eff in cm^2 s), acc_x_lo/acc_x_hi (energy bin edges / E0) and the
scalars n_total, n_class, n_e.
)doc")
        .def(py::init([](const py::list& seasons, const py::dict& settings) {
                 PsSettings st;
                 st.gamma_grid0 = py::cast<double>(settings["gamma_grid0"]);
                 st.gamma_grid_step = py::cast<double>(settings["gamma_grid_step"]);
                 st.n_gamma_grid = py::cast<std::size_t>(settings["n_gamma_grid"]);
                 st.gamma_min = py::cast<double>(settings["gamma_min"]);
                 st.gamma_max = py::cast<double>(settings["gamma_max"]);
                 st.ns_max = py::cast<double>(settings["ns_max"]);
                 st.cone_rad = py::cast<double>(settings["cone_rad"]);
                 st.coarse_step = py::cast<double>(settings["coarse_step"]);
                 st.ra_box = py::cast<bool>(settings["ra_box"]);
                 st.gamma_tol = py::cast<double>(settings["gamma_tol"]);
                 if (!(st.coarse_step > 0)) fail("settings.coarse_step", "must be > 0");
                 if (!(st.gamma_tol > 0)) fail("settings.gamma_tol", "must be > 0");
                 std::vector<PsSeason> v;
                 for (std::size_t k = 0; k < seasons.size(); ++k)
                     v.push_back(season_from(py::cast<py::dict>(seasons[k]), k, st.n_gamma_grid));
                 try {
                     return new PsModel(std::move(v), st);
                 } catch (const std::invalid_argument& e) {
                     throw py::value_error(e.what());
                 }
             }),
             py::arg("seasons"), py::arg("settings"))
        .def(
            "fit",
            [](const PsModel& self, double ra, double dec, const carray<std::int32_t>& cls) {
                check_cls(self, cls, 1, "cls");
                if (!std::isfinite(ra) || !std::isfinite(dec)) fail("ra/dec", "must be finite");
                std::vector<PsFitResult> r(1);
                const std::int32_t* c = cls.data();
                {
                    py::gil_scoped_release release;
                    r[0] = self.fit(ra, dec, c);
                }
                return results_to_dict(r);
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"),
            "Fit ns and gamma at (ra, dec) [rad] with the stored events; returns a dict of 1-element arrays "
            "ts, ns, gamma, status (0 ok, 1 ns at upper bound, 2 no event selected, 3 non-finite), n_selected.")
        .def(
            "trials",
            [](const PsModel& self, double ra, double dec, const carray<std::int32_t>& cls,
               const carray<std::uint64_t>& seeds, const py::object& injected, int threads) {
                check_cls(self, cls, 1, "cls");
                check_threads(threads);
                require_ndim(seeds, 1, "seeds");
                const auto nt = static_cast<std::size_t>(seeds.size());
                PsInjected inj;
                carray<std::int32_t> season, ebin;
                carray<double> ira, isd, icd, isig, iinv, ifr, icr;
                carray<std::int64_t> off;
                if (!injected.is_none()) {
                    const auto d = py::cast<py::dict>(injected);
                    season = py::cast<carray<std::int32_t>>(d["season"]);
                    ebin = py::cast<carray<std::int32_t>>(d["ebin"]);
                    ira = py::cast<carray<double>>(d["ra"]);
                    isd = py::cast<carray<double>>(d["sin_dec"]);
                    icd = py::cast<carray<double>>(d["cos_dec"]);
                    isig = py::cast<carray<double>>(d["sigma"]);
                    iinv = py::cast<carray<double>>(d["inv_b"]);
                    ifr = py::cast<carray<double>>(d["efrac"]);
                    icr = py::cast<carray<double>>(d["cos_r"]);
                    off = py::cast<carray<std::int64_t>>(d["offsets"]);
                    const auto n = season.size();
                    for (auto* a : {&ira, &isd, &icd, &isig, &iinv, &ifr, &icr})
                        if (a->size() != n) fail("injected", "arrays differ in length");
                    if (ebin.size() != n) fail("injected", "arrays differ in length");
                    if (static_cast<std::size_t>(off.size()) != nt + 1) fail("injected.offsets", "needs n_trials + 1 entries");
                    const std::int64_t* o = off.data();
                    if (o[0] != 0 || o[nt] != static_cast<std::int64_t>(n)) fail("injected.offsets", "must span all events");
                    for (std::size_t t = 0; t < nt; ++t)
                        if (o[t + 1] < o[t]) fail("injected.offsets", "must be non-decreasing");
                    for (py::ssize_t i = 0; i < n; ++i) {
                        const auto sj = season.data()[i];
                        if (sj < 0 || static_cast<std::size_t>(sj) >= self.n_seasons()) fail("injected.season", "out of range");
                        if (!(isig.data()[i] > 0)) fail("injected.sigma", "must be > 0");
                        if (!(iinv.data()[i] >= 0) || !std::isfinite(iinv.data()[i])) fail("injected.inv_b", "must be finite and >= 0");
                        if (!std::isfinite(ira.data()[i]) || !std::isfinite(isd.data()[i]) || !std::isfinite(icd.data()[i]))
                            fail("injected", "positions must be finite");
                        if (ebin.data()[i] < 0) fail("injected.ebin", "must be >= 0");
                    }
                    inj.season = season.data();
                    inj.ebin = ebin.data();
                    inj.ra = ira.data();
                    inj.sin_dec = isd.data();
                    inj.cos_dec = icd.data();
                    inj.sigma = isig.data();
                    inj.inv_b = iinv.data();
                    inj.efrac = ifr.data();
                    inj.cos_r = icr.data();
                    inj.offsets = off.data();
                }
                std::vector<PsFitResult> r(nt);
                const std::int32_t* c = cls.data();
                const std::uint64_t* sd = seeds.data();
                {
                    py::gil_scoped_release release;
                    self.trials(ra, dec, c, sd, nt, inj, r.data(), threads);
                }
                return results_to_dict(r);
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"), py::arg("seeds"), py::arg("injected") = py::none(),
            py::arg("threads") = 0,
            "Trials at (ra, dec) [rad]: one uint64 seed per trial for the RA scrambling, optional injected "
            "events (dict of flat arrays + offsets). Returns a dict of arrays like fit().")
        .def(
            "scan",
            [](const PsModel& self, const carray<double>& ra, const carray<double>& dec, const carray<std::int32_t>& cls,
               int threads) {
                require_ndim(ra, 1, "ra");
                require_ndim(dec, 1, "dec");
                require_finite(ra, "ra");
                require_finite(dec, "dec");
                if (ra.size() != dec.size()) fail("dec", "must have the length of ra");
                check_cls(self, cls, ra.size(), "cls");
                check_threads(threads);
                const auto n = static_cast<std::size_t>(ra.size());
                std::vector<PsFitResult> r(n);
                const double* pr = ra.data();
                const double* pd = dec.data();
                const std::int32_t* c = cls.data();
                {
                    py::gil_scoped_release release;
                    self.scan(pr, pd, c, n, r.data(), threads);
                }
                return results_to_dict(r);
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"), py::arg("threads") = 0,
            "Fit at many positions (rad); cls is (n, n_seasons) int32. Returns a dict of arrays like fit().")
        .def(
            "log_lambda",
            [](const PsModel& self, double ra, double dec, const carray<std::int32_t>& cls, double ns, double gamma) {
                check_cls(self, cls, 1, "cls");
                return self.log_lambda(ra, dec, cls.data(), ns, gamma);
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"), py::arg("ns"), py::arg("gamma"),
            "log of the likelihood ratio at (ns, gamma) for the stored events (for tests).");
}

}  // namespace icecore::python
