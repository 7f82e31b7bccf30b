// CPU solver for solve_alpha: Jacobi-preconditioned CG on the unknown band.
//
// Layout. The unknown pixels U get compact indices 0..nu-1 (row-major, grouped in row runs); each
// keeps its row of L as a 5x5 stencil (25 doubles, contiguous per pixel). The vector the stencil
// reads lives on the bounding box of the band (grown by 2), so a pixel's neighbours are at fixed
// offsets: five contiguous stretches of five. Windows are built only where they touch an unknown
// pixel, so set-up and every iteration cost in proportion to the band, not the image.
//
// Threads. The whole CG loop runs inside one team of threads (parallel_for over thread ids)
// that meet at a barrier between the passes, instead of starting threads for every pass:
// a solve takes a few hundred short passes.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "../../common/error.hpp"
#include "../../common/parallel.hpp"
#include "../../common/simd.hpp"
#include "solve_alpha.hpp"
#include "solve_alpha_pixel.hpp"

namespace alphacut {

namespace {

// A reusable barrier for a fixed team: spin briefly, then yield (the machine may be shared).
class TeamBarrier {
public:
    explicit TeamBarrier(int n) : n_(n) {}
    void wait() {
        if (n_ <= 1) return;
        const int gen = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
            arrived_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_acq_rel);
            return;
        }
        int spins = 0;
        while (generation_.load(std::memory_order_acquire) == gen) {
            if (++spins > 256) std::this_thread::yield();
        }
    }

private:
    const int n_;
    std::atomic<int> arrived_{0};
    std::atomic<int> generation_{0};
};

struct Range {
    int lo, hi;
};
Range split(int n, int t, int threads) {
    return {static_cast<int>(static_cast<long long>(n) * t / threads),
            static_cast<int>(static_cast<long long>(n) * (t + 1) / threads)};
}

constexpr int kNone = -1;
// Working precision of the stencil and the CG vectors (see matting_window for why not float).
using Real = double;
constexpr int kStencil = 25;  // 5x5 neighbourhood: the reach of two overlapping 3x3 windows

// A row-run of unknown pixels: compact indices i0..i0+n-1 sit at grid cells g0..g0+n-1.
struct Run {
    int i0, g0, n;
};

// The band problem on the bounding box of the unknown pixels (grown by 2).
struct Band {
    int y0 = 0, x0 = 0, bh = 0, bw = 0;
    int nu = 0;
    int nw = 0;                  // windows touching an unknown pixel
    std::vector<int> py, px;     // image position of each unknown
    std::vector<int> gpos;       // grid cell of each unknown
    std::vector<Run> runs;
    std::vector<Real> coef;     // nu * kStencil: coef[i * kStencil + o] = L_{i, i + off[o]}
    int off[kStencil];
    std::size_t cell(int y, int x) const { return static_cast<std::size_t>(y - y0) * bw + (x - x0); }
};

void check_shapes(ImageView<const float> image, ImageView<const unsigned char> trimap, ImageView<const float> prior,
                  ImageView<float> out) {
    ALPHACUT_CHECK(image.height > 0 && image.width > 0,
                   "image is empty (" << image.height << " x " << image.width << ")");
    ALPHACUT_CHECK(image.channels == 3, "image must have 3 channels, got " << image.channels);
    ALPHACUT_CHECK(trimap.height == image.height && trimap.width == image.width && trimap.channels == 1,
                   "trimap has shape (" << trimap.height << ", " << trimap.width << ", " << trimap.channels
                                        << "), expected (" << image.height << ", " << image.width << ")");
    if (prior.data)
        ALPHACUT_CHECK(prior.height == image.height && prior.width == image.width && prior.channels == 1,
                       "prior has shape (" << prior.height << ", " << prior.width << ", " << prior.channels
                                           << "), expected (" << image.height << ", " << image.width << ")");
    ALPHACUT_CHECK(out.height == image.height && out.width == image.width && out.channels == 1,
                   "out has shape (" << out.height << ", " << out.width << "), expected (" << image.height << ", "
                                     << image.width << ")");
}

// Unknown pixels, windows and the stencil rows of L. Returns false when nothing is unknown.
bool build_band(ImageView<const float> image, ImageView<const unsigned char> trimap, float eps, Band& b) {
    const int H = image.height, W = image.width;
    int y0 = H, y1 = -1, x0 = W, x1 = -1;
    for (int y = 0; y < H; ++y) {
        const unsigned char* t = trimap.row(y);
        int lo = -1, hi = -1;
        for (int x = 0; x < W; ++x)
            if (trimap_is_unknown(t[x])) {
                if (lo < 0) lo = x;
                hi = x;
            }
        if (lo >= 0) {
            y0 = std::min(y0, y);
            y1 = y;
            x0 = std::min(x0, lo);
            x1 = std::max(x1, hi);
        }
    }
    if (y1 < 0) return false;
    // The grid reaches 2 cells past the unknown pixels on every side, past the image border too:
    // the stencil of a border pixel reads those cells (with zero coefficients), so they must exist
    // and hold 0. Loops over image pixels clip to the image.
    b.y0 = y0 - 2;
    b.x0 = x0 - 2;
    b.bh = y1 - y0 + 5;
    b.bw = x1 - x0 + 5;
    y0 = std::max(0, y0 - 2);
    y1 = std::min(H - 1, y1 + 2);
    x0 = std::max(0, x0 - 2);
    x1 = std::min(W - 1, x1 + 2);
    for (int dy = -2, o = 0; dy <= 2; ++dy)
        for (int dx = -2; dx <= 2; ++dx, ++o) b.off[o] = dy * b.bw + dx;

    // Unknown pixels in row-major order, grouped into runs.
    for (int y = y0; y <= y1; ++y) {
        const unsigned char* t = trimap.row(y);
        for (int x = x0; x <= x1; ++x) {
            if (!trimap_is_unknown(t[x])) continue;
            const int g = static_cast<int>(b.cell(y, x));
            if (!b.runs.empty() && b.runs.back().g0 + b.runs.back().n == g)
                ++b.runs.back().n;
            else
                b.runs.push_back({b.nu, g, 1});
            b.py.push_back(y);
            b.px.push_back(x);
            b.gpos.push_back(g);
            ++b.nu;
        }
    }
    // Windows: interior centres within one pixel of an unknown one.
    const std::size_t area = static_cast<std::size_t>(b.bh) * b.bw;
    std::vector<int> win(area, kNone);
    for (int i = 0; i < b.nu; ++i)
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx) {
                const int cy = b.py[i] + dy, cx = b.px[i] + dx;
                if (cy >= 1 && cy <= H - 2 && cx >= 1 && cx <= W - 2) win[b.cell(cy, cx)] = 0;
            }
    std::vector<int> wy, wx;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
            int& k = win[b.cell(y, x)];
            if (k == kNone) continue;
            k = static_cast<int>(wy.size());
            wy.push_back(y);
            wx.push_back(x);
        }
    const int nw = b.nw = static_cast<int>(wy.size());
    std::vector<MattingWindow<Real>> window(nw);
    parallel_for(0, nw, [&](int lo, int hi) {
        float c[3 * kMattingWindowPixels];
        for (int k = lo; k < hi; ++k) {
            for (int dy = -1, j = 0; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx, ++j) {
                    const float* p = &image.at(wy[k] + dy, wx[k] + dx);
                    c[3 * j] = p[0];
                    c[3 * j + 1] = p[1];
                    c[3 * j + 2] = p[2];
                }
            window[k] = matting_window<Real>(c, eps);
        }
    }, 1024);
    // Stencil rows: L_ij = sum over the windows k holding i (and j) of matting_stencil_term.
    const std::size_t nu = static_cast<std::size_t>(b.nu);
    b.coef.assign(kStencil * nu, Real(0));
    parallel_for(0, b.nu, [&](int lo, int hi) {
        for (int i = lo; i < hi; ++i) {
            const int y = b.py[i], x = b.px[i];
            const float* ci = &image.at(y, x);
            for (int cy = y - 1; cy <= y + 1; ++cy)
                for (int cx = x - 1; cx <= x + 1; ++cx) {
                    if (cy < 1 || cy > H - 2 || cx < 1 || cx > W - 2) continue;
                    const MattingWindow<Real>& w = window[win[b.cell(cy, cx)]];
                    Real u[3];
                    matting_whiten(w, ci, u);
                    for (int jy = cy - 1; jy <= cy + 1; ++jy)
                        for (int jx = cx - 1; jx <= cx + 1; ++jx) {
                            const int o = (jy - y + 2) * 5 + (jx - x + 2);
                            b.coef[i * kStencil + o] +=
                                matting_stencil_term(w, u, &image.at(jy, jx), jy == y && jx == x);
                        }
                }
        }
    }, 1024);
    return true;
}

// q = (L_UU + Lambda) p on one run (Lambda is folded into the centre coefficient), p read from
// the grid (row length bw); returns sum p.q.
ALPHACUT_SIMD_CLONES double stencil_run(const Real* coef, int bw, const Run& run, const Real* grid, Real* q) {
    double s = 0;
    for (int m = 0; m < run.n; ++m) {
        const Real* c = coef + static_cast<std::size_t>(run.i0 + m) * kStencil;
        const Real* p = grid + run.g0 + m - 2 * bw - 2;
        Real acc = 0;
        for (int dy = 0; dy < 5; ++dy, p += bw, c += 5)
            acc += c[0] * p[0] + c[1] * p[1] + c[2] * p[2] + c[3] * p[3] + c[4] * p[4];
        q[run.i0 + m] = acc;
        s += grid[run.g0 + m] * acc;
    }
    return s;
}

// The runs of one thread: the global runs clipped to its share [lo, hi) of the unknowns.
std::vector<Run> runs_between(const std::vector<Run>& runs, int lo, int hi) {
    std::vector<Run> out;
    for (const Run& r : runs) {
        const int a = std::max(lo, r.i0), e = std::min(hi, r.i0 + r.n);
        if (a < e) out.push_back({a, r.g0 + (a - r.i0), e - a});
    }
    return out;
}

}  // namespace

SolveAlphaInfo solve_alpha_cpu(ImageView<const float> image, ImageView<const unsigned char> trimap,
                               ImageView<const float> prior, ImageView<const float> start,
                               const SolveAlphaParams& params, ImageView<float> out) {
    check_shapes(image, trimap, prior, out);
    if (start.data)
        ALPHACUT_CHECK(start.height == image.height && start.width == image.width && start.channels == 1,
                       "start has shape (" << start.height << ", " << start.width << ", " << start.channels
                                           << "), expected (" << image.height << ", " << image.width << ")");
    ALPHACUT_CHECK(std::isfinite(params.eps) && params.eps > 0.f, "eps must be positive, got " << params.eps);
    ALPHACUT_CHECK(std::isfinite(params.prior_weight) && params.prior_weight >= 0.f,
                   "prior_weight must be non-negative, got " << params.prior_weight);
    ALPHACUT_CHECK(params.max_iter >= 0, "max_iter must be non-negative, got " << params.max_iter);
    ALPHACUT_CHECK(std::isfinite(params.tol) && params.tol >= 0.f, "tol must be non-negative, got " << params.tol);

    const int H = image.height, W = image.width;
    // Sure pixels exactly; the unknown ones are overwritten below.
    parallel_for(0, H, [&](int lo, int hi) {
        for (int y = lo; y < hi; ++y) {
            const unsigned char* t = trimap.row(y);
            float* o = out.row(y);
            for (int x = 0; x < W; ++x) o[x] = t[x] == 255 ? 1.f : 0.f;
        }
    });

    SolveAlphaInfo info;
    Band b;
    if (!build_band(image, trimap, params.eps, b)) return info;
    const int nu = b.nu;
    const std::size_t snu = static_cast<std::size_t>(nu);
    info.unknown = nu;
    info.windows = b.nw;

    std::vector<Real> prior_u(snu, Real(0.5)), x(snu), r(snu), z(snu), q(snu), inv_diag(snu), rhs(snu);
    std::vector<Real> lambda(snu, Real(0));
    if (prior.data)
        for (int i = 0; i < nu; ++i) {
            const float p = solve_alpha_output(prior.at(b.py[i], b.px[i]));
            prior_u[i] = p;
            lambda[i] = prior_data_weight(p, params.prior_weight, params.prior_confidence);
            b.coef[i * kStencil + 12] += lambda[i];
        }
    // Warm start: the caller's start, else the prior, else 0.5.
    std::vector<Real> x0(prior_u);
    if (start.data)
        for (int i = 0; i < nu; ++i) x0[i] = solve_alpha_output(start.at(b.py[i], b.px[i]));
    // The grid holds the vector the stencil reads: first the sure values (for the right-hand side),
    // then the search direction (zero on the sure pixels).
    // Written row by row in parallel (the grid spans the band's bounding box: most of the image).
    std::unique_ptr<Real[]> grid(new Real[static_cast<std::size_t>(b.bh) * b.bw]);
    parallel_for(0, b.bh, [&](int lo, int hi) {
        for (int gy = lo; gy < hi; ++gy) {
            Real* row = grid.get() + static_cast<std::size_t>(gy) * b.bw;
            const int y = b.y0 + gy;
            if (y < 0 || y >= H) {
                std::fill(row, row + b.bw, Real(0));
                continue;
            }
            const unsigned char* t = trimap.row(y);
            for (int gx = 0; gx < b.bw; ++gx) {
                const int x = b.x0 + gx;
                row[gx] = x >= 0 && x < W && t[x] == 255 ? Real(1) : Real(0);
            }
        }
    }, 16);

    // The team waits at barriers, so it is sized once it runs (parallel_team: fewer threads than
    // asked for when some cannot be created) and every member has its own thread.
    int threads = 1;
    std::vector<std::vector<Run>> team_runs;
    std::unique_ptr<TeamBarrier> barrier_owner;
    std::vector<double> partial;  // padded slots
    auto prepare = [&](int team) {
        threads = team;
        team_runs.resize(threads);
        for (int t = 0; t < threads; ++t) {
            const Range ur = split(nu, t, threads);
            team_runs[t] = runs_between(b.runs, ur.lo, ur.hi);
        }
        barrier_owner = std::make_unique<TeamBarrier>(threads);
        partial.assign(static_cast<std::size_t>(threads) * 4 * 8, 0.0);
    };
    auto slot = [&](int t, int which) -> double& { return partial[(static_cast<std::size_t>(t) * 4 + which) * 8]; };
    auto reduce = [&](int which) {
        double s = 0;
        for (int t = 0; t < threads; ++t) s += slot(t, which);
        return s;
    };
    int iterations = 0;
    double final_residual = 0.0;
    std::atomic<bool> finite{true};
    const Real* coef = b.coef.data();
    Real* g = grid.get();

    parallel_team(std::max(1, std::min(get_num_threads(), nu / 4096)), prepare, [&](int t, int) {
        TeamBarrier& barrier = *barrier_owner;
        const Range ur = split(nu, t, threads);
        const std::vector<Run>& my = team_runs[t];
        // b = lambda * prior - L_UK alpha_K; the grid holds alpha_K and 0 on U.
        double bb = 0;
        for (const Run& run : my) stencil_run(coef, b.bw, run, g, q.data());
        for (int i = ur.lo; i < ur.hi; ++i) {
            rhs[i] = lambda[i] * prior_u[i] - q[i];
            inv_diag[i] = Real(1) / std::max(coef[i * kStencil + 12], Real(1e-12));
            bb += static_cast<double>(rhs[i]) * rhs[i];
        }
        slot(t, 0) = bb;
        barrier.wait();  // everyone has read the sure values
        const double bnorm = std::sqrt(reduce(0));
        for (int i = ur.lo; i < ur.hi; ++i) x[i] = x0[i];
        for (int y = split(b.bh, t, threads).lo; y < split(b.bh, t, threads).hi; ++y)
            std::fill(g + static_cast<std::size_t>(y) * b.bw, g + static_cast<std::size_t>(y + 1) * b.bw, Real(0));
        barrier.wait();
        for (int i = ur.lo; i < ur.hi; ++i) g[b.gpos[i]] = x[i];
        barrier.wait();
        // r = b - A x0, z = D^-1 r, p = z.
        for (const Run& run : my) stencil_run(coef, b.bw, run, g, q.data());
        double rz = 0, rr = 0;
        for (int i = ur.lo; i < ur.hi; ++i) {
            r[i] = rhs[i] - q[i];
            z[i] = r[i] * inv_diag[i];
            rz += static_cast<double>(r[i]) * z[i];
            rr += static_cast<double>(r[i]) * r[i];
        }
        slot(t, 1) = rz;
        slot(t, 2) = rr;
        barrier.wait();  // all reads of x0 in the grid are done
        for (int i = ur.lo; i < ur.hi; ++i) g[b.gpos[i]] = z[i];
        double rz_old = reduce(1);
        double res = bnorm > 0 ? std::sqrt(reduce(2)) / bnorm : 0.0;
        int it = 0;
        barrier.wait();
        while (it < params.max_iter && res > params.tol && bnorm > 0 && rz_old > 0) {
            double pq = 0;
            for (const Run& run : my) pq += stencil_run(coef, b.bw, run, g, q.data());
            slot(t, 3) = pq;
            barrier.wait();
            const double denom = reduce(3);
            if (!(denom > 0) || !std::isfinite(denom)) {
                if (t == 0) finite = std::isfinite(denom);
                break;
            }
            const Real step = static_cast<Real>(rz_old / denom);
            double rzn = 0, rrn = 0;
            for (int i = ur.lo; i < ur.hi; ++i) {
                x[i] += step * g[b.gpos[i]];
                r[i] -= step * q[i];
                z[i] = r[i] * inv_diag[i];
                rzn += static_cast<double>(r[i]) * z[i];
                rrn += static_cast<double>(r[i]) * r[i];
            }
            slot(t, 1) = rzn;
            slot(t, 2) = rrn;
            barrier.wait();  // all stencil reads of p are done, the sums are in
            const double rz_new = reduce(1);
            res = std::sqrt(reduce(2)) / bnorm;
            const Real beta = static_cast<Real>(rz_new / rz_old);
            rz_old = rz_new;
            ++it;
            for (const Run& run : my) {
                Real* p = g + run.g0;
                const Real* zz = z.data() + run.i0;
                for (int m = 0; m < run.n; ++m) p[m] = zz[m] + beta * p[m];
            }
            barrier.wait();  // p complete before the next product reads it
        }
        if (t == 0) {
            iterations = it;
            final_residual = res;
        }
        for (int i = ur.lo; i < ur.hi; ++i) out.at(b.py[i], b.px[i]) = solve_alpha_output(static_cast<float>(x[i]));
    });
    ALPHACUT_ASSERT(finite.load(), "conjugate gradients produced a non-finite step");
    info.iterations = iterations;
    info.residual = final_residual;
    return info;
}

}  // namespace alphacut
