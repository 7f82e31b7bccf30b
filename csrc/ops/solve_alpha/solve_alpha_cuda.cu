// solve_alpha kernels: Jacobi-preconditioned conjugate gradients on the unknown band of a
// trimap, with the closed-form matting Laplacian of solve_alpha_pixel.hpp (the same functions
// as solve_alpha_cpu.cpp, in double like the CPU solver: with eps ~ 1e-6 the window covariance
// determinants are ~1e-20 and a float L can turn indefinite and stall CG).
//
// Set-up (once per call):
//   1. init_kernel:      a thread per pixel writes the sure output (0 / 1), an unknown mask and
//                        the stencil grid holding alpha_K (1 on sure foreground, 0 elsewhere);
//                        the grid is the image padded by 2 on every side, so a 5x5 stencil
//                        never needs a bounds test (out-of-image cells hold 0, coefficient 0).
//   2. compaction:       count_chunks (a thread per 32 pixels) -> scan_chunks (one block,
//                        exclusive scan) -> write_chunks: the unknown pixels in row-major order,
//                        the order of the CPU solver. The scan is deterministic (no atomics), so
//                        the band layout, and with it every reduction order below, is the same
//                        from run to run. Only the band size nu is read back (to size buffers).
//   3. windows:          window_mask_kernel (gather: a pixel is a window centre when it is
//                        interior and an unknown pixel lies in its 3x3, no write races), the
//                        same compaction, window_stats_kernel: mu_k and A_k (matting_window,
//                        double) once per window touching the band, stored plane by plane.
//   4. stencil_kernel:   a thread per unknown pixel sums, over the <= 9 windows holding it, its
//                        row of L as a 5x5 stencil (matting_whiten / matting_stencil_term, same
//                        order as the CPU), adds lambda_i (prior_data_weight) to the centre and
//                        writes the 25 coefficients plane by plane (coalesced in the iterations),
//                        1 / diag, lambda_i prior_i and the start x0.
//   5. rhs_kernel:       b = lambda prior - L_UK alpha_K from the grid of sure values, ||b||;
//      then the grid is cleared and holds the search direction p (0 off the band);
//      residual_kernel:  r = b - A x0, r.z, ||r|| and the stopping test; first direction p = z.
//
// The mat-vec is the gather form: a thread per unknown pixel reads its 25 coefficients and the
// 5x5 neighbourhood of p. The scatter form (a thread per window adding its 9x9 block with
// atomics) would read the window constants instead of the stencil but adds doubles in an order
// that changes from run to run; gather is deterministic and needs no atomics.
//
// One CG iteration is three launches:
//   K1 matvec_kernel:    q = (L_UU + Lambda) p, p.q; alpha = r.z / p.q
//   K2 update_kernel:    x += alpha p, r -= alpha q, z = r / diag, r.z and r.r; beta, the
//                        residual ||r|| / ||b||, the iteration count and the stopping test
//   K3 direction_kernel: p = z + beta p (z recomputed from r, not stored)
// Dot products: each block reduces its threads' sums in shared memory (a 256 -> 32 -> 1 tree,
// two barriers, fixed order) into a per-block partial; thread 0 of the last block to finish (a
// ticket taken with atomicInc after __threadfence) adds the partials in block order and computes
// the CG scalars. So the sums are deterministic (bit-identical from run to run, however the
// blocks are scheduled) and no second launch is needed. The scalars (alpha,
// beta, r.z, ||b||, the residual, the iteration count and an `active` flag) live in device
// memory: the host launches batches of kCheckEvery = 8 iterations without waiting and reads the
// state back once per batch. Once the stopping rule holds (||r|| <= tol ||b||, max_iter, or a
// breakdown p.q <= 0) the last block clears `active` and the remaining launches of the batch
// return at once, so the reported iterations and residual are exactly those of the CPU rule.
//
// Bytes moved per CG iteration, per unknown pixel (double vectors, int index):
//   K1: 25 coefficients 200 + index 4 + p 8 (its 5x5 neighbours come from cache) + q 8 = 220
//   K2: index 4 + p 8 + x 16 (r+w) + r 16 (r+w) + q 8 + 1/diag 8                      =  60
//   K3: index 4 + r 8 + 1/diag 8 + p 16 (r+w)                                           =  36
//   total ~316 B per unknown pixel per iteration.
// A 1 MP working image with a 10 % band (100k unknowns): 31.6 MB per iteration, H100 floor
// (~3 TB/s HBM3) ~10.5 us per iteration; three launches per iteration and one host round trip
// per 8 iterations, so at this size the solver is launch-bound rather than bandwidth-bound
// (the 20 MB of coefficients also fit in H100's 50 MB L2). Halving the coefficient traffic by
// symmetry (L_ij = L_ji) or fusing K3 into the next K1 are the next steps if it ever matters.
// Set-up moves ~(1 + 8 + 1 + 4 + 4) B per image pixel (trimap, grid, masks, window index) plus
// ~(12 * 9 reads + 72) B per window and ~(300 + 12 * 25) B per unknown pixel, once.
#include "solve_alpha_cuda.hpp"

#include <algorithm>

#include "solve_alpha_pixel.hpp"

namespace alphacut::ALPHACUT_GPU_NS {

namespace {

constexpr int kBlock = 256;          // threads per block of the band kernels
constexpr int kItems = 4;            // unknown pixels per thread (kBlock apart: coalesced)
constexpr int kTile = kBlock * kItems;
constexpr int kLanes = 32;           // first stage of the block reduction
constexpr int kStencil = 25;         // 5x5: the reach of two overlapping 3x3 windows
constexpr int kCentre = 12;
constexpr int kPad = 2;              // grid border
constexpr int kChunk = 32;           // pixels per thread when counting for the compaction
constexpr int kCheckEvery = 8;       // CG iterations between host reads of the state
constexpr int kWindowPlanes = 9;     // mean[3], inv[6]

// The CG scalars, on the device.
struct CgState {
    double bnorm;
    double rz;        // r.z of the current iterate
    double alpha;
    double beta;
    double residual;  // ||r|| / ||b||
    int iterations;
    int active;       // 1 while the stopping rule does not hold
    int nonfinite;    // p.q was not finite
    unsigned int ticket;  // blocks done in the running launch (atomicInc wraps it back to 0)
};

// ---- reductions ---------------------------------------------------------------------------------

ALPHACUT_DEVICE bool finite_d(double v) { return v - v == 0.0; }

// Deterministic sum over the kBlock threads of a block of N values each (fixed tree order);
// the result is valid in thread 0. sh: N * kBlock, lanes: N * kLanes doubles of shared memory
// (ALPHACUT_SHARED arrays).
template <int N, typename Sh, typename Ln>
ALPHACUT_DEVICE void block_sum(double (&v)[N], Sh sh, Ln lanes) {
    const int t = threadIdx.x;
    for (int k = 0; k < N; ++k) sh[k * kBlock + t] = v[k];
    __syncthreads();
    if (t < kLanes)
        for (int k = 0; k < N; ++k) {
            double s = 0.0;
            for (int j = t; j < kBlock; j += kLanes) s += sh[k * kBlock + j];
            lanes[k * kLanes + t] = s;
        }
    __syncthreads();
    if (t == 0)
        for (int k = 0; k < N; ++k) {
            double s = 0.0;
            for (int j = 0; j < kLanes; ++j) s += lanes[k * kLanes + j];
            v[k] = s;
        }
}

// Sum over the whole grid: block sums into partials[k * gridDim.x + block]; thread 0 of the last
// block to arrive adds them in block order (four interleaved accumulators, a fixed order). Returns
// true in that one thread, with the totals in v. Every thread of every block must call it.
// Only thread 0 takes part after the block sum, so no barrier is spent on telling the block
// that it is last: the serial pass reads one double per block (~100 for a 100k-pixel band).
template <int N, typename Sh, typename Ln>
ALPHACUT_DEVICE bool grid_sum(double (&v)[N], double* partials, unsigned int* ticket, Sh sh, Ln lanes) {
    block_sum<N>(v, sh, lanes);
    if (threadIdx.x != 0) return false;
    for (int k = 0; k < N; ++k) partials[k * gridDim.x + blockIdx.x] = v[k];
    __threadfence();  // the partials are visible before the ticket is taken
    if (atomicInc(ticket, gridDim.x - 1) != gridDim.x - 1) return false;
    __threadfence();  // and read after it
    const volatile double* vp = partials;
    for (int k = 0; k < N; ++k) {
        double s[4] = {0.0, 0.0, 0.0, 0.0};
        for (unsigned int b = 0; b < gridDim.x; ++b) s[b & 3] += vp[k * gridDim.x + b];
        v[k] = (s[0] + s[1]) + (s[2] + s[3]);
    }
    return true;
}

// ---- set-up -------------------------------------------------------------------------------------

__global__ void init_kernel(ImageView<const unsigned char> trimap, ImageView<float> out, unsigned char* unknown,
                            double* grid, int gw) {
    const int x = pixel_col(trimap.width);
    const int y = pixel_row(trimap.height);
    if (x >= trimap.width || y >= trimap.height) return;
    const unsigned char t = trimap.at(y, x);
    unknown[static_cast<long long>(y) * trimap.width + x] = trimap_is_unknown(t) ? 1 : 0;
    out.at(y, x) = t == 255 ? 1.f : 0.f;
    grid[static_cast<long long>(y + kPad) * gw + x + kPad] = t == 255 ? 1.0 : 0.0;
}

// counts[c] = number of set mask bytes in [c * kChunk, (c + 1) * kChunk).
__global__ void count_chunks(const unsigned char* mask, long long n, int nchunks, int* counts) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= nchunks) return;
    const long long lo = static_cast<long long>(c) * kChunk, hi = lo + kChunk < n ? lo + kChunk : n;
    int s = 0;
    for (long long p = lo; p < hi; ++p) s += mask[p];
    counts[c] = s;
}

// Exclusive scan of counts in place by one block of kBlock threads; *total = the sum.
__global__ void scan_chunks(int* counts, int nchunks, int* total) {
    ALPHACUT_SHARED(long long, sh, [kBlock]);
    const int t = threadIdx.x;
    const int seg = (nchunks + kBlock - 1) / kBlock;
    const int lo = t * seg < nchunks ? t * seg : nchunks, hi = lo + seg < nchunks ? lo + seg : nchunks;
    long long s = 0;
    for (int c = lo; c < hi; ++c) s += counts[c];
    sh[t] = s;
    __syncthreads();
    if (t == 0) {
        long long run = 0;
        for (int j = 0; j < kBlock; ++j) {
            const long long v = sh[j];
            sh[j] = run;
            run += v;
        }
        *total = static_cast<int>(run);
    }
    __syncthreads();
    long long off = sh[t];
    for (int c = lo; c < hi; ++c) {
        const int v = counts[c];
        counts[c] = static_cast<int>(off);
        off += v;
    }
}

// index[offsets[c] + m] = the m-th set position of chunk c: row-major order overall.
__global__ void write_chunks(const unsigned char* mask, long long n, int nchunks, const int* offsets, int* index) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= nchunks) return;
    const long long lo = static_cast<long long>(c) * kChunk, hi = lo + kChunk < n ? lo + kChunk : n;
    int o = offsets[c];
    for (long long p = lo; p < hi; ++p)
        if (mask[p]) index[o++] = static_cast<int>(p);
}

// A window centre is an interior pixel with an unknown pixel in its 3x3 (as the CPU solver).
__global__ void window_mask_kernel(const unsigned char* unknown, int H, int W, unsigned char* wmask) {
    const int x = pixel_col(W);
    const int y = pixel_row(H);
    if (x >= W || y >= H) return;
    unsigned char any = 0;
    if (y >= 1 && y <= H - 2 && x >= 1 && x <= W - 2)
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx) any |= unknown[static_cast<long long>(y + dy) * W + x + dx];
    wmask[static_cast<long long>(y) * W + x] = any;
}

__global__ void window_stats_kernel(ImageView<const float> image, const int* wpix, int nw, float eps, int* win_index,
                                    double* wstat) {
    const int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= nw) return;
    const int W = image.width;
    const int p = wpix[k];
    const int y = p / W, x = p % W;
    float c[3 * kMattingWindowPixels];
    for (int dy = -1, j = 0; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx, ++j) {
            const float* v = &image.at(y + dy, x + dx);
            c[3 * j] = v[0];
            c[3 * j + 1] = v[1];
            c[3 * j + 2] = v[2];
        }
    const MattingWindow<double> w = matting_window<double>(c, eps);
    for (int j = 0; j < 3; ++j) wstat[static_cast<long long>(j) * nw + k] = w.mean[j];
    for (int j = 0; j < 6; ++j) wstat[static_cast<long long>(3 + j) * nw + k] = w.inv[j];
    win_index[p] = k;
}

ALPHACUT_DEVICE MattingWindow<double> load_window(const double* wstat, int nw, int k) {
    MattingWindow<double> w;
    for (int j = 0; j < 3; ++j) w.mean[j] = wstat[static_cast<long long>(j) * nw + k];
    for (int j = 0; j < 6; ++j) w.inv[j] = wstat[static_cast<long long>(3 + j) * nw + k];
    return w;
}

// The band arrays, plane-major where a thread reads several values of its pixel.
struct Band {
    int nu;
    int gw;                 // grid row length (W + 2 * kPad)
    const int* upix;        // image position y * W + x of each unknown
    int* gpos;              // grid cell of each unknown
    double* coef;           // kStencil planes of nu: coef[o * nu + i] = L_{i, i + off(o)} (+ lambda_i at o = 12)
    double* inv_diag;
    double* rhs;
    double* x;
    double* r;
    double* q;
    double* grid;           // (H + 4) x gw: alpha_K for the right-hand side, then p
    double* partials;       // 2 * blocks
    CgState* state;
};

// Stencil rows of L (+ Lambda), 1 / diag, lambda_i prior_i (into rhs) and x0, per unknown pixel.
__global__ void stencil_kernel(ImageView<const float> image, ImageView<const float> prior, ImageView<const float> start,
                               const int* win_index, const double* wstat, int nw, float prior_weight,
                               float prior_confidence, Band b) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= b.nu) return;
    const int H = image.height, W = image.width;
    const int p = b.upix[i];
    const int y = p / W, x = p % W;
    const float* ci = &image.at(y, x);
    double c[kStencil];
    for (int o = 0; o < kStencil; ++o) c[o] = 0.0;
    for (int cy = y - 1; cy <= y + 1; ++cy)
        for (int cx = x - 1; cx <= x + 1; ++cx) {
            if (cy < 1 || cy > H - 2 || cx < 1 || cx > W - 2) continue;
            const MattingWindow<double> w = load_window(wstat, nw, win_index[cy * W + cx]);
            double u[3];
            matting_whiten(w, ci, u);
            for (int jy = cy - 1; jy <= cy + 1; ++jy)
                for (int jx = cx - 1; jx <= cx + 1; ++jx) {
                    const int o = (jy - y + 2) * 5 + (jx - x + 2);
                    c[o] += matting_stencil_term(w, u, &image.at(jy, jx), jy == y && jx == x);
                }
        }
    double prior_u = 0.5, lambda = 0.0;
    if (prior.data) {
        const float pv = solve_alpha_output(prior.at(y, x));
        prior_u = pv;
        lambda = prior_data_weight(pv, prior_weight, prior_confidence);
        c[kCentre] += lambda;
    }
    for (int o = 0; o < kStencil; ++o) b.coef[static_cast<long long>(o) * b.nu + i] = c[o];
    const double d = c[kCentre] > 1e-12 ? c[kCentre] : 1e-12;
    b.inv_diag[i] = 1.0 / d;
    b.rhs[i] = lambda * prior_u;
    b.x[i] = start.data ? static_cast<double>(solve_alpha_output(start.at(y, x))) : prior_u;
    b.gpos[i] = (y + kPad) * b.gw + x + kPad;
}

// (L_UU + Lambda) v at unknown i, v read from the grid.
ALPHACUT_DEVICE double apply_stencil(const Band& b, int i) {
    const double* v = b.grid + b.gpos[i] - 2 * b.gw - 2;
    const double* c = b.coef + i;
    const long long nu = b.nu;
    double acc = 0.0;
    for (int dy = 0; dy < 5; ++dy, v += b.gw, c += 5 * nu)
        acc += c[0] * v[0] + c[nu] * v[1] + c[2 * nu] * v[2] + c[3 * nu] * v[3] + c[4 * nu] * v[4];
    return acc;
}

// b = lambda prior - L_UK alpha_K (the grid holds alpha_K, 0 on the band); ||b||.
__global__ void __launch_bounds__(kBlock) rhs_kernel(Band b) {
    ALPHACUT_SHARED(double, sh, [kBlock]);
    ALPHACUT_SHARED(double, lanes, [kLanes]);
    double v[1] = {0.0};
    for (int k = 0; k < kItems; ++k) {
        const int i = blockIdx.x * kTile + k * kBlock + threadIdx.x;
        if (i >= b.nu) break;
        const double rhs = b.rhs[i] - apply_stencil(b, i);
        b.rhs[i] = rhs;
        v[0] += rhs * rhs;
    }
    if (grid_sum<1>(v, b.partials, &b.state->ticket, sh, lanes)) b.state->bnorm = sqrt(v[0]);
}

__global__ void scatter_x_kernel(Band b) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < b.nu) b.grid[b.gpos[i]] = b.x[i];
}

// r = b - A x0 (the grid holds x0), r.z, ||r||, and whether CG runs at all.
__global__ void __launch_bounds__(kBlock) residual_kernel(Band b, int max_iter, float tol) {
    ALPHACUT_SHARED(double, sh, [2 * kBlock]);
    ALPHACUT_SHARED(double, lanes, [2 * kLanes]);
    double v[2] = {0.0, 0.0};
    for (int k = 0; k < kItems; ++k) {
        const int i = blockIdx.x * kTile + k * kBlock + threadIdx.x;
        if (i >= b.nu) break;
        const double r = b.rhs[i] - apply_stencil(b, i);
        const double z = r * b.inv_diag[i];
        b.r[i] = r;
        v[0] += r * z;
        v[1] += r * r;
    }
    if (grid_sum<2>(v, b.partials, &b.state->ticket, sh, lanes)) {
        CgState* s = b.state;
        const double bnorm = s->bnorm;
        const double res = bnorm > 0 ? sqrt(v[1]) / bnorm : 0.0;
        s->rz = v[0];
        s->residual = res;
        s->iterations = 0;
        s->nonfinite = 0;
        s->active = 0 < max_iter && res > tol && bnorm > 0 && v[0] > 0;
    }
}

// p = z + beta p (beta = 0 for the first direction), z = r / diag.
__global__ void direction_kernel(Band b, int first) {
    if (!first && !b.state->active) return;
    const double beta = first ? 0.0 : b.state->beta;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= b.nu) return;
    double* p = b.grid + b.gpos[i];
    const double z = b.r[i] * b.inv_diag[i];
    *p = first ? z : z + beta * *p;
}

// K1: q = A p, p.q, alpha = r.z / p.q (or stop on a breakdown, as the CPU solver).
__global__ void __launch_bounds__(kBlock) matvec_kernel(Band b) {
    ALPHACUT_SHARED(double, sh, [kBlock]);
    ALPHACUT_SHARED(double, lanes, [kLanes]);
    if (!b.state->active) return;
    double v[1] = {0.0};
    for (int k = 0; k < kItems; ++k) {
        const int i = blockIdx.x * kTile + k * kBlock + threadIdx.x;
        if (i >= b.nu) break;
        const double q = apply_stencil(b, i);
        b.q[i] = q;
        v[0] += b.grid[b.gpos[i]] * q;
    }
    if (grid_sum<1>(v, b.partials, &b.state->ticket, sh, lanes)) {
        CgState* s = b.state;
        const double pq = v[0];
        if (!(pq > 0) || !finite_d(pq)) {
            s->active = 0;
            s->nonfinite = !finite_d(pq);
        } else {
            s->alpha = s->rz / pq;
        }
    }
}

// K2: x += alpha p, r -= alpha q, r.z, r.r; beta, residual, iteration count, stopping rule.
__global__ void __launch_bounds__(kBlock) update_kernel(Band b, int max_iter, float tol) {
    ALPHACUT_SHARED(double, sh, [2 * kBlock]);
    ALPHACUT_SHARED(double, lanes, [2 * kLanes]);
    if (!b.state->active) return;
    const double alpha = b.state->alpha;
    double v[2] = {0.0, 0.0};
    for (int k = 0; k < kItems; ++k) {
        const int i = blockIdx.x * kTile + k * kBlock + threadIdx.x;
        if (i >= b.nu) break;
        b.x[i] += alpha * b.grid[b.gpos[i]];
        const double r = b.r[i] - alpha * b.q[i];
        const double z = r * b.inv_diag[i];
        b.r[i] = r;
        v[0] += r * z;
        v[1] += r * r;
    }
    if (grid_sum<2>(v, b.partials, &b.state->ticket, sh, lanes)) {
        CgState* s = b.state;
        const double rz_new = v[0];
        const double res = sqrt(v[1]) / s->bnorm;
        s->beta = rz_new / s->rz;
        s->rz = rz_new;
        s->residual = res;
        s->iterations += 1;
        s->active = s->iterations < max_iter && res > tol && rz_new > 0;
    }
}

__global__ void output_kernel(Band b, ImageView<float> out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= b.nu) return;
    const int p = b.upix[i];
    out.at(p / out.width, p % out.width) = solve_alpha_output(static_cast<float>(b.x[i]));
}

// Positions of the set bytes of mask (n bytes) in order, into a new buffer; returns the count.
// counts: scratch of (n + kChunk - 1) / kChunk ints.
int compact(const unsigned char* mask, long long n, DeviceBuffer<int>& counts, DeviceBuffer<int>& total,
            DeviceBuffer<int>& index, cudaStream_t stream) {
    const int nchunks = static_cast<int>((n + kChunk - 1) / kChunk);
    ALPHACUT_LAUNCH(count_chunks, dim3(div_up(nchunks, kBlock)), dim3(kBlock), 0, stream, mask, n, nchunks,
                    counts.get());
    ALPHACUT_CHECK_LAUNCH("count_chunks");
    ALPHACUT_LAUNCH(scan_chunks, dim3(1), dim3(kBlock), 0, stream, counts.get(), nchunks, total.get());
    ALPHACUT_CHECK_LAUNCH("scan_chunks");
    int count = 0;
    ALPHACUT_CUDA_CHECK(cudaMemcpyAsync(&count, total.get(), sizeof(int), cudaMemcpyDeviceToHost, stream));
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));
    index = DeviceBuffer<int>(static_cast<std::size_t>(count));
    if (count > 0) {
        ALPHACUT_LAUNCH(write_chunks, dim3(div_up(nchunks, kBlock)), dim3(kBlock), 0, stream, mask, n, nchunks,
                        counts.get(), index.get());
        ALPHACUT_CHECK_LAUNCH("write_chunks");
    }
    return count;
}

void check_shape(const char* name, int h, int w, int c, int H, int W) {
    ALPHACUT_CHECK(h == H && w == W && c == 1,
                   name << " has shape (" << h << ", " << w << ", " << c << "), expected (" << H << ", " << W << ")");
}

}  // namespace

SolveAlphaInfo solve_alpha(ImageView<const float> image, ImageView<const unsigned char> trimap,
                           ImageView<const float> prior, ImageView<const float> start, const SolveAlphaParams& params,
                           ImageView<float> out, cudaStream_t stream) {
    ALPHACUT_CHECK(image.height > 0 && image.width > 0,
                   "image is empty (" << image.height << " x " << image.width << ")");
    ALPHACUT_CHECK(image.channels == 3, "image must have 3 channels, got " << image.channels);
    const int H = image.height, W = image.width;
    check_shape("trimap", trimap.height, trimap.width, trimap.channels, H, W);
    if (prior.data) check_shape("prior", prior.height, prior.width, prior.channels, H, W);
    if (start.data) check_shape("start", start.height, start.width, start.channels, H, W);
    check_shape("out", out.height, out.width, out.channels, H, W);
    ALPHACUT_CHECK(params.eps > 0.f && params.eps - params.eps == 0.f, "eps must be positive, got " << params.eps);
    ALPHACUT_CHECK(params.prior_weight >= 0.f && params.prior_weight - params.prior_weight == 0.f,
                   "prior_weight must be non-negative, got " << params.prior_weight);
    ALPHACUT_CHECK(params.max_iter >= 0, "max_iter must be non-negative, got " << params.max_iter);
    ALPHACUT_CHECK(params.tol >= 0.f && params.tol - params.tol == 0.f, "tol must be non-negative, got " << params.tol);
    ALPHACUT_CHECK(static_cast<long long>(H + 2 * kPad) * (W + 2 * kPad) < (1ll << 31),
                   "image of " << H << " x " << W << " is too large for solve_alpha (2^31 pixels)");

    const long long n = static_cast<long long>(H) * W;
    const int gw = W + 2 * kPad;
    const std::size_t gsize = static_cast<std::size_t>(H + 2 * kPad) * gw;

    // 1. Sure output, unknown mask, grid of the sure values.
    DeviceBuffer<unsigned char> unknown(static_cast<std::size_t>(n));
    DeviceBuffer<double> grid(gsize);
    ALPHACUT_CUDA_CHECK(cudaMemsetAsync(grid.get(), 0, grid.bytes(), stream));
    ALPHACUT_LAUNCH(init_kernel, pixel_grid(H, W), pixel_block(), 0, stream, trimap, out, unknown.get(), grid.get(),
                    gw);
    ALPHACUT_CHECK_LAUNCH("init_kernel");

    // 2. The band, row-major.
    DeviceBuffer<int> counts(static_cast<std::size_t>((n + kChunk - 1) / kChunk)), total(1), upix;
    const int nu = compact(unknown.get(), n, counts, total, upix, stream);
    SolveAlphaInfo info;
    if (nu == 0) {
        ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));
        return info;
    }

    // 3. Windows touching the band.
    DeviceBuffer<unsigned char> wmask(static_cast<std::size_t>(n));
    ALPHACUT_LAUNCH(window_mask_kernel, pixel_grid(H, W), pixel_block(), 0, stream, unknown.get(), H, W, wmask.get());
    ALPHACUT_CHECK_LAUNCH("window_mask_kernel");
    DeviceBuffer<int> wpix;
    const int nw = compact(wmask.get(), n, counts, total, wpix, stream);
    DeviceBuffer<int> win_index(static_cast<std::size_t>(n));
    DeviceBuffer<double> wstat(static_cast<std::size_t>(kWindowPlanes) * nw);
    if (nw > 0) {
        ALPHACUT_LAUNCH(window_stats_kernel, dim3(div_up(nw, kBlock)), dim3(kBlock), 0, stream, image, wpix.get(), nw,
                        params.eps, win_index.get(), wstat.get());
        ALPHACUT_CHECK_LAUNCH("window_stats_kernel");
    }

    // 4. Stencil rows and the CG vectors.
    const std::size_t snu = static_cast<std::size_t>(nu);
    const unsigned int blocks = div_up(nu, kTile);
    DeviceBuffer<int> gpos(snu);
    DeviceBuffer<double> coef(kStencil * snu), inv_diag(snu), rhs(snu), x(snu), r(snu), q(snu), partials(2 * blocks);
    DeviceBuffer<CgState> state(1);
    ALPHACUT_CUDA_CHECK(cudaMemsetAsync(state.get(), 0, sizeof(CgState), stream));
    Band b;
    b.nu = nu;
    b.gw = gw;
    b.upix = upix.get();
    b.gpos = gpos.get();
    b.coef = coef.get();
    b.inv_diag = inv_diag.get();
    b.rhs = rhs.get();
    b.x = x.get();
    b.r = r.get();
    b.q = q.get();
    b.grid = grid.get();
    b.partials = partials.get();
    b.state = state.get();
    const dim3 one(div_up(nu, kBlock)), block(kBlock), tiles(blocks);
    ALPHACUT_LAUNCH(stencil_kernel, one, block, 0, stream, image, prior, start, win_index.get(), wstat.get(), nw,
                    params.prior_weight, params.prior_confidence, b);
    ALPHACUT_CHECK_LAUNCH("stencil_kernel");

    // 5. Right-hand side, initial residual, first direction.
    ALPHACUT_LAUNCH(rhs_kernel, tiles, block, 0, stream, b);
    ALPHACUT_CHECK_LAUNCH("rhs_kernel");
    ALPHACUT_CUDA_CHECK(cudaMemsetAsync(grid.get(), 0, grid.bytes(), stream));
    ALPHACUT_LAUNCH(scatter_x_kernel, one, block, 0, stream, b);
    ALPHACUT_CHECK_LAUNCH("scatter_x_kernel");
    ALPHACUT_LAUNCH(residual_kernel, tiles, block, 0, stream, b, params.max_iter, params.tol);
    ALPHACUT_CHECK_LAUNCH("residual_kernel");
    ALPHACUT_LAUNCH(direction_kernel, one, block, 0, stream, b, 1);
    ALPHACUT_CHECK_LAUNCH("direction_kernel");

    // 6. CG: batches of kCheckEvery iterations between reads of the state.
    CgState hs;
    ALPHACUT_CUDA_CHECK(cudaMemcpyAsync(&hs, state.get(), sizeof(CgState), cudaMemcpyDeviceToHost, stream));
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));
    int launched = 0;
    while (hs.active && launched < params.max_iter) {
        const int batch = std::min(kCheckEvery, params.max_iter - launched);
        for (int it = 0; it < batch; ++it) {
            ALPHACUT_LAUNCH(matvec_kernel, tiles, block, 0, stream, b);
            ALPHACUT_CHECK_LAUNCH("matvec_kernel");
            ALPHACUT_LAUNCH(update_kernel, tiles, block, 0, stream, b, params.max_iter, params.tol);
            ALPHACUT_CHECK_LAUNCH("update_kernel");
            ALPHACUT_LAUNCH(direction_kernel, one, block, 0, stream, b, 0);
            ALPHACUT_CHECK_LAUNCH("direction_kernel");
        }
        launched += batch;
        ALPHACUT_CUDA_CHECK(cudaMemcpyAsync(&hs, state.get(), sizeof(CgState), cudaMemcpyDeviceToHost, stream));
        ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    ALPHACUT_ASSERT(!hs.nonfinite, "conjugate gradients produced a non-finite step");

    ALPHACUT_LAUNCH(output_kernel, one, block, 0, stream, b, out);
    ALPHACUT_CHECK_LAUNCH("output_kernel");
    // The band buffers are freed on return: wait until the kernels are done with them.
    ALPHACUT_CUDA_CHECK(cudaStreamSynchronize(stream));
    info.unknown = nu;
    info.windows = nw;
    info.iterations = hs.iterations;
    info.residual = hs.residual;
    return info;
}

}  // namespace alphacut::ALPHACUT_GPU_NS
