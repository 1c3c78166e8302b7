// Fused gather-GEMM-scatter for sparse convolutions on CPU (see mm_ssl/ops/sparse_conv.py).
//
// A rulebook lists pairs (input row, output row, kernel offset k); for one offset the map between
// input and output rows is one-to-one. The forward is out[o] += x[i] @ M[k] over all pairs; the
// input gradient is the same with the rows swapped and M[k] transposed. Pairs are sorted by
// (tile of scatter rows, k), so each thread owns whole tiles: no two threads write one row, and
// every row is summed in the same order (ascending k) whatever the thread count or tiling. Up to
// six pairs of one offset share each load of M[k] (a 6 x 16 register block of accumulators, as in
// GEMM micro-kernels). The weight gradient sum_p x[i_p]^T g[o_p] is split by offset, each summed
// by one thread in rulebook order, 64 gathered pairs at a time.
#include <torch/extension.h>

#include <algorithm>
#include <vector>

namespace {

constexpr int kRows = 6;  // accumulator rows: 6 x 2 vectors + 2 for M + 1 broadcast <= 16

template <typename S>
struct Vec {
  // two of these (32 bytes each) make a column block: 16 floats or 8 doubles
  typedef S type __attribute__((vector_size(32), aligned(sizeof(S))));
  static constexpr int kLanes = 32 / sizeof(S);
};

// acc_r[c0 : c0 + 2L] += sum_t u(r, t) * m(t)[0 : 2L] for the R rows y[r] (already offset by c0).
template <typename S, int R, typename U, typename Mrow>
inline void block(S* const* y, int64_t n, const U& u, const Mrow& m) {
  using V = typename Vec<S>::type;
  constexpr int L = Vec<S>::kLanes;
  V acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = *reinterpret_cast<const V*>(y[r]);
    acc[r][1] = *reinterpret_cast<const V*>(y[r] + L);
  }
  for (int64_t t = 0; t < n; ++t) {
    const S* mt = m(t);
    const V m0 = *reinterpret_cast<const V*>(mt), m1 = *reinterpret_cast<const V*>(mt + L);
    for (int r = 0; r < R; ++r) {
      const S ur = u(r, t);
      acc[r][0] += ur * m0;
      acc[r][1] += ur * m1;
    }
  }
  for (int r = 0; r < R; ++r) {
    *reinterpret_cast<V*>(y[r]) = acc[r][0];
    *reinterpret_cast<V*>(y[r] + L) = acc[r][1];
  }
}

// The same for all B columns of rows y[0..rows): column blocks of 2L, then a scalar tail.
template <typename S, typename U, typename Mrow>
inline void rows_update(S* const* y, int rows, int64_t n, int64_t B, const U& u, const Mrow& m) {
  constexpr int W = 2 * Vec<S>::kLanes;
  int64_t c = 0;
  for (; c + W <= B; c += W) {
    S* yc[kRows];
    for (int r = 0; r < rows; ++r) yc[r] = y[r] + c;
    auto mc = [&](int64_t t) { return m(t) + c; };
    switch (rows) {
      case 1: block<S, 1>(yc, n, u, mc); break;
      case 2: block<S, 2>(yc, n, u, mc); break;
      case 3: block<S, 3>(yc, n, u, mc); break;
      case 4: block<S, 4>(yc, n, u, mc); break;
      case 5: block<S, 5>(yc, n, u, mc); break;
      default: block<S, 6>(yc, n, u, mc);
    }
  }
  for (; c < B; ++c)
    for (int r = 0; r < rows; ++r) {
      S acc = y[r][c];
      for (int64_t t = 0; t < n; ++t) acc += u(r, t) * m(t)[c];
      y[r][c] = acc;
    }
}

template <typename S>
void gather_mm_scatter_kernel(S* out, const S* x, const S* M, int64_t A, int64_t B,
                              const int32_t* scatter_rows, const int32_t* gather_rows,
                              const int32_t* offsets, const int64_t* tile_start,
                              int64_t num_tiles) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(at::get_num_threads())
  for (int64_t tile = 0; tile < num_tiles; ++tile) {
    for (int64_t p = tile_start[tile], end = tile_start[tile + 1]; p < end;) {
      int rows = 1;
      while (rows < kRows && p + rows < end && offsets[p + rows] == offsets[p]) ++rows;
      const S* xs[kRows];
      S* ys[kRows];
      for (int r = 0; r < rows; ++r) {
        xs[r] = x + gather_rows[p + r] * A;
        ys[r] = out + scatter_rows[p + r] * B;
      }
      const S* m = M + offsets[p] * A * B;
      rows_update(ys, rows, A, B, [&](int r, int64_t a) { return xs[r][a]; },
                  [&](int64_t a) { return m + a * B; });
      p += rows;
    }
  }
}

template <typename S>
void weight_grad_kernel(S* dM, const S* x, const S* g, int64_t A, int64_t B,
                        const int32_t* scatter_rows, const int32_t* gather_rows,
                        const int64_t* offset_start, const int32_t* active, int64_t n_active) {
  constexpr int64_t kChunk = 64;  // pairs gathered at once: x^T (A x 64) and g (64 x B) in L1
#pragma omp parallel num_threads(at::get_num_threads())
  {
    std::vector<S> xt(A * kChunk), gc(kChunk * B);
#pragma omp for schedule(dynamic, 1)
    for (int64_t j = 0; j < n_active; ++j) {
      S* d = dM + active[j] * A * B;
      for (int64_t p0 = offset_start[j]; p0 < offset_start[j + 1]; p0 += kChunk) {
        const int64_t n = std::min(kChunk, offset_start[j + 1] - p0);
        for (int64_t t = 0; t < n; ++t) {
          const S* xr = x + gather_rows[p0 + t] * A;
          for (int64_t a = 0; a < A; ++a) xt[a * kChunk + t] = xr[a];
          std::copy_n(g + scatter_rows[p0 + t] * B, B, gc.data() + t * B);
        }
        for (int64_t a0 = 0; a0 < A; a0 += kRows) {
          const int rows = static_cast<int>(std::min<int64_t>(kRows, A - a0));
          S* ys[kRows];
          for (int r = 0; r < rows; ++r) ys[r] = d + (a0 + r) * B;
          const S* xa = xt.data() + a0 * kChunk;
          rows_update(ys, rows, n, B, [&](int r, int64_t t) { return xa[r * kChunk + t]; },
                      [&](int64_t t) { return gc.data() + t * B; });
        }
      }
    }
  }
}

void check_rows(const torch::Tensor& t, const torch::Tensor& like, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.dim() == 2 && t.is_contiguous(), name,
              " must be a contiguous 2-D CPU tensor");
  TORCH_CHECK(t.scalar_type() == like.scalar_type(), name, " must have the dtype of the others");
}

void check_index(const torch::Tensor& t, const char* name,
                 torch::ScalarType dtype = torch::kInt32) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == dtype && t.is_contiguous(), name,
              " must be a contiguous ", dtype, " CPU tensor");
}

// Each pair's row in the tensor it writes (scatter) and in the one it reads (gather).
void check_pairs(const torch::Tensor& scatter_rows, const torch::Tensor& gather_rows) {
  check_index(scatter_rows, "scatter_rows");
  check_index(gather_rows, "gather_rows");
  TORCH_CHECK(scatter_rows.numel() == gather_rows.numel(),
              "scatter_rows and gather_rows must list the same pairs");
}

}  // namespace

// Sorts pairs by (scatter_row / tile, k), stably, by counting. Returns the scatter rows, gather
// rows and offsets in that order, and the first pair of each tile.
std::vector<torch::Tensor> plan(torch::Tensor scatter_rows, torch::Tensor gather_rows,
                                torch::Tensor offsets, int64_t num_rows, int64_t num_offsets,
                                int64_t tile) {
  check_pairs(scatter_rows, gather_rows);
  check_index(offsets, "offsets");
  const int64_t n = scatter_rows.numel(), num_tiles = (num_rows + tile - 1) / tile;
  const int32_t *sr = scatter_rows.data_ptr<int32_t>(), *gr = gather_rows.data_ptr<int32_t>(),
                *ko = offsets.data_ptr<int32_t>();
  std::vector<int64_t> start(num_tiles * num_offsets + 1, 0);
  for (int64_t p = 0; p < n; ++p) ++start[(sr[p] / tile) * num_offsets + ko[p] + 1];
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  auto sorted_sr = torch::empty({n}, scatter_rows.options()),
       sorted_gr = torch::empty({n}, scatter_rows.options()),
       sorted_k = torch::empty({n}, scatter_rows.options());
  int32_t *osr = sorted_sr.data_ptr<int32_t>(), *ogr = sorted_gr.data_ptr<int32_t>(),
          *ok = sorted_k.data_ptr<int32_t>();
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t p = 0; p < n; ++p) {
    const int64_t q = fill[(sr[p] / tile) * num_offsets + ko[p]]++;
    osr[q] = sr[p];
    ogr[q] = gr[p];
    ok[q] = ko[p];
  }
  auto tile_start = torch::empty({num_tiles + 1}, torch::dtype(torch::kInt64));
  int64_t* ts = tile_start.data_ptr<int64_t>();
  for (int64_t t = 0; t <= num_tiles; ++t) ts[t] = start[t * num_offsets];
  return {sorted_sr, sorted_gr, sorted_k, tile_start};
}

// out[scatter_rows[p]] += x[gather_rows[p]] @ M[offsets[p]] for every pair p, in place, with the
// pairs in plan() order. x: (N_in, A); M: (K, A, B); out: (N_out, B).
void gather_mm_scatter(torch::Tensor out, torch::Tensor x, torch::Tensor M,
                       torch::Tensor scatter_rows, torch::Tensor gather_rows,
                       torch::Tensor offsets, torch::Tensor tile_start) {
  check_rows(out, x, "out");
  check_rows(x, x, "x");
  check_pairs(scatter_rows, gather_rows);
  check_index(offsets, "offsets");
  check_index(tile_start, "tile_start", torch::kInt64);
  const int64_t A = x.size(1), B = out.size(1);
  TORCH_CHECK(M.dim() == 3 && M.is_contiguous() && M.scalar_type() == x.scalar_type() &&
                  M.size(1) == A && M.size(2) == B,
              "M must be a contiguous (K, ", A, ", ", B, ") tensor of x's dtype");
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_mm_scatter", [&] {
    gather_mm_scatter_kernel(out.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(),
                             M.data_ptr<scalar_t>(), A, B, scatter_rows.data_ptr<int32_t>(),
                             gather_rows.data_ptr<int32_t>(), offsets.data_ptr<int32_t>(),
                             tile_start.data_ptr<int64_t>(), tile_start.numel() - 1);
  });
}

// dM[k] = sum over the pairs of offset k of x[gather_rows[p]]^T g[scatter_rows[p]], (K, A, B).
// Pairs grouped by offset: those of active[j] are offset_start[j] .. offset_start[j + 1].
torch::Tensor weight_grad(torch::Tensor x, torch::Tensor g, torch::Tensor scatter_rows,
                          torch::Tensor gather_rows, torch::Tensor offset_start,
                          torch::Tensor active, int64_t num_offsets) {
  check_rows(x, x, "x");
  check_rows(g, x, "g");
  check_pairs(scatter_rows, gather_rows);
  check_index(active, "active");
  check_index(offset_start, "offset_start", torch::kInt64);
  const int64_t A = x.size(1), B = g.size(1);
  auto dM = torch::zeros({num_offsets, A, B}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "weight_grad", [&] {
    weight_grad_kernel(dM.data_ptr<scalar_t>(), x.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                       A, B, scatter_rows.data_ptr<int32_t>(), gather_rows.data_ptr<int32_t>(),
                       offset_start.data_ptr<int64_t>(), active.data_ptr<int32_t>(),
                       active.numel());
  });
  return dM;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("plan", &plan, "sort rulebook pairs by (scatter tile, offset)");
  m.def("gather_mm_scatter", &gather_mm_scatter, "out[s] += x[g] @ M[k] over pairs, in place");
  m.def("weight_grad", &weight_grad, "per-offset x^T g over the rulebook's pairs");
}
