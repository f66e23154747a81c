"""Background test-statistic distributions from trials, in bounded memory.

A :class:`BackgroundTS` accumulates trial TS values (from scrambled skies or RA-scrambled data)
in a fixed-width histogram plus the largest ``tail_size`` values kept exactly. Its p-value of an
observed TS is the empirical exceedance fraction while at least ``min_count`` trials exceed it,
and a fitted tail beyond that (where the trials run out):

- ``tail="chi2"``: P(TS > x) = eta * chi2.sf(x, k) with eta the fraction of trials above
  ``zero_ts`` and k fitted by maximum likelihood to the non-zero trials (binned likelihood on
  the histogram, exact values in the tail) — the usual description of likelihood-ratio TS
  with a boundary at ns = 0 (Wilks/Chernoff: eta ~ 0.5, k ~ 1-2);
- ``tail="exponential"``: P(TS > x) = P(TS > x0) exp(-(x - x0) / lambda), fitted to the
  exactly stored upper tail above x0 (its smallest stored value).

:func:`effective_trials` estimates the effective number of independent trials from a sample of
local p-values of scrambled maxima.

Memory: O(range / bin_width + tail_size) floats whatever the number of trials.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np
from scipy import optimize, stats

from .._validation import as_array, check_positive
from ..errors import FitError, InputError

__all__ = ["BackgroundTS", "effective_trials"]


class BackgroundTS:
    """Bounded-memory background TS distribution with a fitted tail.

    Parameters
    ----------
    bin_width : float
        Histogram bin width in TS units (default 0.05).
    tail_size : int
        Number of largest TS values kept exactly (default 10 000).
    zero_ts : float
        TS values <= this count as "zero" (the ns = 0 boundary; default 1e-8).
    min_count : int
        Minimum number of exceeding trials for the empirical p-value; fewer -> fitted tail.
    tail : {"chi2", "exponential"}
        Model used beyond the trials.

    NaN policy: NaN or infinite TS values in :meth:`add` raise; nothing is added from that call.
    """

    def __init__(
        self,
        *,
        bin_width: float = 0.05,
        tail_size: int = 10_000,
        zero_ts: float = 1e-8,
        min_count: int = 10,
        tail: str = "chi2",
    ) -> None:
        self.bin_width = float(check_positive(bin_width, "bin_width"))
        self.tail_size = int(check_positive(tail_size, "tail_size", integer=True))
        self.min_count = int(check_positive(min_count, "min_count", integer=True))
        if tail not in ("chi2", "exponential"):
            raise InputError(f"argument 'tail': must be 'chi2' or 'exponential', got {tail!r}", "tail")
        self.tail = tail
        self.zero_ts = float(zero_ts)
        self.n = 0
        self.n_zero = 0
        self._bins: dict[int, int] = {}
        self._top: list[float] = []  # min-heap of the largest values
        self._fit: dict[str, Any] | None = None

    # -- accumulation --------------------------------------------------------------------------
    def add(self, ts: Any) -> BackgroundTS:
        """Add trial TS values (scalar or array). Returns self."""
        arr = as_array(ts, "ts", allow_empty=True).ravel()
        if arr.size == 0:
            return self
        self.n += int(arr.size)
        zero = arr <= self.zero_ts
        self.n_zero += int(np.count_nonzero(zero))
        idx = np.floor(arr / self.bin_width).astype(np.int64)
        keys, counts = np.unique(idx, return_counts=True)
        for k, c in zip(keys.tolist(), counts.tolist()):
            self._bins[k] = self._bins.get(k, 0) + c
        # keep the largest values exactly
        cand = arr if arr.size <= self.tail_size else np.partition(arr, arr.size - self.tail_size)[-self.tail_size :]
        self._keep_largest(cand.tolist())
        return self

    def _keep_largest(self, values: list[float]) -> None:
        """Merge values into the min-heap of the ``tail_size`` largest trials."""
        for v in values:
            if len(self._top) < self.tail_size:
                heapq.heappush(self._top, v)
            elif v > self._top[0]:
                heapq.heapreplace(self._top, v)
        self._fit = None

    def merge(self, other: BackgroundTS) -> BackgroundTS:
        """Add the trials of another distribution with the same bin width (parallel workers)."""
        if not isinstance(other, BackgroundTS) or other.bin_width != self.bin_width:
            raise InputError("argument 'other': must be a BackgroundTS with the same bin_width", "other")
        self.n += other.n
        self.n_zero += other.n_zero
        for k, c in other._bins.items():
            self._bins[k] = self._bins.get(k, 0) + c
        self._keep_largest(list(other._top))
        return self

    # -- empirical quantities -------------------------------------------------------------------
    @property
    def eta(self) -> float:
        """Fraction of trials with TS > zero_ts."""
        return (self.n - self.n_zero) / self.n if self.n else float("nan")

    def _exact_all(self) -> bool:
        return self.n <= self.tail_size

    def _tail_sorted(self) -> np.ndarray:
        return np.sort(np.asarray(self._top, dtype=float))

    def count_above(self, ts: float) -> float:
        """Number of trials with TS >= ts (exact in the stored tail, interpolated in a bin)."""
        top = self._tail_sorted()
        if self._exact_all() or (top.size and ts >= top[0]):
            return float(top.size - np.searchsorted(top, ts, side="left"))
        k = math.floor(ts / self.bin_width)
        frac_in_bin = 1.0 - (ts / self.bin_width - k)
        above = sum(c for b, c in self._bins.items() if b > k)
        return above + frac_in_bin * self._bins.get(k, 0)

    def _check_ready(self) -> None:
        if self.n == 0:
            raise InputError("BackgroundTS has no trials yet (call add())", "ts")

    def pvalue(self, ts: Any, *, method: str = "auto"):
        """p-value P(TS >= ts) of observed TS value(s).

        Parameters
        ----------
        ts : float or array_like
        method : {"auto", "empirical", "fit"}
            "auto": empirical while >= ``min_count`` trials exceed ts, else the fitted tail.
        """
        self._check_ready()
        arr = as_array(ts, "ts", allow_empty=True)
        if method not in ("auto", "empirical", "fit"):
            raise InputError(f"argument 'method': unknown {method!r}", "method")
        out = np.empty(arr.shape, dtype=float)
        for i, x in np.ndenumerate(arr):
            c = self.count_above(float(x))
            if method == "empirical" or (method == "auto" and c >= self.min_count):
                out[i] = c / self.n
            else:
                out[i] = self._tail_sf(float(x))
        return float(out) if np.ndim(ts) == 0 else out

    def median(self) -> float:
        """Median background TS (the reference for sensitivities)."""
        return self.ts_at_pvalue(0.5)

    def ts_at_pvalue(self, p: float) -> float:
        """TS threshold with P(TS >= threshold) = p (e.g. the 5 sigma discovery threshold).

        Empirical where ``p * n >= min_count`` (and the stored tail or histogram resolves it),
        from the fitted tail otherwise.
        """
        self._check_ready()
        if not 0 < p < 1:
            raise InputError("argument 'p': must be in (0, 1)", "p")
        need = p * self.n
        top = self._tail_sorted()
        if need >= self.min_count:
            if need <= top.size and top.size:
                # k-th largest value with k = need (exactly stored)
                k = max(1, int(round(need)))
                if k <= top.size and (self._exact_all() or k < top.size):
                    return float(top[top.size - k])
            # walk the histogram from the top
            acc = 0.0
            for b in sorted(self._bins, reverse=True):
                c = self._bins[b]
                if acc + c >= need:
                    frac = (need - acc) / c
                    return float((b + 1 - frac) * self.bin_width)
                acc += c
            return float(min(self._bins) * self.bin_width)
        return self._tail_isf(p)

    # -- tail fits ------------------------------------------------------------------------------
    def fit_tail(self) -> dict[str, Any]:
        """Fit the tail model; returns its parameters (cached until more trials are added)."""
        self._check_ready()
        if self._fit is not None:
            return self._fit
        if self.tail == "chi2":
            self._fit = self._fit_chi2()
        else:
            self._fit = self._fit_exponential()
        return self._fit

    def _fit_chi2(self) -> dict[str, Any]:
        n_nonzero = self.n - self.n_zero
        if n_nonzero < 5:
            raise FitError(f"chi2 tail fit needs >= 5 non-zero trials, have {n_nonzero}")
        top = self._tail_sorted()
        top = top[top > self.zero_ts]
        if self._exact_all():
            xs = top

            def nll(k: float) -> float:
                return -float(np.sum(stats.chi2.logpdf(xs, k)))
        else:
            # binned likelihood below the exact tail, exact values inside it
            x0 = top[0]
            k0 = math.floor(x0 / self.bin_width)
            edges, counts = [], []
            for b in sorted(self._bins):
                if b >= k0:
                    break
                lo = max(b * self.bin_width, self.zero_ts)
                hi = (b + 1) * self.bin_width
                c = self._bins[b]
                if b * self.bin_width <= self.zero_ts:
                    c -= self.n_zero  # zeros live in the first bin
                if c > 0 and hi > lo:
                    edges.append((lo, hi))
                    counts.append(c)
            lo_arr = np.array([e[0] for e in edges])
            hi_arr = np.array([e[1] for e in edges])
            cnt = np.array(counts, dtype=float)
            # values between the last full bin edge and x0 are not in either set: account for
            # them as one interval [k0 * w, x0)
            n_mid = n_nonzero - cnt.sum() - top.size
            mid_lo = k0 * self.bin_width

            def nll(k: float) -> float:
                ll = np.sum(cnt * np.log(np.clip(stats.chi2.cdf(hi_arr, k) - stats.chi2.cdf(lo_arr, k), 1e-300, None)))
                if n_mid > 0:
                    ll += n_mid * math.log(max(stats.chi2.cdf(x0, k) - stats.chi2.cdf(mid_lo, k), 1e-300))
                ll += float(np.sum(stats.chi2.logpdf(top, k)))
                return -float(ll)

        res = optimize.minimize_scalar(nll, bounds=(0.05, 50.0), method="bounded", options={"xatol": 1e-6})
        if not res.success:
            raise FitError(f"chi2 tail fit did not converge: {res.message}")
        return {"model": "chi2", "eta": self.eta, "ndof": float(res.x), "n_trials": float(self.n)}

    def _fit_exponential(self) -> dict[str, Any]:
        top = self._tail_sorted()
        top = top[top > self.zero_ts]
        if top.size < 5:
            raise FitError(f"exponential tail fit needs >= 5 non-zero tail values, have {top.size}")
        # fit to the upper part of the stored values (the largest min(tail, 10 %) of non-zero trials)
        m = max(5, min(top.size, int(0.1 * (self.n - self.n_zero)) or 5))
        sel = top[-m:]
        x0 = float(sel[0])
        lam = float(np.mean(sel - x0)) * m / max(m - 1, 1)  # unbiased for the shifted exponential
        if not lam > 0:
            raise FitError("exponential tail fit: degenerate tail (all values equal)")
        return {"model": "exponential", "x0": x0, "p0": m / self.n, "scale": lam, "n_trials": float(self.n)}

    def tail_curve(self, ts: Any) -> np.ndarray:
        """Survival function P(TS' >= ts) of the fitted tail model alone (for plots and checks).

        ``tail="chi2"``: ``eta * chi2.sf(ts, ndof)`` at every ts; ``tail="exponential"``:
        ``p0 * exp(-(ts - x0) / scale)`` above x0 and NaN below it (the model describes only the
        stored upper tail). Unlike :meth:`pvalue`, the trials themselves are not used.

        Raises
        ------
        FitError
            If the tail cannot be fitted (see :meth:`fit_tail`).
        """
        f = self.fit_tail()
        x = as_array(ts, "ts", allow_empty=True)
        if f["model"] == "chi2":
            return f["eta"] * stats.chi2.sf(x, f["ndof"])
        return np.where(x > f["x0"], f["p0"] * np.exp(-(x - f["x0"]) / f["scale"]), np.nan)

    @property
    def max_ts(self) -> float:
        """Largest trial TS added so far (NaN before any trial)."""
        return float(max(self._top)) if self._top else float("nan")

    def _tail_sf(self, x: float) -> float:
        f = self.fit_tail()
        if f["model"] == "chi2":
            if x <= self.zero_ts:
                return 1.0
            return float(f["eta"] * stats.chi2.sf(x, f["ndof"]))
        if x <= f["x0"]:
            return float(self.count_above(x) / self.n)
        return float(f["p0"] * math.exp(-(x - f["x0"]) / f["scale"]))

    def _tail_isf(self, p: float) -> float:
        f = self.fit_tail()
        if f["model"] == "chi2":
            return float(stats.chi2.isf(p / f["eta"], f["ndof"]))
        return float(f["x0"] + f["scale"] * math.log(f["p0"] / p))

    def __repr__(self) -> str:
        return f"BackgroundTS(n={self.n}, eta={self.eta:.3g}, tail={self.tail!r})"


def effective_trials(local_p_of_maxima: Any) -> tuple[float, float]:
    """Effective number of independent trials from scrambled maxima.

    For each scrambled (background) sky the smallest local p-value p_min is recorded. If the
    sky behaves like N independent trials, P(p_min <= p) = 1 - (1 - p)^N, whose maximum
    likelihood estimate is N = -n / sum(log1p(-p_min_i)).

    Returns
    -------
    n_eff, error : float
        Estimate and its standard error (N / sqrt(n)).
    """
    p = as_array(local_p_of_maxima, "local_p_of_maxima", ndim=1)
    if np.any((p <= 0) | (p >= 1)):
        raise InputError("argument 'local_p_of_maxima': p-values must be in (0, 1)", "local_p_of_maxima")
    n = p.size
    n_eff = -n / float(np.sum(np.log1p(-p)))
    return n_eff, n_eff / math.sqrt(n)
