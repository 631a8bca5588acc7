"""The lme4 formulation of a linear mixed model, for estimates, inference and the bootstrap.

lme4 writes the random effects as b = Λθ u with u ~ N(0, σ² I), where Λθ is a
block-diagonal *relative covariance factor*: for each random-effects term it
repeats, once per level of the grouping factor, a small lower-triangular
matrix T whose entries are the covariance parameters θ (so the term's
covariance matrix is σ² T Tᵀ). For a given θ, the fixed effects β and the
spherical random effects u solve a penalised least-squares problem, and the
(REML) log-likelihood can be written in closed form. lme4 then optimises over
θ alone, with each diagonal entry of T bounded below by zero (Bates, Mächler,
Bolker and Walker 2015, *Journal of Statistical Software* 67(1)).

:class:`LmmEngine` implements that formulation with dense matrices (the
models of this book have at most a few hundred random effects). It is what
``lme_helpers`` uses to check and polish statsmodels' optimum, to compute
standard errors and BLUPs, to judge singular fits as lme4 does, and to refit
quickly in the parametric bootstrap and in likelihood profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize
from scipy.linalg.lapack import dpotrf as _dpotrf
from scipy.linalg.lapack import dtrtrs as _dtrtrs

__all__ = ["Block", "LmmEngine", "Solution", "SINGULAR_TOL"]

SINGULAR_TOL = 1e-4
"""A diagonal element of a relative covariance factor below this is "zero" (lme4's ``isSingular``)."""

_LOG_2PI = np.log(2 * np.pi)


@dataclass(frozen=True)
class Block:
    """One random-effects term: its grouping factor, effects and levels.

    Attributes
    ----------
    group : str
        The grouping factor as lme4 prints it (``school``, ``cask:batch``).
    terms : tuple of str
        The effects, ``"(Intercept)"`` and slope names, in formula order.
    levels : tuple of str
        The levels of the grouping factor, in order.
    """

    group: str
    terms: tuple[str, ...]
    levels: tuple[str, ...]

    @property
    def k(self) -> int:
        """Number of effects per level."""
        return len(self.terms)

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters (the lower triangle of a k×k matrix)."""
        return self.k * (self.k + 1) // 2

    @property
    def q(self) -> int:
        """Number of random effects (columns of Z) in the block."""
        return self.k * len(self.levels)

    def tril(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices of the lower triangle in lme4's (column-major) order."""
        rows, cols = [], []
        for j in range(self.k):
            for i in range(j, self.k):
                rows.append(i)
                cols.append(j)
        return np.array(rows), np.array(cols)

    def parameter_names(self) -> list[str]:
        """Names of the block's parameters on the SD/correlation scale, in θ's order."""
        names = []
        for i, j in zip(*self.tril()):
            if i == j:
                names.append(f"sd({self.terms[i]} | {self.group})")
            else:
                names.append(f"cor({self.terms[j]}, {self.terms[i]} | {self.group})")
        return names


@dataclass
class Solution:
    """The penalised least-squares solution for one θ.

    ``deviance`` is −2 × the log-likelihood (ML) or the REML criterion (REML),
    profiled over β and σ, as lme4's ``deviance`` / ``REMLcrit``.
    """

    theta: np.ndarray
    reml: bool
    beta: np.ndarray
    u: np.ndarray
    pwrss: float
    ldL2: float
    ldRX2: float
    sigma2: float
    deviance: float
    RX: np.ndarray  # lower Cholesky factor of X'V⁻¹X (V relative to σ²)
    L: np.ndarray  # lower Cholesky factor of Λ'Z'ZΛ + I
    Lam: np.ndarray = field(repr=False)


def _chol(A: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor (LAPACK's dpotrf, without SciPy's per-call checks)."""
    c, info = _dpotrf(A, lower=1, clean=1, overwrite_a=0)
    if info != 0:
        raise np.linalg.LinAlgError("matrix is not positive definite")
    return c


def _lower_solve(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    x, info = _dtrtrs(L, b, lower=1, trans=0)
    if info != 0:  # pragma: no cover - a Cholesky factor with a zero pivot
        raise np.linalg.LinAlgError("singular triangular system")
    return x


def _upper_solve(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve Lᵀ x = b for a lower-triangular L."""
    x, info = _dtrtrs(L, b, lower=1, trans=1)
    if info != 0:  # pragma: no cover
        raise np.linalg.LinAlgError("singular triangular system")
    return x


def _tri_solve(a: np.ndarray, b: np.ndarray, lower: bool = True, trans: bool = False) -> np.ndarray:
    return linalg.solve_triangular(a, b, lower=lower, trans=1 if trans else 0, check_finite=False)


def safe_cholesky(S: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Lower Cholesky factor of a positive semi-definite matrix, with zero pivots kept at zero.

    NumPy's Cholesky fails on a singular matrix; a rank-deficient covariance
    matrix (a singular fit) still has a factor with a zero on its diagonal,
    which is what lme4's θ holds.

    Examples
    --------
    >>> safe_cholesky(np.array([[4.0, 2.0], [2.0, 1.0]])).round(6).tolist()
    [[2.0, 0.0], [1.0, 0.0]]
    """
    S = np.asarray(S, dtype=float)
    k = S.shape[0]
    T = np.zeros_like(S)
    scale = max(float(np.max(np.abs(np.diag(S)))), 0.0) if k else 0.0
    for j in range(k):
        d = S[j, j] - T[j, :j] @ T[j, :j]
        if d <= tol * max(scale, 1e-300):
            T[j, j] = 0.0
            continue
        T[j, j] = np.sqrt(d)
        for i in range(j + 1, k):
            T[i, j] = (S[i, j] - T[i, :j] @ T[j, :j]) / T[j, j]
    return T


class LmmEngine:
    """Dense implementation of lme4's profiled deviance for one model.

    Parameters
    ----------
    X : array (n, p)
        Fixed-effects design.
    y : array (n,)
        Response.
    Z : array (n, q)
        Random-effects design, blocks in the order of ``blocks``; within a
        block, columns run level by level (all effects of the first level,
        then of the second, ...), as in lme4.
    blocks : list of Block
    fe_names : list of str
        Names of the columns of X.

    Examples
    --------
    A random intercept for three groups:

    >>> X = np.ones((6, 1)); y = np.array([1., 2, 3, 5, 6, 7.])
    >>> Z = np.kron(np.eye(3), np.ones((2, 1)))
    >>> eng = LmmEngine(X, y, Z, [Block("g", ("(Intercept)",), ("a", "b", "c"))], ["Intercept"])
    >>> theta = eng.optimize(reml=True)
    >>> round(float(eng.solve(theta, reml=True).beta[0]), 3)
    4.0
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, Z: np.ndarray, blocks: list[Block], fe_names: list[str],
                 *, _cross: dict | None = None):
        self.X = np.asarray(X, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.Z = np.asarray(Z, dtype=float)
        self.blocks = list(blocks)
        self.fe_names = list(fe_names)
        self.n, self.p = self.X.shape
        self.q = self.Z.shape[1]
        if sum(b.q for b in self.blocks) != self.q:
            raise ValueError("The random-effects design does not match its blocks.")
        if _cross is None:
            _cross = {"ZtZ": self.Z.T @ self.Z, "ZtX": self.Z.T @ self.X, "XtX": self.X.T @ self.X}
        self._ZtZ, self._ZtX, self._XtX = _cross["ZtZ"], _cross["ZtX"], _cross["XtX"]
        self._Zty = self.Z.T @ self.y
        self._Xty = self.X.T @ self.y
        self._yty = float(self.y @ self.y)
        self._scalar = all(b.k == 1 for b in self.blocks)
        lower = []
        for b in self.blocks:
            r, c = b.tril()
            lower += [0.0 if i == j else -np.inf for i, j in zip(r, c)]
        self.theta_lower = np.array(lower)
        self.n_theta = len(lower)
        # for each diagonal element of θ, the positions of the elements below it in its column of Λ
        self._below_diagonal: dict[int, np.ndarray] = {}
        start = 0
        for b in self.blocks:
            r, c = b.tril()
            for d in np.flatnonzero(r == c):
                self._below_diagonal[start + d] = start + np.flatnonzero((c == c[d]) & (r > r[d]))
            start += b.n_theta

    # ----- construction helpers -------------------------------------------
    def with_response(self, y: np.ndarray) -> LmmEngine:
        """The same design with another response (for simulation and the bootstrap)."""
        return LmmEngine(self.X, y, self.Z, self.blocks, self.fe_names,
                         _cross={"ZtZ": self._ZtZ, "ZtX": self._ZtX, "XtX": self._XtX})

    def without_fixed(self, j: int, value: float) -> LmmEngine:
        """Fix the j-th fixed effect at ``value`` (as an offset) and drop it from X."""
        keep = [k for k in range(self.p) if k != j]
        y = self.y - value * self.X[:, j]
        return LmmEngine(self.X[:, keep], y, self.Z, self.blocks, [self.fe_names[k] for k in keep],
                         _cross={"ZtZ": self._ZtZ, "ZtX": self._ZtX[:, keep], "XtX": self._XtX[np.ix_(keep, keep)]})

    # ----- θ and the covariance matrices ------------------------------------
    def block_factors(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lower-triangular factor T of each block."""
        out, pos = [], 0
        for b in self.blocks:
            T = np.zeros((b.k, b.k))
            r, c = b.tril()
            T[r, c] = theta[pos:pos + b.n_theta]
            out.append(T)
            pos += b.n_theta
        return out

    def lam(self, theta: np.ndarray) -> np.ndarray:
        """Λθ as a dense q × q matrix."""
        parts = [np.kron(np.eye(len(b.levels)), T) for b, T in zip(self.blocks, self.block_factors(theta))]
        return linalg.block_diag(*parts) if parts else np.zeros((0, 0))

    def _lam_diag(self, theta: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full(len(b.levels), t) for b, t in zip(self.blocks, theta)])

    def theta_from_covariances(self, covs: list[np.ndarray], sigma2: float) -> np.ndarray:
        """θ from each block's covariance matrix and the residual variance."""
        theta = []
        for b, S in zip(self.blocks, covs):
            T = safe_cholesky(np.asarray(S, dtype=float) / sigma2)
            r, c = b.tril()
            theta.extend(T[r, c])
        return np.array(theta)

    def covariances(self, theta: np.ndarray, sigma2: float) -> list[np.ndarray]:
        """Each block's covariance matrix σ² T Tᵀ."""
        return [sigma2 * T @ T.T for T in self.block_factors(theta)]

    def singular(self, theta: np.ndarray, tol: float = SINGULAR_TOL) -> bool:
        """lme4's ``isSingular``: a diagonal element of some T is below ``tol``."""
        return bool(np.any(np.asarray(theta)[self.theta_lower == 0] < tol))

    # ----- the deviance -------------------------------------------------------
    def solve(self, theta: np.ndarray, reml: bool) -> Solution:
        """Penalised least squares at θ: β̂(θ), û(θ), σ̂²(θ) and the profiled deviance."""
        theta = np.asarray(theta, dtype=float)
        if self._scalar:
            d = self._lam_diag(theta)
            Lam = np.diag(d)
            A = self._ZtZ * np.outer(d, d)
            LtZtX = d[:, None] * self._ZtX
            LtZty = d * self._Zty
        else:
            Lam = self.lam(theta)
            A = Lam.T @ self._ZtZ @ Lam
            LtZtX = Lam.T @ self._ZtX
            LtZty = Lam.T @ self._Zty
        A[np.diag_indices_from(A)] += 1.0
        L = _chol(A)
        cu = _lower_solve(L, LtZty)
        if self.p:
            RZX = _lower_solve(L, LtZtX)
            RX = _chol(self._XtX - RZX.T @ RZX)
            cb = _lower_solve(RX, self._Xty - RZX.T @ cu)
            beta = _upper_solve(RX, cb)
            u = _upper_solve(L, cu - RZX @ beta)
        else:  # every fixed effect is held at a given value (a profile of the intercept-only model)
            RX, cb, beta = np.zeros((0, 0)), np.zeros(0), np.zeros(0)
            u = _upper_solve(L, cu)
        pwrss = float(self._yty - cu @ cu - cb @ cb)
        if not pwrss > 1e-10 * self._yty:  # cancellation: compute the residuals themselves
            resid = self.y - self.X @ beta - self.Z @ (Lam @ u)
            pwrss = float(resid @ resid + u @ u)
        ldL2 = 2.0 * float(np.sum(np.log(np.diag(L))))
        ldRX2 = 2.0 * float(np.sum(np.log(np.diag(RX))))
        if reml:
            nmp = self.n - self.p
            dev = ldL2 + ldRX2 + nmp * (1.0 + _LOG_2PI + np.log(pwrss / nmp))
            sigma2 = pwrss / nmp
        else:
            dev = ldL2 + self.n * (1.0 + _LOG_2PI + np.log(pwrss / self.n))
            sigma2 = pwrss / self.n
        return Solution(theta=theta, reml=reml, beta=beta, u=u, pwrss=pwrss, ldL2=ldL2, ldRX2=ldRX2,
                        sigma2=sigma2, deviance=float(dev), RX=RX, L=L, Lam=Lam)

    def deviance(self, theta: np.ndarray, reml: bool) -> float:
        """The profiled deviance (ML) or REML criterion; +inf where it cannot be evaluated."""
        try:
            return self.solve(theta, reml).deviance
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return np.inf

    def deviance_varpar(self, varpar: np.ndarray, reml: bool) -> float:
        """Deviance as a function of (θ, σ), profiled over β only (lmerTest's ``devfun_vp``)."""
        theta, sigma = np.asarray(varpar[:-1], dtype=float), float(varpar[-1])
        s = self.solve(theta, reml)
        sigma2 = sigma * sigma
        dev = s.ldL2 + s.pwrss / sigma2 + self.n * (_LOG_2PI + np.log(sigma2))
        if reml:
            dev += s.ldRX2 - self.p * (_LOG_2PI + np.log(sigma2))
        return float(dev)

    def vcov_beta(self, varpar: np.ndarray, reml: bool = True) -> np.ndarray:
        """Var(β̂) = σ² (X'V⁻¹X)⁻¹ at (θ, σ) (lmerTest's ``get_covbeta``)."""
        s = self.solve(np.asarray(varpar[:-1], dtype=float), reml)
        RXinv = _tri_solve(s.RX, np.eye(self.p))
        return float(varpar[-1]) ** 2 * (RXinv.T @ RXinv)

    def conditional_variances(self, sol: Solution) -> np.ndarray:
        """Diagonal of Var(b | y) = σ² Λ (Λ'Z'ZΛ + I)⁻¹ Λ' (lme4's ``condVar``)."""
        Linv_Lt = _tri_solve(sol.L, sol.Lam.T)
        return sol.sigma2 * np.sum(Linv_Lt * Linv_Lt, axis=0)

    # ----- optimisation -------------------------------------------------------
    def default_start(self) -> np.ndarray:
        """lme4's starting value: identity factors."""
        return np.where(self.theta_lower == 0, 1.0, 0.0)

    def optimize(self, reml: bool, start: np.ndarray | None = None) -> np.ndarray:
        """Minimise the profiled deviance over θ, with lme4's bounds (diagonal ≥ 0).

        Bounded L-BFGS-B from ``start`` (lme4's default start when omitted),
        followed by a bounded Powell search and a second L-BFGS-B; returns the
        best θ found.
        """
        start = self.default_start() if start is None else np.asarray(start, dtype=float).copy()
        start = np.where(self.theta_lower == 0, np.maximum(start, 0.0), start)
        bounds = [(lo if np.isfinite(lo) else None, None) for lo in self.theta_lower]

        def f(t):
            return self.deviance(t, reml)

        best_t, best_f = start, f(start)
        for _ in range(4):
            for method, opts in (("L-BFGS-B", {"ftol": 1e-15, "gtol": 1e-9, "maxiter": 2000}),
                                 ("Powell", {"xtol": 1e-8, "ftol": 1e-14, "maxiter": 20000}),
                                 ("L-BFGS-B", {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})):
                try:
                    res = optimize.minimize(f, best_t, method=method, bounds=bounds, options=opts)
                except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
                    continue
                if np.isfinite(res.fun) and res.fun < best_f:
                    best_t, best_f = np.asarray(res.x, dtype=float), float(res.fun)
            best_t = np.where(self.theta_lower == 0, np.maximum(best_t, 0.0), best_t)
            escape = self._off_the_boundary(best_t, f)
            if escape is None:
                break
            best_t, best_f = escape, f(escape)
        return best_t

    def quick_optimize(self, reml: bool, start: np.ndarray) -> np.ndarray:
        """One bounded search from a good start (the bootstrap's refits).

        A single covariance parameter is found by Brent's method on an
        interval around the start; several by bounded L-BFGS-B.
        """
        if self.n_theta == 1 and self.theta_lower[0] == 0:
            t0 = max(float(np.asarray(start).ravel()[0]), 1e-3)
            upper = 4 * t0 + 1.0
            for _ in range(6):
                res = optimize.minimize_scalar(lambda t: self.deviance(np.array([t]), reml), bounds=(0.0, upper),
                                               method="bounded", options={"xatol": 1e-9 * max(1.0, t0)})
                if res.x < 0.9 * upper:
                    break
                upper *= 4
            theta = np.array([float(res.x)])
            # Brent's bounded search never evaluates the bound itself: try the boundary (a singular fit)
            if self.deviance(np.zeros(1), reml) <= res.fun:
                theta = np.zeros(1)
            return theta
        bounds = [(lo if np.isfinite(lo) else None, None) for lo in self.theta_lower]

        def f(t):
            return self.deviance(t, reml)

        theta = np.asarray(start, dtype=float)
        for _ in range(4):
            res = optimize.minimize(f, theta, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-8})
            theta = np.where(self.theta_lower == 0, np.maximum(res.x, 0.0), res.x)
            escape = self._off_the_boundary(theta, f)
            if escape is None:
                break
            theta = escape
        return theta

    def _off_the_boundary(self, theta: np.ndarray, f) -> np.ndarray | None:
        """A better point just off the boundary, when a diagonal element of θ sits at zero.

        A search can stop at such a point for two reasons. When the element is
        the only one in its column of Λ, the deviance depends on it through its
        square, so zero is a stationary point even when a positive value is
        better. When the column has elements below the diagonal, their signs can
        be wrong: with the diagonal at zero, changing the sign of the whole
        column leaves ΛΛᵀ (and the deviance) as it is, but the better direction
        may lie on the other side. Probing a few positive values of the
        element, with the column's other elements as they are and with their
        signs changed, finds out.
        """
        f0 = f(theta)
        for i in np.flatnonzero((self.theta_lower == 0) & (theta < 1e-6)):
            below = self._below_diagonal[i]
            for sign in (1.0, -1.0) if below.size else (1.0,):
                for step in (1e-3, 1e-2, 0.1, 0.5, 1.0):
                    probe = theta.copy()
                    probe[below] *= sign
                    probe[i] = step
                    if f(probe) < f0 - 1e-10:
                        return probe
        return None

    def is_optimum(self, theta: np.ndarray, reml: bool, step: float = 1e-4, tol: float = 1e-6) -> bool:
        """True when no small step in any θ (or pair of θ) lowers the deviance by more than ``tol``.

        Steps may take a diagonal element below zero: the deviance there equals
        the deviance at a feasible θ (the same Λ with that column's signs
        changed), so a boundary point that a sign change would improve is not
        called an optimum.
        """
        theta = np.asarray(theta, dtype=float)
        f0 = self.deviance(theta, reml)
        if not np.isfinite(f0):
            return False
        m = len(theta)
        directions = [np.eye(m)[i] * s for i in range(m) for s in (1.0, -1.0)]
        for i in range(m):
            for j in range(i + 1, m):
                for si in (1.0, -1.0):
                    for sj in (1.0, -1.0):
                        d = np.zeros(m)
                        d[i], d[j] = si, sj
                        directions.append(d / np.sqrt(2))
        scale = np.maximum(np.abs(theta), 0.1)
        for d in directions:
            probe = theta + step * d * scale
            if self.deviance(probe, reml) < f0 - tol:
                return False
        return True


def design_from_frame(frame: pd.DataFrame, terms: list[tuple[str, tuple[str, ...], pd.Series]]
                      ) -> tuple[np.ndarray, list[Block]]:
    """Z and its blocks from (group name, effects, level labels) triples, in lme4's term order.

    lme4 sorts the terms by decreasing number of levels when the number of
    levels ever increases from one term to the next (ties then come in reverse
    order, as R's ``rev(order(nl))`` gives).
    """
    built = []
    for group, effects, labels in terms:
        labels = pd.Series(labels).reset_index(drop=True)
        if isinstance(labels.dtype, pd.CategoricalDtype):
            cats = [str(c) for c in labels.cat.categories if (labels == c).any()]
            codes_map = {c: i for i, c in enumerate(cats)}
            lab = labels.astype(str)
        else:
            lab = labels.astype(str)
            cats = sorted(lab.unique())
            codes_map = {c: i for i, c in enumerate(cats)}
        codes = lab.map(codes_map).to_numpy()
        k = len(effects)
        Zb = np.zeros((len(frame), k * len(cats)))
        rows = np.arange(len(frame))
        for e, name in enumerate(effects):
            values = np.ones(len(frame)) if name == "(Intercept)" else frame[name].to_numpy(dtype=float)
            Zb[rows, codes * k + e] = values
        built.append((Block(group, tuple(effects), tuple(cats)), Zb))
    nl = [len(b.levels) for b, _ in built]
    if any(b > a for a, b in zip(nl, nl[1:])):
        order = list(reversed(sorted(range(len(nl)), key=lambda i: nl[i])))
        built = [built[i] for i in order]
    Z = np.hstack([z for _, z in built]) if built else np.zeros((len(frame), 0))
    return Z, [b for b, _ in built]
