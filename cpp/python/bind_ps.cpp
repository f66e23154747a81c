// Bindings for the point-source likelihood kernel (icecore/ps_llh.hpp) and the release-table
// parser (icecore/ps_table.hpp). Data cross as typed objects, never as string-keyed dicts:
//
//   PsSettings  the fit settings (the C++ struct, fields read/write)
//   PsSeason    one season's candidate events and signal tables (typed arrays, copied once)
//   PsInjected  injected signal events of a batch of trials (typed arrays, referenced, not copied)
//   results     numpy structured arrays with the fields of PsFitResult
//
// Every entry point validates its input, then releases the GIL around the kernel.
// std::invalid_argument thrown by the kernel reaches Python as ValueError (pybind11's own
// translation).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "icecore/ps_flare.hpp"
#include "icecore/ps_llh.hpp"
#include "icecore/ps_stack.hpp"
#include "icecore/ps_table.hpp"
#include "validate.hpp"

namespace icecore::python {

namespace {

// The optional fixed time window (a, b) of the flare trials: None -> (NaN, 0), i.e. searched.
std::pair<double, double> fixed_window(const py::object& window) {
    if (window.is_none()) return {std::numeric_limits<double>::quiet_NaN(), 0.0};
    const auto w = window.cast<std::pair<double, double>>();
    if (!std::isfinite(w.first) || !std::isfinite(w.second)) fail("window", "must be finite");
    return w;
}

using FitResults = py::array_t<PsFitResult>;

template <class T>
std::vector<T> to_vector(const carray<T>& a, const char* name) {
    require_ndim(a, 1, name);
    if constexpr (std::is_floating_point_v<T>) require_finite(a, name);
    return std::vector<T>(a.data(), a.data() + a.size());
}

PsSeason make_season(const carray<double>& dec, const carray<double>& ra, const carray<double>& sin_dec,
                     const carray<double>& cos_dec, const carray<double>& sigma, const carray<double>& inv_b,
                     const carray<double>& efrac, const carray<double>& cos_r, const carray<std::int32_t>& ebin,
                     const carray<double>& etable, const carray<double>& acc, const carray<double>& acc_x_lo,
                     const carray<double>& acc_x_hi, double n_total, std::size_t n_class, std::size_t n_e) {
    PsSeason s;
    s.dec = to_vector(dec, "dec");
    s.ra = to_vector(ra, "ra");
    s.sin_dec = to_vector(sin_dec, "sin_dec");
    s.cos_dec = to_vector(cos_dec, "cos_dec");
    s.sigma = to_vector(sigma, "sigma");
    s.inv_b = to_vector(inv_b, "inv_b");
    s.efrac = to_vector(efrac, "efrac");
    s.cos_r = to_vector(cos_r, "cos_r");
    s.ebin = to_vector(ebin, "ebin");
    s.etable = to_vector(etable, "etable");
    s.acc = to_vector(acc, "acc");
    s.acc_x_lo = to_vector(acc_x_lo, "acc_x_lo");
    s.acc_x_hi = to_vector(acc_x_hi, "acc_x_hi");
    if (!std::isfinite(n_total)) fail("n_total", "must be finite");
    s.n_total = n_total;
    s.n_class = n_class;
    s.n_e = n_e;
    for (double v : s.sigma)
        if (!(v > 0)) fail("sigma", "must be > 0");
    for (double v : s.inv_b)
        if (!(v >= 0)) fail("inv_b", "must be >= 0");
    for (double v : s.etable)
        if (!(v >= 0)) fail("etable", "must be >= 0");
    for (double v : s.acc_x_lo)
        if (!(v > 0)) fail("acc_x_lo", "energies must be > 0");
    s.validate_events();
    return s;
}

/// Injected events of a batch of trials: owns references to the numpy arrays and hands the kernel
/// a PsInjected view of them.
class InjectedEvents {
public:
    InjectedEvents(carray<std::int32_t> season, carray<double> ra, carray<double> sin_dec, carray<double> cos_dec,
                   carray<double> sigma, carray<double> inv_b, carray<double> efrac, carray<double> cos_r,
                   carray<std::int32_t> ebin, carray<std::int64_t> offsets)
        : season_(std::move(season)), ebin_(std::move(ebin)), ra_(std::move(ra)), sin_dec_(std::move(sin_dec)),
          cos_dec_(std::move(cos_dec)), sigma_(std::move(sigma)), inv_b_(std::move(inv_b)), efrac_(std::move(efrac)),
          cos_r_(std::move(cos_r)), offsets_(std::move(offsets)) {
        require_ndim(season_, 1, "season");
        const auto n = season_.size();
        const std::pair<const carray<double>*, const char*> columns[] = {
            {&ra_, "ra"},       {&sin_dec_, "sin_dec"}, {&cos_dec_, "cos_dec"}, {&sigma_, "sigma"},
            {&inv_b_, "inv_b"}, {&efrac_, "efrac"},     {&cos_r_, "cos_r"}};
        for (const auto& [a, name] : columns) {
            require_ndim(*a, 1, name);
            if (a->size() != n) fail(name, "must have the length of season (" + std::to_string(n) + ")");
            require_finite(*a, name);
        }
        require_ndim(ebin_, 1, "ebin");
        if (ebin_.size() != n) fail("ebin", "must have the length of season (" + std::to_string(n) + ")");
        require_ndim(offsets_, 1, "offsets");
        if (offsets_.size() < 1) fail("offsets", "needs n_trials + 1 entries");
        const std::int64_t* o = offsets_.data();
        const auto nt = static_cast<std::size_t>(offsets_.size() - 1);
        if (o[0] != 0 || o[nt] != static_cast<std::int64_t>(n)) fail("offsets", "must span all events");
        for (std::size_t t = 0; t < nt; ++t)
            if (o[t + 1] < o[t]) fail("offsets", "must be non-decreasing");
        for (py::ssize_t i = 0; i < n; ++i) {
            if (season_.data()[i] < 0) fail("season", "must be >= 0");
            if (!(sigma_.data()[i] > 0)) fail("sigma", "must be > 0");
            if (!(inv_b_.data()[i] >= 0)) fail("inv_b", "must be >= 0");
            if (ebin_.data()[i] < 0) fail("ebin", "must be >= 0");
        }
    }

    std::size_t n_events() const { return static_cast<std::size_t>(season_.size()); }
    std::size_t n_trials() const { return static_cast<std::size_t>(offsets_.size() - 1); }

    /// Checks against the model (season index, table row of each event's energy bin).
    void check_against(const PsModel& model, std::size_t n_trials_wanted) const {
        if (n_trials() != n_trials_wanted)
            fail("injected.offsets", "needs n_trials + 1 = " + std::to_string(n_trials_wanted + 1) + " entries, got " +
                                         std::to_string(n_trials() + 1));
        for (std::size_t i = 0; i < n_events(); ++i) {
            const auto j = static_cast<std::size_t>(season_.data()[i]);
            if (j >= model.n_seasons()) fail("injected.season", "out of range");
            if (static_cast<std::size_t>(ebin_.data()[i]) + 1 >= model.season(j).n_e)
                fail("injected.ebin", "out of range of the season's energy table");
        }
    }

    PsInjected view() const {
        PsInjected v;
        v.season = season_.data();
        v.ebin = ebin_.data();
        v.ra = ra_.data();
        v.sin_dec = sin_dec_.data();
        v.cos_dec = cos_dec_.data();
        v.sigma = sigma_.data();
        v.inv_b = inv_b_.data();
        v.efrac = efrac_.data();
        v.cos_r = cos_r_.data();
        v.offsets = offsets_.data();
        return v;
    }

private:
    carray<std::int32_t> season_, ebin_;
    carray<double> ra_, sin_dec_, cos_dec_, sigma_, inv_b_, efrac_, cos_r_;
    carray<std::int64_t> offsets_;
};

void check_cls(const PsModel& m, const carray<std::int32_t>& cls, py::ssize_t rows, const char* name) {
    const auto ns = static_cast<py::ssize_t>(m.n_seasons());
    if (cls.size() != rows * ns)
        fail(name, "expected " + std::to_string(rows) + " x " + std::to_string(ns) + " class indices, got " +
                       std::to_string(cls.size()));
}

void check_position(double ra, double dec) {
    if (!std::isfinite(ra) || !std::isfinite(dec)) fail("ra/dec", "must be finite");
}

const char* const kResultsDoc =
    "structured array with fields ts, ns, gamma (float64), status (int32: 0 ok, 1 ns at upper bound, 2 no "
    "event selected, 3 non-finite likelihood), n_selected (int32: events in the sum) and n_eval (int32: "
    "1000 x profile evaluations + Newton steps, capped at 999)";

FlareKind flare_kind(const std::string& kind) {
    if (kind == "gauss") return FlareKind::gauss;
    if (kind == "box") return FlareKind::box;
    if (kind == "none") return FlareKind::none;
    fail("kind", "must be 'gauss', 'box' or 'none', got '" + kind + "'");
    return FlareKind::none;
}

FlareModel make_flare(const carray<double>& t, const carray<double>& x, double gamma0, double dgamma, double n_total,
                      const carray<double>& run_start, const carray<double>& run_stop, const FlareSettings& st) {
    require_ndim(x, 2, "x");
    std::vector<double> tv = to_vector(t, "t");
    if (static_cast<std::size_t>(x.shape(1)) != tv.size()) fail("x", "must be (n_gamma, len(t))");
    require_finite(x, "x");
    std::vector<double> xv(x.data(), x.data() + x.size());
    auto rs = to_vector(run_start, "run_start");
    auto re = to_vector(run_stop, "run_stop");
    if (rs.size() != re.size()) fail("run_stop", "must have the length of run_start");
    if (!std::isfinite(gamma0) || !std::isfinite(dgamma) || !std::isfinite(n_total)) fail("gamma0", "must be finite");
    for (std::size_t i = 0; i < tv.size(); ++i) {
        const auto k = std::upper_bound(rs.begin(), rs.end(), tv[i]) - rs.begin();
        if (k == 0 || tv[i] > re[static_cast<std::size_t>(k - 1)]) fail("t", "every event time must lie in a run");
    }
    return FlareModel(std::move(tv), std::move(xv), static_cast<std::size_t>(x.shape(0)), gamma0, dgamma, n_total,
                      std::move(rs), std::move(re), st);
}

using FlareResults = py::array_t<FlareFitResult>;

const char* const kFlareDoc =
    "structured array with fields ts, ns, gamma, t_a, t_b (Gaussian: mean and width; box: start and end "
    "[MJD]), log_lambda (2 log Lambda, without the flare-length term) (float64), status (int32: 0 ok, 1 ns at "
    "upper bound, 2 no signal-like event) and n_eval (int32)";


// ---- stacking (icecore/ps_stack.hpp) ----
using StackEvents = py::array_t<StackEvent, py::array::c_style | py::array::forcecast>;
using StackResults = py::array_t<StackFitResult>;

std::vector<StackEvent> stack_events(const py::handle& obj, const char* name) {
    auto a = py::cast<StackEvents>(obj);
    if (a.ndim() != 1) fail(name, "must be a 1-d STACK_EVENT_DTYPE array");
    std::vector<StackEvent> v(a.data(), a.data() + a.size());
    for (const auto& e : v)
        if (!std::isfinite(e.ra) || !std::isfinite(e.dec) || !std::isfinite(e.sigma) || !std::isfinite(e.inv_b) ||
            !std::isfinite(e.efrac))
            fail(name, "must be finite");
    return v;
}

std::vector<std::vector<double>> ra_lists(const StackModel& self, const py::sequence& ra) {
    if (static_cast<std::size_t>(py::len(ra)) != self.n_seasons()) fail("ra", "need one array per season");
    std::vector<std::vector<double>> out;
    for (std::size_t j = 0; j < self.n_seasons(); ++j) {
        auto a = py::cast<carray<double>>(ra[j]);
        out.push_back(to_vector(a, "ra"));
    }
    return out;
}

const char* const kStackDoc =
    "structured array with fields ts, ns, gamma (float64), n_injected and status (int32: 0 ok, 1 ns at its "
    "upper bound)";

}  // namespace

void bind_ps(py::module_& m) {
    PYBIND11_NUMPY_DTYPE(PsFitResult, ts, ns, gamma, status, n_selected, n_eval);  // the result records

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

    py::class_<PsSettings>(m, "PsSettings", "Settings of the point-source fit (angles in radians).")
        .def(py::init([](double gamma_grid0, double gamma_grid_step, std::size_t n_gamma_grid, double gamma_min,
                         double gamma_max, double ns_max, double cone_rad, bool ra_box, double coarse_step,
                         double gamma_tol) {
                 PsSettings st;
                 st.gamma_grid0 = gamma_grid0;
                 st.gamma_grid_step = gamma_grid_step;
                 st.n_gamma_grid = n_gamma_grid;
                 st.gamma_min = gamma_min;
                 st.gamma_max = gamma_max;
                 st.ns_max = ns_max;
                 st.cone_rad = cone_rad;
                 st.ra_box = ra_box;
                 st.coarse_step = coarse_step;
                 st.gamma_tol = gamma_tol;
                 return st;
             }),
             py::kw_only(), py::arg("gamma_grid0") = PsSettings{}.gamma_grid0,
             py::arg("gamma_grid_step") = PsSettings{}.gamma_grid_step,
             py::arg("n_gamma_grid") = PsSettings{}.n_gamma_grid, py::arg("gamma_min") = PsSettings{}.gamma_min,
             py::arg("gamma_max") = PsSettings{}.gamma_max, py::arg("ns_max") = PsSettings{}.ns_max,
             py::arg("cone_rad") = PsSettings{}.cone_rad, py::arg("ra_box") = PsSettings{}.ra_box,
             py::arg("coarse_step") = PsSettings{}.coarse_step, py::arg("gamma_tol") = PsSettings{}.gamma_tol,
             "gamma_grid0/gamma_grid_step/n_gamma_grid: the table grid in gamma; gamma_min/gamma_max: the fit "
             "range (inside the grid, one node to spare each side); ns_max: upper bound of ns; cone_rad: "
             "half-width of the declination band; ra_box: also cut SkyLLH's RA box; coarse_step: step of the "
             "coarse gamma scan; gamma_tol: Brent tolerance in gamma. Checked when a PsModel is built.")
        .def_readwrite("gamma_grid0", &PsSettings::gamma_grid0)
        .def_readwrite("gamma_grid_step", &PsSettings::gamma_grid_step)
        .def_readwrite("n_gamma_grid", &PsSettings::n_gamma_grid)
        .def_readwrite("gamma_min", &PsSettings::gamma_min)
        .def_readwrite("gamma_max", &PsSettings::gamma_max)
        .def_readwrite("ns_max", &PsSettings::ns_max)
        .def_readwrite("cone_rad", &PsSettings::cone_rad)
        .def_readwrite("ra_box", &PsSettings::ra_box)
        .def_readwrite("coarse_step", &PsSettings::coarse_step)
        .def_readwrite("gamma_tol", &PsSettings::gamma_tol);

    py::class_<PsSeason>(m, "PsSeason", R"doc(One season of the point-source kernel (arrays are copied).

Events, sorted by dec [rad]: dec, ra, sin_dec, cos_dec, sigma (AngErr, rad, > 0), inv_b
(1 / background PDF, >= 0), efrac (position in the fine log-energy cell), cos_r (cos of the
selection radius; < -1 selects every event of the band), all float64, and ebin (int32 index into a
table row, ebin + 1 < n_e). Tables: etable (n_class * n_gamma * n_e signal energy PDFs, >= 0),
acc (n_class * n_acc livetime * A_eff [cm^2 s]), acc_x_lo/acc_x_hi (energy bin edges / E0, > 0).
n_total: all events of the season (>= the stored ones), n_class: energy-table classes, n_e: row
length. Checked here, and against the settings when the PsModel is built.
)doc")
        .def(py::init(&make_season), py::kw_only(), py::arg("dec"), py::arg("ra"), py::arg("sin_dec"),
             py::arg("cos_dec"), py::arg("sigma"), py::arg("inv_b"), py::arg("efrac"), py::arg("cos_r"),
             py::arg("ebin"), py::arg("etable"), py::arg("acc"), py::arg("acc_x_lo"), py::arg("acc_x_hi"),
             py::arg("n_total"), py::arg("n_class"), py::arg("n_e"))
        .def_property_readonly("n_events", &PsSeason::n_events, "Number of stored (candidate) events.")
        .def_readonly("n_total", &PsSeason::n_total, "All events of the season.")
        .def_readonly("n_class", &PsSeason::n_class, "Number of energy-table classes.")
        .def_readonly("n_e", &PsSeason::n_e, "Length of a signal-table row.");

    py::class_<InjectedEvents>(m, "PsInjected", R"doc(Injected signal events of a batch of trials (not copied).

Flat arrays over all trials, grouped by trial: season (int32 season index), ra [rad], sin_dec,
cos_dec, sigma [rad, > 0], inv_b (>= 0), efrac, cos_r (float64), ebin (int32), and offsets (int64,
n_trials + 1 entries from 0 to the number of events): trial t holds events offsets[t]:offsets[t + 1].
)doc")
        .def(py::init<carray<std::int32_t>, carray<double>, carray<double>, carray<double>, carray<double>,
                      carray<double>, carray<double>, carray<double>, carray<std::int32_t>, carray<std::int64_t>>(),
             py::kw_only(), py::arg("season"), py::arg("ra"), py::arg("sin_dec"), py::arg("cos_dec"),
             py::arg("sigma"), py::arg("inv_b"), py::arg("efrac"), py::arg("cos_r"), py::arg("ebin"),
             py::arg("offsets"))
        .def_property_readonly("n_events", &InjectedEvents::n_events, "Number of injected events.")
        .def_property_readonly("n_trials", &InjectedEvents::n_trials, "Number of trials (len(offsets) - 1).");

    py::class_<PsModel>(m, "PsModel", R"doc(Point-source likelihood-ratio kernel over several seasons.

Built by icecore.ps.engine from a list of PsSeason and a PsSettings; see
cpp/include/icecore/ps_llh.hpp for the model. Angles in radians. `cls` holds, per position, the
energy-table class of every season (int32). Fits return a numpy structured array (fields ts, ns,
gamma, status, n_selected, n_eval), one element per position or trial.
)doc")
        .def(py::init<std::vector<PsSeason>, PsSettings>(), py::arg("seasons"), py::arg("settings"))
        .def_property_readonly("n_seasons", &PsModel::n_seasons, "Number of seasons.")
        .def(
            "fit",
            [](const PsModel& self, double ra, double dec, const carray<std::int32_t>& cls) {
                check_cls(self, cls, 1, "cls");
                check_position(ra, dec);
                FitResults out(1);
                PsFitResult* r = out.mutable_data();
                const std::int32_t* c = cls.data();
                {
                    py::gil_scoped_release release;
                    r[0] = self.fit(ra, dec, c);
                }
                return out;
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"),
            (std::string("Fit ns and gamma at (ra, dec) [rad] with the stored events; returns a 1-element ") +
             kResultsDoc + ".")
                .c_str())
        .def(
            "trials",
            [](const PsModel& self, double ra, double dec, const carray<std::int32_t>& cls,
               const carray<std::uint64_t>& seeds, const InjectedEvents* injected, int threads) {
                check_cls(self, cls, 1, "cls");
                check_position(ra, dec);
                check_threads(threads);
                require_ndim(seeds, 1, "seeds");
                const auto nt = static_cast<std::size_t>(seeds.size());
                PsInjected inj;
                if (injected != nullptr) {
                    injected->check_against(self, nt);
                    inj = injected->view();
                }
                FitResults out(static_cast<py::ssize_t>(nt));
                PsFitResult* r = out.mutable_data();
                const std::int32_t* c = cls.data();
                const std::uint64_t* sd = seeds.data();
                {
                    py::gil_scoped_release release;
                    self.trials(ra, dec, c, sd, nt, inj, r, threads);
                }
                return out;
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"), py::arg("seeds"), py::arg("injected") = py::none(),
            py::arg("threads") = 0,
            (std::string("Trials at (ra, dec) [rad]: one uint64 seed per trial for the RA scrambling, optional "
                         "injected events (PsInjected with one group per trial). Returns a ") +
             kResultsDoc + ".")
                .c_str())
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
                FitResults out(static_cast<py::ssize_t>(n));
                PsFitResult* r = out.mutable_data();
                const double* pr = ra.data();
                const double* pd = dec.data();
                const std::int32_t* c = cls.data();
                {
                    py::gil_scoped_release release;
                    self.scan(pr, pd, c, n, r, threads);
                }
                return out;
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"), py::arg("threads") = 0,
            (std::string("Fit at many positions [rad]; cls is (n, n_seasons) int32. Returns a ") + kResultsDoc +
             ".")
                .c_str())
        .def(
            "log_lambda",
            [](const PsModel& self, double ra, double dec, const carray<std::int32_t>& cls, double ns, double gamma) {
                check_cls(self, cls, 1, "cls");
                check_position(ra, dec);
                const std::int32_t* c = cls.data();
                py::gil_scoped_release release;
                return self.log_lambda(ra, dec, c, ns, gamma);
            },
            py::arg("ra"), py::arg("dec"), py::arg("cls"), py::arg("ns"), py::arg("gamma"),
            "log of the likelihood ratio at (ns, gamma) for the stored events, every term exact (for tests).");
    PYBIND11_NUMPY_DTYPE(FlareFitResult, ts, ns, gamma, t_a, t_b, log_lambda, status, n_eval);

    py::class_<FlareSettings>(m, "FlareSettings", "Settings of the flare search (times in days).")
        .def(py::init([](double gamma_min, double gamma_max, double ns_max, double sigma_min, double sigma_max,
                         std::size_t n_sigma, std::size_t n_seed, std::size_t n_refine, double box_min) {
                 FlareSettings s;
                 s.gamma_min = gamma_min;
                 s.gamma_max = gamma_max;
                 s.ns_max = ns_max;
                 s.sigma_min = sigma_min;
                 s.sigma_max = sigma_max;
                 s.n_sigma = n_sigma;
                 s.n_seed = n_seed;
                 s.n_refine = n_refine;
                 s.box_min = box_min;
                 return s;
             }),
             py::kw_only(), py::arg("gamma_min") = 1.0, py::arg("gamma_max") = 4.0, py::arg("ns_max") = 1000.0,
             py::arg("sigma_min") = 1.0, py::arg("sigma_max") = 0.0, py::arg("n_sigma") = 30, py::arg("n_seed") = 60,
             py::arg("n_refine") = 3, py::arg("box_min") = 0.0)
        .def_readwrite("gamma_min", &FlareSettings::gamma_min)
        .def_readwrite("gamma_max", &FlareSettings::gamma_max)
        .def_readwrite("ns_max", &FlareSettings::ns_max)
        .def_readwrite("sigma_min", &FlareSettings::sigma_min)
        .def_readwrite("sigma_max", &FlareSettings::sigma_max)
        .def_readwrite("n_sigma", &FlareSettings::n_sigma)
        .def_readwrite("n_seed", &FlareSettings::n_seed)
        .def_readwrite("n_refine", &FlareSettings::n_refine)
        .def_readwrite("box_min", &FlareSettings::box_min);

    py::class_<FlareModel>(m, "FlareModel", R"doc(Time-dependent (flare) likelihood of one source and one sample.

See cpp/include/icecore/ps_flare.hpp. t: event times [MJD], each inside a good run; x: (n_gamma, n)
time-independent S/B ratios on the gamma grid gamma0 + k dgamma; n_total: all events of the sample;
run_start/run_stop: sorted disjoint good runs [MJD]. kind: 'gauss', 'box' or 'none'.
)doc")
        .def(py::init(&make_flare), py::kw_only(), py::arg("t"), py::arg("x"), py::arg("gamma0"), py::arg("dgamma"),
             py::arg("n_total"), py::arg("run_start"), py::arg("run_stop"), py::arg("settings"))
        .def_property_readonly("n_events", &FlareModel::n_events, "Number of stored events.")
        .def_property_readonly("livetime", &FlareModel::livetime, "Sum of the good runs [days].")
        .def("live_between", &FlareModel::live_between, py::arg("a"), py::arg("b"), "Live time in [a, b] [days].")
        .def("gauss_norm", &FlareModel::gauss_norm, py::arg("mu"), py::arg("sigma"),
             "Integral of N(mu, sigma) over the good runs.")
        .def(
            "fit",
            [](const FlareModel& self, const std::string& kind) {
                const FlareKind k = flare_kind(kind);
                FlareResults out(1);
                FlareFitResult* r = out.mutable_data();
                py::gil_scoped_release release;
                r[0] = self.fit(k);
                return out;
            },
            py::arg("kind"), (std::string("Global best flare; returns a 1-element ") + kFlareDoc + ".").c_str())
        .def(
            "fit_fixed",
            [](const FlareModel& self, const std::string& kind, double a, double b) {
                const FlareKind k = flare_kind(kind);
                if (!std::isfinite(a) || !std::isfinite(b)) fail("a/b", "must be finite");
                FlareResults out(1);
                FlareFitResult* r = out.mutable_data();
                py::gil_scoped_release release;
                r[0] = self.fit_fixed(k, a, b);
                return out;
            },
            py::arg("kind"), py::arg("a"), py::arg("b"),
            (std::string("Fit ns and gamma with a fixed time PDF (Gaussian mean/width, box start/end); returns a ") +
             kFlareDoc + ".")
                .c_str())
        .def(
            "log_lambda",
            [](const FlareModel& self, const std::string& kind, double a, double b, double ns, double gamma) {
                const FlareKind k = flare_kind(kind);
                py::gil_scoped_release release;
                return self.log_lambda(k, a, b, ns, gamma);
            },
            py::arg("kind"), py::arg("a"), py::arg("b"), py::arg("ns"), py::arg("gamma"),
            "log Lambda at fixed (ns, gamma) and time PDF with the stored times.")
        .def(
            "trials",
            [](const FlareModel& self, const std::string& kind, const carray<std::uint64_t>& seeds, int threads,
               py::object window) {
                const FlareKind k = flare_kind(kind);
                check_threads(threads);
                require_ndim(seeds, 1, "seeds");
                const auto [a, b] = fixed_window(window);
                const auto nt = static_cast<std::size_t>(seeds.size());
                FlareResults out(static_cast<py::ssize_t>(nt));
                FlareFitResult* r = out.mutable_data();
                const std::uint64_t* sd = seeds.data();
                {
                    py::gil_scoped_release release;
                    self.trials_fixed(k, a, b, sd, nt, r, threads);
                }
                return out;
            },
            py::arg("kind"), py::arg("seeds"), py::arg("threads") = 0, py::arg("window") = py::none(),
            (std::string("Background trials, times scrambled uniformly in live time (one uint64 seed each); with "
                         "window=(a, b) the time PDF is fixed instead of searched. Returns a ") +
             kFlareDoc + ".")
                .c_str())
        .def(
            "trials_spatial",
            [](const FlareModel& self, const std::string& kind, const carray<std::uint64_t>& seeds,
               const carray<double>& spatial, int threads, py::object window) {
                const FlareKind k = flare_kind(kind);
                check_threads(threads);
                require_ndim(seeds, 1, "seeds");
                require_ndim(spatial, 2, "spatial");
                if (spatial.shape(0) != seeds.size() ||
                    static_cast<std::size_t>(spatial.shape(1)) != self.n_events())
                    fail("spatial", "must be (len(seeds), n_events)");
                require_finite(spatial, "spatial");
                const auto [a, b] = fixed_window(window);
                const auto nt = static_cast<std::size_t>(seeds.size());
                FlareResults out(static_cast<py::ssize_t>(nt));
                FlareFitResult* r = out.mutable_data();
                const std::uint64_t* sd = seeds.data();
                const double* sp = spatial.data();
                {
                    py::gil_scoped_release release;
                    self.trials_spatial(k, a, b, sp, sd, nt, r, threads);
                }
                return out;
            },
            py::arg("kind"), py::arg("seeds"), py::arg("spatial"), py::arg("threads") = 0,
            py::arg("window") = py::none(),
            (std::string("Background trials whose events also moved in space: trial k uses x * spatial[k] (one "
                         "factor >= 0 per event, e.g. the ratio of the RA-scrambled to the recorded spatial "
                         "signal PDF) and times scrambled as in trials(). Returns a ") +
             kFlareDoc + ".")
                .c_str());

    PYBIND11_NUMPY_DTYPE(StackEvent, ra, dec, sigma, inv_b, efrac, ebin, trial);
    PYBIND11_NUMPY_DTYPE(StackFitResult, ts, ns, gamma, n_injected, status);
    m.attr("STACK_EVENT_DTYPE") = py::dtype::of<StackEvent>();
    py::class_<StackSettings>(m, "StackSettings", "Settings of the stacked fit (angles in rad).")
        .def(py::init([](double gamma_min, double gamma_max, double ns_max, double radius, double band,
                         double gamma_xtol) {
                 StackSettings s;
                 s.gamma_min = gamma_min;
                 s.gamma_max = gamma_max;
                 s.ns_max = ns_max;
                 s.radius = radius;
                 s.band = band;
                 s.gamma_xtol = gamma_xtol;
                 return s;
             }),
             py::kw_only(), py::arg("gamma_min") = 1.0, py::arg("gamma_max") = 4.0, py::arg("ns_max") = 1000.0,
             py::arg("radius") = 0.5235987755982988, py::arg("band") = 0.17453292519943295,
             py::arg("gamma_xtol") = 1e-3)
        .def_readwrite("gamma_min", &StackSettings::gamma_min)
        .def_readwrite("gamma_max", &StackSettings::gamma_max)
        .def_readwrite("ns_max", &StackSettings::ns_max)
        .def_readwrite("radius", &StackSettings::radius)
        .def_readwrite("band", &StackSettings::band)
        .def_readwrite("gamma_xtol", &StackSettings::gamma_xtol);

    py::class_<StackModel>(m, "StackModel", R"doc(Stacked point-source likelihood over K weighted sources.

See cpp/include/icecore/ps_stack.hpp. src_ra, src_dec [rad], weights (> 0); gamma grid gamma0 + q dgamma
(n_gamma nodes). Seasons are added with add_season(events, tables, y): events a STACK_EVENT_DTYPE array,
tables (K, n_gamma, n_e) signal energy tables, y (K, n_gamma) expected events per unit flux.
)doc")
        .def(py::init([](const carray<double>& src_ra, const carray<double>& src_dec, const carray<double>& weights,
                         double gamma0, double dgamma, std::size_t n_gamma, const StackSettings& st) {
                 return StackModel(to_vector(src_ra, "src_ra"), to_vector(src_dec, "src_dec"),
                                   to_vector(weights, "weights"), gamma0, dgamma, n_gamma, st);
             }),
             py::kw_only(), py::arg("src_ra"), py::arg("src_dec"), py::arg("weights"), py::arg("gamma0"),
             py::arg("dgamma"), py::arg("n_gamma"), py::arg("settings"))
        .def_property_readonly("n_seasons", &StackModel::n_seasons, "Seasons added.")
        .def_property_readonly("n_sources", &StackModel::n_sources, "Sources K.")
        .def(
            "add_season",
            [](StackModel& self, const py::object& events, const carray<double>& tables, const carray<double>& y) {
                auto ev = stack_events(events, "events");
                require_ndim(tables, 3, "tables");
                require_ndim(y, 2, "y");
                require_finite(tables, "tables");
                require_finite(y, "y");
                const auto n_e = static_cast<std::size_t>(tables.shape(2));
                std::vector<double> tv(tables.data(), tables.data() + tables.size());
                std::vector<double> yv(y.data(), y.data() + y.size());
                self.add_season(std::move(ev), std::move(tv), n_e, std::move(yv));
            },
            py::arg("events"), py::arg("tables"), py::arg("y"), "Add one season (see the class notes).")
        .def(
            "fit",
            [](const StackModel& self, const py::sequence& ra) {
                auto lists = ra_lists(self, ra);
                std::vector<const double*> ptr;
                for (const auto& v : lists) ptr.push_back(v.data());
                StackResults out(1);
                StackFitResult* r = out.mutable_data();
                py::gil_scoped_release release;
                r[0] = self.fit(ptr);
                return out;
            },
            py::arg("ra"), (std::string("Fit with the given right ascensions [rad] per season; returns a 1-element ") +
                            kStackDoc + ".").c_str())
        .def(
            "log_lambda",
            [](const StackModel& self, const py::sequence& ra, double ns, double gamma) {
                auto lists = ra_lists(self, ra);
                std::vector<const double*> ptr;
                for (const auto& v : lists) ptr.push_back(v.data());
                py::gil_scoped_release release;
                return self.log_lambda(ptr, ns, gamma);
            },
            py::arg("ra"), py::arg("ns"), py::arg("gamma"), "log Lambda(ns, gamma) with the given right ascensions.")
        .def(
            "scramble",
            [](const StackModel& self, std::uint64_t seed) {
                py::list out;
                for (auto& v : self.scramble(seed)) out.append(py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data()));
                return out;
            },
            py::arg("seed"), "The right ascensions [rad] trial `seed` draws, one array per season.")
        .def(
            "trials",
            [](const StackModel& self, const carray<std::uint64_t>& seeds, py::object injected, int threads) {
                check_threads(threads);
                require_ndim(seeds, 1, "seeds");
                std::vector<std::vector<StackEvent>> inj;
                if (!injected.is_none()) {
                    auto seq = py::cast<py::sequence>(injected);
                    if (static_cast<std::size_t>(py::len(seq)) != self.n_seasons())
                        fail("injected", "need one STACK_EVENT_DTYPE array per season");
                    for (std::size_t j = 0; j < self.n_seasons(); ++j) inj.push_back(stack_events(seq[j], "injected"));
                }
                const auto nt = static_cast<std::size_t>(seeds.size());
                StackResults out(static_cast<py::ssize_t>(nt));
                StackFitResult* r = out.mutable_data();
                const std::uint64_t* sd = seeds.data();
                {
                    py::gil_scoped_release release;
                    self.trials(sd, nt, inj, r, threads);
                }
                return out;
            },
            py::arg("seeds"), py::arg("injected") = py::none(), py::arg("threads") = 0,
            (std::string("Trials: right ascensions scrambled (one uint64 seed each), plus per season the injected "
                         "events of each trial (field 'trial', sorted). Returns a ") +
             kStackDoc + ".")
                .c_str());
}

}  // namespace icecore::python
